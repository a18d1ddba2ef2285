"""Accessibility of every page in a real browser, for every role: axe-core finds no violation,
the accessibility tree never reads out an icon's ligature name ("check_circle icon"), and
tabbing from the top of a review step reaches the navigation and the first field without
stopping on heading anchors.

The reviews and the decision here are built by this module through the service (the demo seed
is shared and may change); the pages are opened by their addresses, as a bookmark would.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from closure_readiness.core.review import Review
from closure_readiness.demo.seed import shifted
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context, Principal

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = REPO_ROOT / "src" / "closure_readiness"
READY_EXAMPLE = REPO_ROOT / "examples" / "ready-three-agencies-sustained-change.json"
MATERIAL = re.compile(r":material/([a-z0-9_]+):")
FIELD_ROLES = ("textbox", "combobox", "spinbutton", "radio", "checkbox")


def material_icon_names() -> set[str]:
    """Every Material icon the app names anywhere in its source (":material/check_circle:")."""
    return {
        name
        for path in SOURCE.rglob("*.py")
        for name in MATERIAL.findall(path.read_text(encoding="utf-8"))
    }


def ligature_leaks(tree: str, names: set[str]) -> list[str]:
    """Lines of an ARIA snapshot that read an icon's name aloud: an image named "<name> icon",
    or a text that is nothing but an icon name."""
    leaks = []
    for line in tree.splitlines():
        for name in names:
            spoken = re.search(rf'"{name} icon"|:\s*{name}\s*$|^\s*- text: {name}\s*$', line)
            if spoken or ("_" in name and re.search(rf"\b{name}\b", line)):
                leaks.append(line.strip())
                break
    return leaks


# Reviews and a decision built for this module


def _principal(demo: Any, subject: str) -> Principal:
    return staff.identify(Context(demo.db), issuer=demo.provider_url, subject=subject)


def _reference_of(demo: Any, review_id: int) -> str:
    record = reviews.get_review(Context(demo.db), _principal(demo, "caseworker"), review_id)
    return record.case_reference


def _reference() -> str:
    return f"CR-A11Y-{uuid.uuid4().int % 10**6:06d}"


def _ready_review(demo: Any, change: Callable[[dict[str, Any]], None] | None = None) -> int:
    """The ready example, closing in 14 days, as a draft of the demo caseworker."""
    document = json.loads(READY_EXAMPLE.read_text(encoding="utf-8"))
    closure = dt.date.fromisoformat(document["case"]["proposed_closure_on"])
    target = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)
    document = shifted(document, (target - closure).days)
    document["case"]["case_reference"] = _reference()
    if change is not None:
        change(document)
    review = Review.model_validate(document)
    ctx, worker = Context(demo.db), _principal(demo, "caseworker")
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    return review_id


@dataclass(frozen=True)
class Built:
    draft: int
    """A draft with a blocker and a caution open at the cause step."""
    submitted: int
    decision: int


@pytest.fixture(scope="module")
def built(demo: Any) -> Built:
    def gaps(document: dict[str, Any]) -> None:
        closure = dt.date.fromisoformat(document["case"]["proposed_closure_on"])
        document["answers"]["cause"]["causes"].append(
            {"kind": "bail_curfew_tag", "ends_on": (closure + dt.timedelta(days=28)).isoformat()}
        )
        document["answers"]["cause"]["network_status"] = "active"

    draft = _ready_review(demo, gaps)
    submitted = _ready_review(demo)
    ctx, worker = Context(demo.db), _principal(demo, "caseworker")
    record = reviews.get_review(ctx, worker, submitted)
    assert record.report.sign_off_possible
    decision = reviews.sign_off(
        ctx, worker, submitted, seen_hash=record.content_hash, attested=True
    )
    return Built(draft=draft, submitted=submitted, decision=decision)


# Visiting every page


def _every_page(role: str, built: Built) -> list[tuple[str, str]]:
    """(name, address) of every page `role` reaches, in the order a day's work opens them. A
    role's first page is its home page, at the app's own address (the menu links there)."""
    review = f"review?review={built.draft}&step="
    if role == "caseworker":
        return [
            ("my reviews", ""),
            ("start a review", "start_review"),
            ("task list", f"{review}tasks"),
            ("case details", f"{review}case"),
            ("theme step with findings", f"{review}cause"),
            ("evidence register", f"{review}evidence"),
            ("incidents", f"{review}incidents"),
            ("check and sign off", f"{review}sign_off"),
        ]
    if role == "manager":
        return [
            ("waiting for me", ""),
            ("team reviews", "team_reviews"),
            ("decision", f"decision?decision={built.decision}"),
            ("review, read-only", f"review?review={built.submitted}&step=tasks"),
            ("review step, read-only", f"review?review={built.submitted}&step=cause"),
        ]
    if role == "auditor":
        return [
            ("decisions", ""),
            ("a decision", f"decision?decision={built.decision}"),
            ("learning", "learning"),
            ("check reference", "reference"),
        ]
    return [("sign-in", "")]


def _drawn(page: Any, settle: Callable[[Any], None]) -> None:
    """Streamlit has run the script and drawn every widget (a widget's code loads on first use:
    until then it is a placeholder)."""
    settle(page)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=30_000)


def _open_every_expander(page: Any, settle: Callable[[Any], None]) -> None:
    """Open the collapsed sections, so what they hold is checked too."""
    closed = page.locator("[data-testid='stExpander'] details:not([open]) > summary")
    for _ in range(closed.count()):
        closed.first.click()
    settle(page)


@pytest.mark.parametrize("role", ["signed out", "caseworker", "manager", "auditor"])
def test_every_page_passes_axe_and_reads_no_icon_names(
    page: Any,
    demo: Any,
    built: Built,
    sign_in: Any,
    settle: Any,
    axe_check: Any,
    role: str,
) -> None:
    names = material_icon_names()
    assert {"check_circle", "arrow_forward"} <= names
    if role != "signed out":
        sign_in(page, role)
    violations: dict[str, list[Any]] = {}
    leaks: dict[str, list[str]] = {}
    for name, address in _every_page(role, built):
        page.goto(f"{demo.url}/{address}")
        _drawn(page, settle)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        expect(page.get_by_role("dialog")).to_have_count(0)  # no "Page not found"
        assert not page.get_by_test_id("stException").count(), name
        if name in ("check reference", "decision", "a decision", "check and sign off"):
            _open_every_expander(page, settle)
        found = axe_check(page, f"{role}: {name}")
        if found:
            violations[name] = [(v["id"], v["impact"], v["targets"][:3]) for v in found]
        said = ligature_leaks(page.locator("body").aria_snapshot(), names)
        if said:
            leaks[name] = said[:5]

    assert violations == {}
    assert leaks == {}


# Keyboard


def _focused(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => {
                const e = document.activeElement;
                return {
                    tag: e.tagName,
                    role: e.getAttribute('role') || '',
                    type: e.getAttribute('type') || '',
                    label: (e.getAttribute('aria-label') || e.innerText || '').trim().slice(0, 60),
                    href: e.getAttribute('href') || '',
                    heading: !!e.closest('h1, h2, h3, h4, h5, h6'),
                    sidebar: !!e.closest('[data-testid="stSidebar"]'),
                    field: e.matches('input, textarea, select, [role="combobox"]'),
                };
            }"""
        )
    )


