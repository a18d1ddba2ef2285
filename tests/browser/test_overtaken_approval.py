"""A manager approving from a tab another tab has overtaken (decision #78), in Chromium.

The approval is made in the button's callback; refused, the page reads the decision again and
says why where the decision was made (in view), and no approve button is left beside the old
state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context

VIEWPORT = {"width": 1400, "height": 1000}
APPROVE = "Approve the closure (countersign)"


def _waiting(demo: Any, nearly_ready: Callable[..., int]) -> int:
    """A ready review signed off by the demo caseworker: its decision id."""
    review_id = nearly_ready(lambda document: None)
    ctx = Context(demo.db)
    worker = staff.identify(ctx, issuer=demo.provider_url, subject="caseworker")
    record = reviews.get_review(ctx, worker, review_id)
    return int(
        reviews.sign_off(ctx, worker, review_id, seen_hash=record.content_hash, attested=True)
    )


def test_an_approval_from_an_overtaken_tab_says_why_and_shows_the_decision_as_stored(
    browser: Any,
    demo: Any,
    sign_in: Any,
    settle: Any,
    nearly_ready: Callable[..., int],
    tmp_path: Path,
) -> None:
    decision_id = _waiting(demo, nearly_ready)
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    try:
        first = context.new_page()
        sign_in(first, "manager")
        address = f"{demo.url}/decision?decision={decision_id}"
        first.goto(address)
        settle(first)
        behind = context.new_page()  # a second tab, the same sign-in
        behind.goto(address)
        settle(behind)

        first.get_by_role("button", name=APPROVE).click()
        approved = first.get_by_text("Closure approved. The decision record is sealed")
        expect(approved).to_be_visible()
        settle(first)
        expect(approved).to_be_in_viewport()
        first.screenshot(path=str(tmp_path / "approved.png"))
        behind.get_by_role("button", name=APPROVE).click()

        refusal = behind.get_by_text(
            "This decision has already been countersigned, returned or withdrawn."
        )
        expect(refusal).to_be_visible()
        settle(behind)
        expect(refusal).to_be_in_viewport()  # where the button was, not out of sight above
        expect(behind.get_by_role("button", name=APPROVE)).to_have_count(0)
        expect(behind.get_by_text("Closure approved. The decision record is sealed")).to_have_count(
            0
        )
        behind.screenshot(path=str(tmp_path / "overtaken.png"))
    finally:
        context.close()
