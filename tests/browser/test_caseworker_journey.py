"""A caseworker's day in a real browser: sign in, start a review, add and cite evidence while
the gaps update, sign off with a rationale, reload mid-wizard; accessibility of the main pages.

Every interaction waits for Streamlit to finish its run (no sleeps). Screenshots of the main
pages are saved to docs/screenshots/ by these tests.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context

pytestmark = pytest.mark.browser

BEACON = "![x](http://127.0.0.1:9/beacon.png)"


# Helpers for Streamlit widgets, found by their key (Streamlit adds the class st-key-<key>)


def by_key(page: Any, key: str) -> Any:
    return page.locator(f".st-key-{key.replace('.', '-')}")


def review_key(review_id: int, *parts: object) -> str:
    return ".".join(["r", str(review_id), "g0", *map(str, parts)])


def type_date(page: Any, label: str, day: dt.date) -> None:
    """Type a date into a Streamlit date field (day, month and year segments)."""
    page.get_by_role("spinbutton", name=f"day, {label}").first.click()
    page.keyboard.type(f"{day:%d%m%Y}")
    page.keyboard.press("Tab")


@pytest.fixture
def open_step(demo: Any, settle: Any) -> Any:
    """open_step(page, review_id, step): a step of the wizard, by its address."""

    def opened(page: Any, review_id: int, step: str) -> None:
        page.goto(f"{demo.url}/review?review={review_id}&step={step}")
        settle(page)

    return opened


def gap_panel(page: Any) -> Any:
    """The column holding the live gaps (headed 'Gaps')."""
    return page.get_by_test_id("stColumn").filter(
        has=page.get_by_role("heading", name="Gaps", exact=True)
    )


# The tests


def test_a_signed_out_visitor_sees_only_sign_in(
    page: Any, demo: Any, settle: Any, screenshot: Any, axe_check: Any
) -> None:
    page.goto(demo.url)
    settle(page)

    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    main = page.get_by_test_id("stMain")
    assert main.get_by_role("button").count() == 1
    body = page.locator("body").inner_text()
    assert "CR-DEMO" not in body
    assert "Signed in as" not in body
    screenshot(page, "sign-in")
    assert axe_check(page, "sign-in") == []


def test_a_caseworker_starts_a_review_and_watches_a_blocker_clear(
    page: Any, demo: Any, sign_in: Any, settle: Any, open_step: Any, screenshot: Any, axe_check: Any
) -> None:
    sign_in(page, "caseworker")
    expect(page.get_by_role("heading", name="My reviews")).to_be_visible()
    expect(page.get_by_text("CR-DEMO-1007", exact=True)).to_be_visible()
    screenshot(page, "my-reviews")
    assert axe_check(page, "my-reviews") == []

    # Start a review.
    reference = f"CR-E2E-{uuid.uuid4().hex[:6].upper()}"
    today = dt.datetime.now(dt.UTC).date()
    page.get_by_role("link", name="Start a review").first.click()
    expect(page.get_by_role("heading", name="Start a closure review")).to_be_visible()
    settle(page)
    page.get_by_role("textbox", name="Case reference").fill(reference)
    page.get_by_role("textbox", name="Month of birth (YYYY-MM)").fill("2009-04")
    type_date(page, "Date opened", today - dt.timedelta(days=200))
    type_date(page, "Proposed closure date", today + dt.timedelta(days=14))
    page.get_by_role("button", name="Start review").click()
    expect(page.get_by_role("heading", name=f"Closure review {reference}")).to_be_visible()
    settle(page)
    review_id = int(re.search(r"review=(\d+)", page.url).group(1))  # type: ignore[union-attr]

    # The task list and the gap panel: nothing cites evidence of change yet.
    expect(page.get_by_role("heading", name="Task list")).to_be_visible()
    expect(gap_panel(page).get_by_text("change.E001")).to_be_visible()
    screenshot(page, "task-list")
    assert axe_check(page, "task-list") == []

    # The evidence register: add what the school saw.
    by_key(page, review_key(review_id, "task", "evidence")).get_by_role("button").click()
    expect(page.get_by_role("heading", name="Evidence register")).to_be_visible()
    settle(page)
    type_date(page, "Date observed", today - dt.timedelta(days=3))
    shows = by_key(page, review_key(review_id, "evidence", "add", "shows"))
    shows.get_by_role("textbox").fill("Form tutor saw her settled in lessons all week.")
    record_ref = by_key(page, review_key(review_id, "evidence", "add", "record_ref"))
    record_ref.get_by_role("textbox").fill("EDU-OBS-0001")
    page.get_by_role("button", name="Add evidence").click()
    expect(page.get_by_text("No evidence recorded yet.")).to_be_hidden()
    settle(page)
    expect(page.get_by_label("Evidence item")).to_be_visible()
    page.get_by_role("heading", name="Evidence register").scroll_into_view_if_needed()
    screenshot(page, "evidence-register")
    expect(gap_panel(page).get_by_text("change.E001")).to_be_visible()  # recorded, not cited

    # Evidence of change: cite it, and the blocker goes.
    open_step(page, review_id, "change")
    expect(page.get_by_role("heading", name="What has actually changed")).to_be_visible()
    cited = by_key(page, review_key(review_id, "change", "cited"))
    cited.get_by_role("combobox").click()
    page.get_by_role("option", name=re.compile(r"^E1 ·")).click()
    page.keyboard.press("Escape")
    expect(gap_panel(page).get_by_text("change.E001")).to_have_count(0)
    settle(page)
    # One agency only: triangulation still blocks, shown with what would resolve it.
    expect(gap_panel(page).get_by_text("change.E003")).to_be_visible()
    screenshot(page, "theme-step-with-gaps")
    assert axe_check(page, "theme-step") == []


def test_a_caseworker_signs_off_with_a_rationale(
    page: Any, demo: Any, sign_in: Any, settle: Any, open_step: Any, screenshot: Any
) -> None:
    review_id = demo.ids["draft_remand"]
    sign_in(page, "caseworker")

    # Circumstance or choice: the plan for the day remand ends clears the blocker.
    open_step(page, review_id, "cause")
    expect(gap_panel(page).get_by_text("cause.E002")).to_be_visible()
    plan = by_key(page, review_key(review_id, "cause", "causes", 0, "plan_for_end"))
    plan.get_by_role("textbox").fill("Youth justice meets him at the gate; college starts then.")
    plan.get_by_role("textbox").press("Tab")
    expect(gap_panel(page).get_by_text("cause.E002")).to_have_count(0)
    settle(page)

    # Check and sign off: the caution needs a rationale, then the attestation.
    open_step(page, review_id, "sign_off")
    sign_off = page.get_by_role("button", name="Sign off and send to my manager")
    expect(sign_off).to_be_disabled()
    rationale = by_key(page, review_key(review_id, "rationale", "cause.W002"))
    rationale.get_by_role("textbox").fill(
        "He has moved area on release; the line's older members are in custody."
    )
    rationale.get_by_role("textbox").press("Tab")
    expect(gap_panel(page).get_by_text("Nothing blocks sign-off.")).to_be_visible()
    settle(page)
    page.get_by_text("I confirm the statement above").click()
    expect(sign_off).to_be_enabled()
    screenshot(page, "sign-off")
    sign_off.click()

    confirmation = page.get_by_text("Signed off. Your team manager will countersign")
    expect(confirmation).to_be_visible()
    expect(page.get_by_text("Signed off, waiting for countersignature").first).to_be_visible()
    expect(sign_off).to_have_count(0)  # read-only now
    ctx = Context(demo.db)
    worker = staff.identify(ctx, issuer=demo.provider_url, subject="caseworker")
    assert reviews.get_review(ctx, worker, review_id).status == "submitted"
    settle(page)
    # The confirmation is drawn at the top while the page stays scrolled down (reported).
    page.get_by_role("heading", name=re.compile("^Closure review")).scroll_into_view_if_needed()
    screenshot(page, "sign-off-confirmation")


def test_answers_survive_a_reload_mid_wizard(
    page: Any, demo: Any, sign_in: Any, settle: Any, open_step: Any
) -> None:
    review_id = demo.ids["draft_new"]
    sign_in(page, "caseworker")
    open_step(page, review_id, "exit")
    lead = by_key(page, review_key(review_id, "exit", "lead_role")).get_by_role("textbox")
    lead.fill("School designated safeguarding lead")
    lead.press("Enter")
    notes = by_key(page, review_key(review_id, "exit", "notes")).get_by_role("textbox")
    notes.fill(f"Agreed at the final meeting {BEACON}")
    notes.press("Tab")
    settle(page)

    page.reload()
    settle(page)

    lead = by_key(page, review_key(review_id, "exit", "lead_role")).get_by_role("textbox")
    expect(lead).to_have_value("School designated safeguarding lead")
    notes = by_key(page, review_key(review_id, "exit", "notes")).get_by_role("textbox")
    expect(notes).to_have_value(f"Agreed at the final meeting {BEACON}")
    # Shown as typed on the check-your-answers page; the image address is never fetched.
    open_step(page, review_id, "sign_off")
    expect(page.get_by_text("Agreed at the final meeting ![x]", exact=False)).to_be_visible()
    assert [url for url in page.requests_outside if url.startswith("http://127.0.0.1:9/")] == []
