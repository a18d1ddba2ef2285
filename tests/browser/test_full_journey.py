"""One closure from sign-off to audit in a real browser, through the real server and sign-in:
the caseworker signs off, the manager returns it with a reason for one step, the caseworker
fixes it and signs off again, the manager approves, the auditor finds it, reads it, downloads
its decision record; then the database is tampered with outside the app and the auditor's next
look shows the integrity failure.

The review is created for this test alone (the demo database is shared by every browser test),
and the tampering is undone at the end, so tests running later see an intact store.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from closure_readiness.core.review import Review
from closure_readiness.demo.seed import shifted
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context, Principal

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_EXAMPLE = REPO_ROOT / "examples" / "ready-three-agencies-sustained-change.json"
RETURN_REASON = "Please confirm the mentoring start date before we close."
STEP_REASON = "Ask the mentoring service for the date of the first session."
FIX = "Mentoring service confirmed the first session for Tuesday 4pm."


def _principal(demo: Any, subject: str) -> Principal:
    return staff.identify(Context(demo.db), issuer=demo.provider_url, subject=subject)


def _nearly_ready(demo: Any, reference: str) -> int:
    """A draft that passes every check but one caution (no consent to share a need), which the
    caseworker answers in the browser before signing off."""
    document = json.loads(READY_EXAMPLE.read_text(encoding="utf-8"))
    closure = dt.date.fromisoformat(document["case"]["proposed_closure_on"])
    target = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)
    document = shifted(document, (target - closure).days)
    document["case"]["case_reference"] = reference
    document["answers"]["support"]["needs"][0]["consent_to_share"] = False
    review = Review.model_validate(document)
    ctx, worker = Context(demo.db), _principal(demo, "caseworker")
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    record = reviews.get_review(ctx, worker, review_id)
    assert not record.report.open_blockers
    assert [f.check_id for f in record.report.open_cautions] == ["support.W002"]
    return review_id


def _stored(demo: Any, review_id: int) -> Review:
    return reviews.get_review(Context(demo.db), _principal(demo, "caseworker"), review_id).review


def _eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a change the page saves without drawing anything new (an answer on blur)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the change was not saved"
        time.sleep(0.1)  # polling interval, not a wait for an outcome


def _status(demo: Any, review_id: int) -> str:
    return reviews.get_review(Context(demo.db), _principal(demo, "manager"), review_id).status


def test_a_closure_from_sign_off_to_audit_and_a_tampered_record(
    page: Any, demo: Any, sign_in: Any, settle: Any, screenshot: Any, tmp_path: Path
) -> None:
    reference = f"CR-FULL-{uuid.uuid4().int % 10**6:06d}"  # always a number in it
    review_id = _nearly_ready(demo, reference)

    def open_step(step: str) -> None:
        page.goto(f"{demo.url}/review?review={review_id}&step={step}")
        settle(page)

    def sign_out() -> None:
        page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
        # Streamlit ends the session at the provider too; the demo's provider asks to confirm.
        page.wait_for_url(f"{demo.provider_url}/**")
        page.get_by_role("button", name="End session").click()
        page.wait_for_url(f"{demo.url}/**")
        settle(page)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    def sign_off(rationale: bool) -> None:
        open_step("sign_off")
        button = page.get_by_role("button", name="Sign off and send to my manager")
        expect(button).to_be_disabled()
        if rationale:
            box = page.get_by_role("textbox", name=re.compile(r"^Rationale for support\.W002 "))
            box.fill("The family agreed to refer themselves; see the plan.")
            box.press("Tab")
            expect(page.get_by_text("Nothing blocks sign-off.")).to_be_visible()
            settle(page)
        page.get_by_text("I confirm the statement above", exact=True).click()
        expect(page.get_by_role("checkbox", name="I confirm the statement above")).to_be_checked()
        expect(button).to_be_enabled()
        button.click()
        expect(page.get_by_text("Signed off. Your team manager will countersign")).to_be_visible()
        settle(page)
        assert _status(demo, review_id) == "submitted"

    def open_from_queue() -> str:
        """The manager's queue: open this review's sign-off; returns the decision id."""
        expect(page.get_by_role("heading", name="Waiting for me")).to_be_visible()
        expect(page.get_by_text(reference, exact=True)).to_be_visible()
        record = reviews.get_review(Context(demo.db), _principal(demo, "manager"), review_id)
        decision_id = str(record.pending_decision_id)
        link = page.locator(f'a[href*="decision={decision_id}"]')
        expect(link).to_have_count(1)
        page.get_by_text(reference, exact=True).scroll_into_view_if_needed()
        return decision_id

    # The caseworker answers the caution and signs off.
    sign_in(page, "caseworker")
    sign_off(rationale=True)
    sign_out()

    # The manager opens it from "Waiting for me" and returns it with a reason for one step.
    sign_in(page, "manager")
    first_decision = open_from_queue()
    screenshot(page, "manager-queue")
    page.locator(f'a[href*="decision={first_decision}"]').click()
    expect(
        page.get_by_role("heading", name=f"Decision {first_decision}: {reference}")
    ).to_be_visible()
    settle(page)
    expect(
        page.get_by_text(re.compile(r"^Caseworker's rationale.*The family agreed"))
    ).to_be_visible()
    report = page.get_by_role("heading", name="Readiness report")
    answers = page.get_by_role("heading", name="Answers and evidence")
    assert report.bounding_box()["y"] < answers.bounding_box()["y"]
    screenshot(page, "manager-decision")
    page.get_by_role("textbox", name="Reason for returning (required)").fill(RETURN_REASON)
    page.get_by_text("Reasons for particular steps").click()
    page.get_by_role("textbox", name="Onward support").fill(STEP_REASON)
    page.get_by_role("button", name="Return to the caseworker").click()
    expect(page.get_by_text("Returned to the caseworker with your reasons.")).to_be_visible()
    expect(page.get_by_role("heading", name="Waiting for me")).to_be_visible()
    settle(page)
    assert _status(demo, review_id) == "returned"
    sign_out()

    # The caseworker sees the reason at that step, changes the answer and signs off again.
    sign_in(page, "caseworker")
    open_step("support")
    expect(page.get_by_text(f"Your manager asks: {STEP_REASON}")).to_be_visible()
    expect(page.get_by_text(RETURN_REASON)).to_be_visible()
    notes = page.get_by_role("textbox", name="Notes", exact=True)
    notes.fill(FIX)
    notes.press("Tab")
    settle(page)
    _eventually(lambda: _stored(demo, review_id).answers.support.notes == FIX)
    sign_off(rationale=False)  # the rationale written before the return is kept
    sign_out()

    # The manager sees what changed since the return and approves.
    sign_in(page, "manager")
    decision_id = open_from_queue()
    assert decision_id != first_decision
    page.locator(f'a[href*="decision={decision_id}"]').click()
    expect(page.get_by_role("heading", name=f"Decision {decision_id}: {reference}")).to_be_visible()
    settle(page)
    expect(page.get_by_role("heading", name="What changed since it was returned")).to_be_visible()
    page.get_by_role("button", name="Approve the closure (countersign)").click()
    expect(page.get_by_text("Closure approved. The decision record is sealed")).to_be_visible()
    settle(page)
    assert _status(demo, review_id) == "approved"
    sign_out()

    # The auditor finds it by its case reference, opens it and downloads the decision record.
    sign_in(page, "auditor")
    expect(page.get_by_role("heading", name="Decisions", exact=True)).to_be_visible()
    page.get_by_role("textbox", name="Search answers and evidence").fill(reference)
    page.get_by_test_id("stForm").get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text(re.compile(r"^Showing 1 to 2 of 2\b"))).to_be_visible()
    settle(page)
    chosen = page.get_by_role("combobox", name="Open a decision")
    expect(chosen).to_have_value(f"{decision_id} · {reference} · Approved")  # newest first
    screenshot(page, "auditor-decisions")
    page.get_by_role("link", name="Open the decision record").click()
    expect(page.get_by_role("heading", name=f"Decision {decision_id}: {reference}")).to_be_visible()
    settle(page)
    expect(page.get_by_text("Integrity verified")).to_be_visible()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    screenshot(page, "auditor-decision")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the decision record (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"decision-{decision_id}-{reference}.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert reference in text
    assert "Page 1 of" in text

    # The learning figures, for the record.
    page.get_by_test_id("stSidebar").get_by_role("link", name="Learning").click()
    expect(page.get_by_role("heading", name="Learning", exact=True)).to_be_visible()
    settle(page)
    expect(page.get_by_role("heading", name="Exceptions", exact=True)).to_be_visible()
    screenshot(page, "learning")

    # Someone changes the sealed row outside the app; the auditor's next look shows it.
    conn = sqlite3.connect(demo.db)
    try:
        (trigger,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'decisions_no_update'"
        ).fetchone()
        (team,) = conn.execute("SELECT team FROM decisions WHERE id = ?", [decision_id]).fetchone()
        with conn:
            conn.execute("DROP TRIGGER decisions_no_update")
            conn.execute("UPDATE decisions SET team = 'Tampered' WHERE id = ?", [decision_id])
        try:
            page.goto(f"{demo.url}/decision?decision={decision_id}")
            settle(page)
            expect(page.get_by_text("Integrity check failed")).to_be_visible()
            expect(
                page.get_by_text(f"decision {decision_id}: the team does not match what was sealed")
            ).to_be_visible()
            expect(page.get_by_text("Integrity verified")).to_have_count(0)
        finally:
            with conn:
                conn.execute("UPDATE decisions SET team = ? WHERE id = ?", [team, decision_id])
                conn.execute(trigger)
    finally:
        conn.close()
    page.goto(f"{demo.url}/decision?decision={decision_id}")
    settle(page)
    expect(page.get_by_text("Integrity verified")).to_be_visible()
