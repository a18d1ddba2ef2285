"""Hostile text is inert everywhere (issue 11, items 9, 10 and 12).

Staff display names and team names (set by an administrator), case text, reasons and replies
reach pages that Streamlit renders as Markdown, and the CSV export that auditors open in a
spreadsheet. Every page of every role is walked with hostile names, teams and review text, and
each Markdown body the browser would render is checked: nothing the text holds becomes an image,
a link, HTML, KaTeX, colour, an icon, an emoji or a heading; web addresses stay text. The CSV
export is read back and every cell that began like a formula begins with `'`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_support import (
    DemoDatabase,
    all_text,
    app_test,
    as_seen,
    clear_app_caches,
    open_page,
    open_step,
    ready_document,
    rendered_markdown,
    seeded_database,
)
from closure_readiness.checks.questions import THEMES
from closure_readiness.core.review import EvidenceItem, Review
from closure_readiness.core.vocabulary import Agency, Direction, EvidenceKind
from closure_readiness.demo import seed as demo_seed
from closure_readiness.report.export import COLUMNS, decisions_csv
from closure_readiness.service import auditing, decisions, reviews
from closure_readiness.storage.queries import DecisionQuery
from closure_readiness.views.review.state import OTHER_STEPS
from closure_readiness.views.safe import escape_markdown

BEACON = "http://127.0.0.1:9/beacon"
ATTACKS = (
    f"![b]({BEACON}) $\\frac{{1}}{{2}}$ :red[Rdq] <b>Hb</b> www.evil.example "
    "http://evil.example/y a@evil.example :material/bug_report: :streamlit: :smile: -> "
    "[l](http://evil.example/x) <img src=x onerror=alert(1)> _em_ **bold**"
)
NAME = f"Zyx {ATTACKS}"[:200]
"""A display name (at most 200 printable characters), marked "Zyx"."""
TEAM = f"=1+2 Qwv {ATTACKS}"[:200]
"""The demo team's name (at most 200 characters), marked "Qwv", that starts like a formula."""
OTHER_TEAM = f"# Pqx {ATTACKS}"[:200]
"""The other team's name, that starts like a heading."""
TEXT = f"Vtk {ATTACKS}\n# Heading\n- item\n1. item\n| a | b |\n|---|---|\n> quote\n---\n$$x$$"
"""Free text in a review or a reason, marked "Vtk", over several lines."""
REASON = f"Vtk {ATTACKS}"
"""A one-line reason (returns and exception requests)."""

_CODE_SPAN = re.compile(r"(?<!\\)`[^`]*`")
_UNESCAPED = re.compile(r"(?<!\\)(?:!\[|<|\$|:red\[|:material/|\]\(http://127|\]\(http://evil)")
_REWRITTEN = re.compile(r"https?://|www\.|@evil|:smile:|:streamlit:|:material_|(^|\s)->(\s|$)")
"""What Streamlit rewrites in the text after parsing (autolinks, shortcodes, icons, arrows)."""


def injected(body: str) -> list[str]:
    """What in one Markdown body would render as something other than text.

    Inline code is shown as typed (never rendered, linked or rewritten), so it is left out; the
    rest must hold no unescaped Markdown from the payload, and, as the reader sees it (escapes
    removed), nothing that Streamlit rewrites after parsing."""
    outside = _CODE_SPAN.sub(" ", body)
    found = [m.group() for m in _UNESCAPED.finditer(outside)]
    found += [m.group() for m in _REWRITTEN.finditer(as_seen(outside))]
    return found


def assert_inert(at: AppTest, where: str, *, shows: tuple[str, ...] = ("Zyx",)) -> None:
    assert not at.exception, where
    bodies = rendered_markdown(at) + [str(link.proto.label) for link in at.page_link]
    offending = {body: injected(body) for body in bodies if injected(body)}
    assert offending == {}, where
    text = all_text(at)
    for marker in shows:  # the hostile text is on the page: the walk is not vacuous
        assert marker in text, (where, marker)


# The helper itself


@pytest.mark.parametrize(
    "text",
    [
        ATTACKS,
        TEXT,
        NAME,
        TEAM,
        OTHER_TEAM,
        "``www.x``",
        "a`b http://x`y",
        "x:smile",
        "ends :material_home",
    ],
)
def test_escaped_text_holds_no_markdown_and_nothing_streamlit_rewrites(text: str) -> None:
    assert injected(escape_markdown(text)) == []
    # A last word that could become a shortcode with our own colon after it does not.
    assert injected(escape_markdown(text) + ":") == []


def test_web_addresses_stay_copyable_text() -> None:
    shown = escape_markdown("see http://evil.example/x?a=1 and www.evil.example, ok")
    assert "`http://evil.example/x?a=1`" in shown  # as typed, character for character
    assert "`www.evil.example,`" in shown
    assert "\u200b" not in shown  # nothing invisible inserted
    assert "\u2060" not in shown
    assert escape_markdown("CR-2024-0117") == "CR-2024-0117"  # a reference reads as typed


# Every page, every role


def _evidence(review: Review) -> Review:
    item = EvidenceItem(
        id="E90",
        agency=Agency.SCHOOL,
        kind=EvidenceKind.OBSERVED,
        observed_on=review.case.proposed_closure_on - dt.timedelta(days=10),
        direction=Direction.NEUTRAL,
        shows=TEXT,
    )
    return review.model_copy(update={"evidence": [*review.evidence, item]})