def _tab_stops(page: Any, limit: int = 40) -> Iterator[dict[str, Any]]:
    """Focus stops from the top of the page, one Tab at a time, up to the first field."""
    page.locator("body").focus()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = _focused(page)
        yield stop
        if stop["field"]:
            return
    raise AssertionError(f"no field within {limit} tab stops")


def test_tabbing_from_the_top_of_a_step_reaches_the_first_field_without_heading_anchors(
    page: Any, demo: Any, built: Built, sign_in: Any, settle: Any
) -> None:
    sign_in(page, "caseworker")
    page.goto(f"{demo.url}/review?review={built.draft}&step=cause")
    _drawn(page, settle)
    expect(page.get_by_role("combobox", name="Step")).to_be_enabled(timeout=20_000)
    expect(page.get_by_role("button", name="Sign out")).to_be_enabled(timeout=20_000)

    stops = list(_tab_stops(page))

    anchors = [s for s in stops if s["heading"] or s["label"] == "Link to heading"]
    assert anchors == [], anchors
    # Streamlit's skip link, the pages and Sign out in the sidebar, its main menu and the main
    # area itself (scrollable, so focusable), then the step's first field.
    assert stops[0]["href"] == "#stMain"
    navigation = [s["label"].split("\n")[-1] for s in stops if s["sidebar"]]
    assert navigation == ["My reviews", "Start a review", "Check reference", "Sign out"]
    others = [s for s in stops[1:-1] if not s["sidebar"]]
    assert [(s["tag"], s["label"].split("\n")[0]) for s in others] == [
        ("BUTTON", "Main menu"),
        ("MAIN", "Closure review " + _reference_of(demo, built.draft)),
    ]
    assert (stops[-1]["label"], stops[-1]["field"]) == ("Step", True)


def test_no_heading_in_the_app_adds_an_anchor_link() -> None:
    """Every st.title, st.header and st.subheader passes anchor=False: Streamlit's anchor link
    is a tab stop in front of the page's first field and reads as "Link to heading"."""
    missing = []
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("title", "header", "subheader")
                and not any(k.arg == "anchor" for k in node.keywords)
                and node.args
            ):
                missing.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert missing == []
