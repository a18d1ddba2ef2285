"""Hostile names, teams and review text in a real browser (issue 11, items 9 and 10).

A demo of its own, seeded with staff whose display names and team names hold Markdown images
(a beacon on 127.0.0.1:9), KaTeX, colour, HTML, icons, emoji and web addresses, and a sign-off
whose review holds the same. The team manager's pages are opened in Chromium: no request goes to
the beacon, and nothing in the text becomes an image, formula, coloured span, icon or link.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.core.review import Review
from closure_readiness.demo import seed as demo_seed
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
BEACON = "http://127.0.0.1:9/beacon"
ATTACKS = (
    f"![b]({BEACON}) $\\frac{{1}}{{2}}$ :red[Rdq] <b>Hb</b> www.evil.example "
    "http://evil.example/y a@evil.example :material/bug_report: :streamlit: :smile: -> "
    "[l](http://evil.example/x)"
)
NAME = f"Zyx {ATTACKS}"[:200]
TEAM = f"Qwv {ATTACKS}"[:200]
TEXT = f"Vtk {ATTACKS}\n# Heading\n- item"


@pytest.fixture(scope="module")
def hostile_demo(
    tmp_path_factory: pytest.TempPathFactory,
    chromium_path: Path,
    demo_runner: Callable[..., Any],
) -> Iterator[Any]:
    """A demo whose staff all carry the hostile name and team, with a hostile sign-off."""
    accounts = tuple(
        replace(a, display_name=NAME, team=TEAM if a.team == demo_seed.DEMO_TEAM else a.team)
        for a in demo_seed.DEMO_ACCOUNTS
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo_seed, "DEMO_ACCOUNTS", accounts)  # the seeding, in this process
        with demo_runner(
            tmp_path_factory.mktemp("hostile"), Path(sys.executable), cwd=REPO_ROOT
        ) as running:
            running.ids["hostile_decision"] = _hostile_sign_off(running)
            yield running


def _hostile_sign_off(demo: Any) -> int:
    ctx = Context(demo.db)
    worker = staff.identify(ctx, issuer=demo.provider_url, subject="caseworker")
    document = json.loads(
        (REPO_ROOT / "examples" / "ready-three-agencies-sustained-change.json").read_text(
            encoding="utf-8"
        )
    )
    closure = dt.date.fromisoformat(document["case"]["proposed_closure_on"])
    target = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)
    document = demo_seed.shifted(document, (target - closure).days)
    document["case"]["case_reference"] = "CR-E2E-0666"
    document["evidence"][0]["shows"] = TEXT
    document["answers"]["support"]["needs"][0]["consent_to_share"] = False  # a caution
    review = Review.model_validate(document)
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    record = reviews.get_review(ctx, worker, review_id)
    rationales = {finding.check_id: TEXT for finding in record.report.open_cautions}
    assert rationales  # the rationale is shown on the decision page
    reviews.save_review(
        ctx,
        worker,
        review_id,
        record.review.model_copy(update={"rationales": rationales}),
        expected_version=record.version,
    )
    record = reviews.get_review(ctx, worker, review_id)
    return reviews.sign_off(ctx, worker, review_id, seen_hash=record.content_hash, attested=True)


def _assert_inert(page: Any, requested: list[str], where: str) -> None:
    fetched = [url for url in requested if "127.0.0.1:9/" in url or "evil.example" in url]
    assert fetched == [], where
    assert page.locator('img[src*="127.0.0.1:9"]').count() == 0, where
    assert page.locator('img[alt="Streamlit logo"]').count() == 0, where
    assert page.locator(".katex").count() == 0, where
    assert page.locator('[class*="stMarkdownColored"]', has_text="Rdq").count() == 0, where
    assert page.locator('[aria-label="bug_report icon"]').count() == 0, where
    assert page.locator("b", has_text="Hb").count() == 0, where
    assert page.locator('a[href*="evil.example"]').count() == 0, where  # item 10: no live link
    body = page.inner_text("body")
    assert "\U0001f604" not in body, where  # :smile: stays a word
    assert "Zyx" in body, where  # the name is there, as text
    assert "www.evil.example" in body, where  # the address is there, as text


def test_a_managers_pages_show_hostile_names_teams_and_text_as_text(
    hostile_demo: Any,
    browser: Any,
    sign_in_to: Callable[[Any, Any, str], None],
    settle: Callable[[Any], None],
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(20_000)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        sign_in_to(page, hostile_demo, "manager")
        page.get_by_role("heading", name="Waiting for me").wait_for()
        page.get_by_text("Signed off by Zyx").first.wait_for()
        _assert_inert(page, requested, "queue")

        page.goto(f"{hostile_demo.url}/team_reviews")
        settle(page)
        page.get_by_role("heading", name="Team reviews").wait_for()
        _assert_inert(page, requested, "team reviews")

        decision = hostile_demo.ids["hostile_decision"]
        page.goto(f"{hostile_demo.url}/decision?decision={decision}")
        settle(page)
        page.get_by_role("heading", name="Answers and evidence").wait_for()
        page.get_by_text("Caseworker's rationale").first.wait_for()
        assert "Vtk" in page.inner_text("body")
        _assert_inert(page, requested, "decision page")
    finally:
        context.close()