@pytest.fixture(scope="module")
def hostile_template(tmp_path_factory: pytest.TempPathFactory) -> DemoDatabase:
    """The demo seeded with hostile display names and team names, then given hostile review
    text, a return with hostile reasons, and a sign-off whose review holds hostile text."""
    teams = {demo_seed.DEMO_TEAM: TEAM, demo_seed.OTHER_TEAM: OTHER_TEAM}
    accounts = tuple(
        replace(a, display_name=NAME, team=teams.get(a.team, a.team))
        for a in demo_seed.DEMO_ACCOUNTS
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_seed, "DEMO_ACCOUNTS", accounts)
        database = seeded_database(tmp_path_factory.mktemp("hostile"))
    ctx, worker = database.context(), database.principal("caseworker")
    manager = database.principal("manager")
    # Hostile evidence in a draft (the caseworker's steps).
    draft = database.ids["draft_parent_only"]
    record = reviews.get_review(ctx, worker, draft)
    reviews.save_review(
        ctx, worker, draft, _evidence(record.review), expected_version=record.version
    )
    # A return with hostile reasons (the caseworker's banner and steps).
    waiting = next(
        item.decision_id
        for item in decisions.queue(ctx, manager).submitted
        if item.signed_by == worker.staff_id
    )
    decisions.return_review(ctx, manager, waiting, overall=REASON, themes={THEMES[0].key: REASON})
    # A sign-off whose review holds hostile text (the manager's and auditor's decision page).
    document = ready_document("CR-TEST-0666")
    document["evidence"][0]["shows"] = TEXT
    ready = Review.model_validate(document)
    review_id = reviews.start_review(ctx, worker, ready.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, ready, expected_version=record.version)
    record = reviews.get_review(ctx, worker, review_id)
    database.ids["hostile_decision"] = reviews.sign_off(
        ctx, worker, review_id, seen_hash=record.content_hash, attested=True
    )
    return database


@pytest.fixture
def hostile(
    hostile_template: DemoDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DemoDatabase]:
    from app_support import copy_database, point_app_at

    database = copy_database(hostile_template, tmp_path)
    point_app_at(monkeypatch, database)
    yield database
    clear_app_caches()


def test_a_caseworkers_pages_render_hostile_names_teams_and_text_inert(
    hostile: DemoDatabase,
) -> None:
    at = app_test("caseworker")
    assert_inert(at, "my reviews", shows=("Zyx", "Qwv"))
    open_page(at, "start_review")
    assert_inert(at, "start a review")
    draft = hostile.ids["draft_parent_only"]
    for step in ("tasks", *OTHER_STEPS, *(theme.key for theme in THEMES)):
        open_step(at, draft, step)
        assert_inert(at, f"step {step}")
    open_step(at, draft, "evidence")
    assert "Vtk" in all_text(at)
    open_step(at, hostile.ids["submitted_2"], "tasks")  # returned with hostile reasons
    assert_inert(at, "returned review", shows=("Zyx", "Vtk"))


def test_a_managers_pages_render_hostile_names_teams_and_text_inert(
    hostile: DemoDatabase,
) -> None:
    at = app_test("manager")
    assert_inert(at, "queue", shows=("Zyx", "Qwv"))
    assert "Signed off by Zyx" in as_seen(_CODE_SPAN.sub("", all_text(at)))
    open_page(at, "team_reviews")
    assert_inert(at, "team reviews")
    decision = str(hostile.ids["hostile_decision"])
    open_page(at, "decision", query={"decision": decision})
    assert_inert(at, "decision page", shows=("Zyx", "Qwv", "Vtk"))


def test_an_auditors_pages_render_hostile_names_teams_and_text_inert(
    hostile: DemoDatabase,
) -> None:
    at = app_test("auditor")
    assert_inert(at, "decisions")
    decision = str(hostile.ids["hostile_decision"])
    open_page(at, "decision", query={"decision": decision})
    assert_inert(at, "decision page", shows=("Zyx", "Qwv", "Vtk"))
    open_page(at, "learning")
    assert_inert(at, "learning")


# CSV exports (item 12)

FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+2",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\0=1+1",
    " =1+1",
    "\uff1d1+1",
]


def _read(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


@pytest.mark.parametrize("formula", FORMULAS, ids=[repr(f) for f in FORMULAS])
def test_a_csv_cell_that_starts_like_a_formula_starts_with_a_quote(formula: str) -> None:
    row = dict.fromkeys(COLUMNS, formula) | {"id": 7, "cautions": -1, "exceptions": 0}
    (read,) = _read(decisions_csv([row]))
    for column in COLUMNS:
        if column in ("id", "cautions", "exceptions"):
            continue
        assert read[column] == "'" + formula, column
    # Our numbers stay numbers, negative ones too.
    assert (read["id"], read["cautions"], read["exceptions"]) == ("7", "-1", "0")


def test_the_auditors_csv_export_neutralises_hostile_teams_and_names(
    hostile: DemoDatabase,
) -> None:
    ctx = hostile.context()
    auditor = hostile.principal("auditor")
    data = auditing.export_decisions(ctx, auditor, DecisionQuery(), fmt="csv")
    rows = _read(data)
    assert rows
    assert {row["team"] for row in rows} == {"'" + TEAM}  # as typed, after the quote
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
        assert int(row["cautions"]) >= 0  # numbers stay numbers
        assert row["id"].isdigit()


def test_the_command_line_csv_export_neutralises_hostile_teams(hostile: DemoDatabase) -> None:
    from click.testing import CliRunner

    from closure_readiness.cli import cli

    result = CliRunner().invoke(cli, ["export", "--db", str(hostile.path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = _read(result.stdout_bytes)
    assert rows
    assert {row["team"] for row in rows} == {"'" + TEAM}
