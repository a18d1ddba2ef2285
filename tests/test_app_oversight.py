"""Oversight through AppTest: the team manager's queue, decision page, countersignature, returns
and exceptions; team boundaries; the auditor's read-only list, detail, audit events, learning
figures and exports.

Every test runs the real entry point in-process against its own copy of the seeded demo data
(tests/app_support.py). Widgets are found by their keys.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Widget

from app_support import (
    PAGE_SCRIPTS,
    DemoDatabase,
    all_text,
    app_test,
    button,
    form,
    open_page,
    open_step,
    ready_document,
    rendered_markdown,
    selectbox,
    text_area,
    text_input,
)
from closure_readiness.checks import Resolution
from closure_readiness.checks.report import NoticeKind
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import Agency, ClosureReason, Route
from closure_readiness.service import auditing, decisions, reviews, staff
from closure_readiness.service.auditing import DecisionQuery
from closure_readiness.service.context import SYSTEM, NotFound, Refused, Role
from workflow_fixtures import insert_v1_decision

APPROVE = "Approve the closure (countersign)"
RETURN_REASON = "Reason for returning (required)"
REASON_FOR_EXCEPTION = "Your reason (recorded and reported to auditors)"
SEEDED_APPROVED = {"CR-DEMO-1001", "CR-DEMO-1002", "CR-DEMO-1010"}
"""Seeded decisions that a team manager countersigned."""


# Helpers


def _prepared(demo: DemoDatabase, document: dict[str, Any], subject: str = "caseworker") -> int:
    """A draft review holding `document`, prepared by `subject` through the service."""
    ctx, worker = demo.context(), demo.principal(subject)
    review = Review.model_validate(document)
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    return review_id


def _signed_off(demo: DemoDatabase, review_id: int, subject: str = "caseworker") -> int:
    """Rationales for any caution, then the caseworker's sign-off; returns the decision id."""
    ctx, worker = demo.context(), demo.principal(subject)
    record = reviews.get_review(ctx, worker, review_id)
    if record.report.open_cautions:
        rationales = {f.check_id: "Agreed with the family." for f in record.report.open_cautions}
        reviews.save_review(
            ctx,
            worker,
            review_id,
            record.review.model_copy(update={"rationales": rationales}),
            expected_version=record.version,
        )
        record = reviews.get_review(ctx, worker, review_id)
    return reviews.sign_off(ctx, worker, review_id, seen_hash=record.content_hash, attested=True)


def _submitted(
    demo: DemoDatabase, reference: str, *, shows: str | None = None, subject: str = "caseworker"
) -> tuple[int, int]:
    """A ready review signed off by `subject`: (review id, decision id)."""
    document = ready_document(reference)
    if shows is not None:
        document["evidence"][0]["shows"] = shows
    review_id = _prepared(demo, document, subject)
    return review_id, _signed_off(demo, review_id, subject)


def _submitted_with_document(demo: DemoDatabase, document: dict[str, Any]) -> tuple[int, int]:
    review_id = _prepared(demo, document)
    return review_id, _signed_off(demo, review_id)


def _exception_request(demo: DemoDatabase, reference: str) -> tuple[int, int, str]:
    """A draft whose exit plan notified no lead agency (exit.E003, overridable), and the
    caseworker's request for an exception: (review id, request id, finding key)."""
    document = ready_document(reference)
    document["answers"]["exit"]["notified"] = [Agency.SCHOOL.value, Agency.POLICE.value]
    review_id = _prepared(demo, document)
    ctx, worker = demo.context(), demo.principal("caseworker")
    record = reviews.get_review(ctx, worker, review_id)
    gap = next(f for f in record.report.open_blockers if f.check_id == "exit.E003")
    request_id = reviews.request_exception(
        ctx,
        worker,
        review_id,
        finding_key=gap.key,
        reason="The youth work service leads after closure and wrote the exit plan.",
    )
    return review_id, request_id, gap.key


def _pending_decision(demo: DemoDatabase, label: str) -> int:
    """The decision waiting for countersignature on a seeded review."""
    record = reviews.get_review(demo.context(), demo.principal("manager"), demo.ids[label])
    assert record.pending_decision_id is not None
    return record.pending_decision_id


def _decision_ids(demo: DemoDatabase, **filters: Any) -> dict[str, list[int]]:
    """Decision ids by case reference, as an auditor's search finds them."""
    page = auditing.list_decisions(
        demo.context(), demo.principal("auditor"), DecisionQuery(limit=200, **filters)
    )
    found: dict[str, list[int]] = {}
    for row in page.rows:
        found.setdefault(row["case_reference"], []).append(row["id"])
    return found


def _events(demo: DemoDatabase, action: str, decision_id: int | None = None) -> int:
    """Audit events of one kind, counted straight from the database file."""
    sql = "SELECT count(*) FROM audit_events WHERE action = ?"
    params: list[Any] = [action]
    if decision_id is not None:
        sql += " AND decision_id = ?"
        params.append(decision_id)
    conn = sqlite3.connect(demo.path)
    try:
        return int(conn.execute(sql, params).fetchone()[0])
    finally:
        conn.close()


def _unescaped(markdown: str) -> str:
    """Stored text as the reader sees it once Markdown's backslash escapes are applied."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _text_of(values: Iterable[Any]) -> list[str]:
    return [str(value.value) for value in values]


def _headings(at: AppTest) -> list[str]:
    """Titles, headers and subheaders in the order the page shows them."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Block):
            for child in node.children.values():
                walk(child)
        elif node.type in ("title", "header", "subheader") or getattr(node, "tag", "") in (
            "h1",
            "h2",
            "h3",
        ):
            found.append(str(node.value))

    walk(at._tree)
    return found


def _widgets(at: AppTest) -> list[tuple[Widget, str | None]]:
    """Every widget on the page (sidebar included) with the id of the form holding it."""
    found: list[tuple[Widget, str | None]] = []

    def walk(node: Any, form: str | None) -> None:
        if isinstance(node, Block):
            if node.type == "form":
                form = str(node.proto.form.form_id)
            for child in node.children.values():
                walk(child, form)
        elif isinstance(node, Widget):
            found.append((node, form))

    walk(at._tree, None)
    return found


def _table(at: AppTest, column: str) -> Any:
    """The first dataframe on the page that has `column`."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with a {column!r} column")


def _shown(at: AppTest) -> str:
    """How many decisions the list says it shows ("Showing 1 to 1 of 1")."""
    for caption in _text_of(at.caption):
        found = re.match(r"Showing \d+ to \d+ of (more than )?\d+(,\d{3})*", caption)
        if found:
            return found.group(0)
    raise AssertionError("the list does not say how many decisions it shows")


def _search(at: AppTest, *, text: str = "", status: str = "Any") -> AppTest:
    filters = form(at, "Search")
    text_input(filters, "Search answers and evidence").set_value(text)
    selectbox(filters, "Status").set_value(status)
    return button(filters, "Search").click().run()


# Waiting for me


def test_waiting_for_me_lists_the_teams_sign_offs_oldest_first_and_exception_requests(
    demo: DemoDatabase,
) -> None:
    review_id, _, _ = _exception_request(demo, "CR-TEST-2001")
    _, newest = _submitted(demo, "CR-TEST-2002")  # the newest sign-off

    at = app_test("manager")

    assert not at.exception
    assert _text_of(at.title) == ["Waiting for me"]
    assert _text_of(at.header) == ["Sign-offs to countersign (3)", "Exception requests (1)"]
    listed = [str(m.value) for m in at.markdown if str(m.value).startswith("**CR")]
    assert listed[:3] == ["**CR-DEMO-1004**", "**CR-DEMO-1005**", "**CR-TEST-2002**"]
    assert listed[3].startswith("**CR-TEST-2001** · Involved agency not notified")
    assert [link.proto.query_string for link in at.get("page_link")] == [
        f"decision={_pending_decision(demo, label)}" for label in ("submitted", "submitted_2")
    ] + [f"decision={newest}", f"review={review_id}&step=exit"]
    request = form(at, "Grant the exception")
    assert text_area(request, REASON_FOR_EXCEPTION).value == ""
    grant = button(request, "Grant the exception")
    assert not grant.disabled
    text = all_text(at)
    assert "The youth work service leads after closure" in text
    assert "CR-DEMO-1001" not in text  # approved: nothing left to do


def test_a_long_queue_shows_ten_sign_offs_at_a_time_longest_waiting_first(
    demo: DemoDatabase,
) -> None:
    for number in range(10):  # with the demo's two: twelve waiting
        _submitted(demo, f"CR-TEST-{3000 + number}")

    at = app_test("manager")

    def shown() -> list[str]:
        return [str(m.value) for m in at.markdown if str(m.value).startswith("**CR")]

    assert _text_of(at.header)[0] == "Sign-offs to countersign (12)"
    assert "Showing 1 to 10 of 12 sign-offs, longest waiting first." in _text_of(at.caption)
    assert shown() == ["**CR-DEMO-1004**", "**CR-DEMO-1005**"] + [
        f"**CR-TEST-{3000 + n}**" for n in range(8)
    ]
    assert button(at, "Previous sign-offs").disabled  # nothing before: no number promised

    button(at, "Next 2 sign-offs").click().run()

    assert "Showing 11 to 12 of 12 sign-offs, longest waiting first." in _text_of(at.caption)
    assert shown() == ["**CR-TEST-3008**", "**CR-TEST-3009**"]
    assert button(at, "Next sign-offs").disabled
    assert _text_of(at.header)[0] == "Sign-offs to countersign (12)"

    at.session_state["paging.sign-offs"] = 7  # a page past the end (the list shrank): the last
    at.run()
    assert shown() == ["**CR-TEST-3008**", "**CR-TEST-3009**"]

    button(at, "Previous 10 sign-offs").click().run()
    assert shown()[0] == "**CR-DEMO-1004**"


def test_a_short_queue_has_no_paging(demo: DemoDatabase) -> None:
    at = app_test("manager")

    assert not any(str(c.value).startswith("Showing") for c in at.caption)
    assert not [b for b in at.button if "sign-offs" in str(b.label)]


def test_a_manager_of_another_team_sees_nothing_of_norths_work(demo: DemoDatabase) -> None:
    _exception_request(demo, "CR-TEST-2003")
    north_decision = _pending_decision(demo, "submitted")
    approved_decision = _decision_ids(demo)["CR-DEMO-1001"][0]

    at = app_test("manager2")

    assert _text_of(at.header) == ["Sign-offs to countersign (0)", "Exception requests (0)"]
    assert "CR-DEMO" not in all_text(at)
    assert "CR-TEST" not in all_text(at)
    open_page(at, "team_reviews")
    assert not at.exception
    assert "CR-DEMO" not in all_text(at)
    assert "CR-TEST" not in all_text(at)
    for decision_id in (north_decision, approved_decision):
        open_page(at, "decision", query={"decision": str(decision_id)})
        assert not at.exception
        assert _text_of(at.error) == [f"There is no decision {decision_id} that you can see."]
        assert "CR-DEMO" not in all_text(at)
        assert not at.get("download_button")
    open_page(at, "review", query={"review": str(demo.ids["submitted"]), "step": "tasks"})
    assert "There is no review" in str(at.error[0].value)
    # Nor around the pages, through the service.
    with pytest.raises(NotFound):
        decisions.countersign(
            demo.context(), demo.principal("manager2"), north_decision, hash_seen="0" * 64
        )


# The decision page


def test_the_decision_page_shows_the_report_before_the_answers_then_approve_or_return(
    demo: DemoDatabase,
) -> None:
    decision_id = _pending_decision(demo, "submitted")

    at = app_test("manager", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    assert _text_of(at.title) == [f"Decision {decision_id}: CR-DEMO-1004"]
    headings = _headings(at)
    order = ["Readiness report", "Your decision", "Answers and evidence", "Evidence register"]
    assert [h for h in headings if h in order] == order
    assert "Nothing blocks approval." in _text_of(at.success)
    approve = button(at, APPROVE)
    assert not approve.disabled
    assert text_area(at, RETURN_REASON).value == ""
    assert text_input(at, "Onward support").value == ""
    assert button(form(at, "Return to the caseworker"), "Return to the caseworker")
    assert "Audit trail" not in headings  # the auditor's view only


def test_approving_countersigns_the_decision(demo: DemoDatabase) -> None:
    decision_id = _pending_decision(demo, "submitted")
    at = app_test("manager", page="decision", query={"decision": str(decision_id)})

    button(at, APPROVE).click().run()

    assert not at.exception
    assert any(s.startswith("Closure approved.") for s in _text_of(at.success))
    assert f"approve.{decision_id}" not in [b.key for b in at.button]
    assert at.get("download_button")[-1].key == f"family.{decision_id}"
    sealed = decisions.get_decision(demo.context(), demo.principal("auditor"), decision_id)
    assert sealed.outcome == "approved"
    assert sealed.decided_by == "TM-201"
    assert sealed.hash_seen == sealed.content_hash
    record = reviews.get_review(demo.context(), demo.principal("manager"), demo.ids["submitted"])
    assert record.status == "approved"


def test_an_approval_from_a_page_behind_says_why_and_shows_the_decision_as_stored(
    demo: DemoDatabase,
) -> None:
    decision_id = _pending_decision(demo, "submitted")
    first = app_test("manager", page="decision", query={"decision": str(decision_id)})
    behind = app_test("manager", page="decision", query={"decision": str(decision_id)})
    button(first, APPROVE).click().run()

    button(behind, APPROVE).click().run()

    assert not behind.exception
    assert _text_of(behind.error) == [
        "This decision has already been countersigned, returned or withdrawn."
    ]
    # Read again after the refusal: the approval stored by the first page, no button.
    assert f"approve.{decision_id}" not in [b.key for b in behind.button]
    assert not any(s.startswith("Closure approved.") for s in _text_of(behind.success))
    sealed = decisions.get_decision(demo.context(), demo.principal("auditor"), decision_id)
    assert sealed.outcome == "approved"


def test_returning_needs_a_reason(demo: DemoDatabase) -> None:
    decision_id = _pending_decision(demo, "submitted")
    at = app_test("manager", page="decision", query={"decision": str(decision_id)})
    text_input(at, "Onward support").set_value("Confirm the mentoring start date.")

    button(at, "Return to the caseworker").click()
    at.run()

    assert not at.exception
    # Said in the form, beside the button pressed, with what was typed kept.
    returning = form(at, "Return to the caseworker")
    assert _text_of(returning.error) == ["Write the reason for returning the review."]
    assert _text_of(at.error) == ["Write the reason for returning the review."]
    assert text_input(at, "Onward support").value == "Confirm the mentoring start date."
    record = reviews.get_review(demo.context(), demo.principal("manager"), demo.ids["submitted"])
    assert record.status == "submitted"


def test_a_return_goes_on_to_the_queue_without_drawing_the_decision_again(
    demo: DemoDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Returned in the button's callback: the run after the click goes straight on to the
    queue (a return made during the run drew the whole decision page first)."""
    from closure_readiness.views import decision as decision_page

    decision_id = _pending_decision(demo, "submitted_2")
    at = app_test("manager", page="decision", query={"decision": str(decision_id)})
    text_area(at, RETURN_REASON).set_value("Check the support plan again.")
    drawn: list[int] = []
    draw_report = decision_page._report
    monkeypatch.setattr(
        decision_page,
        "_report",
        lambda report, decision, *, key: (
            drawn.append(decision.id),
            draw_report(report, decision, key=key),
        ),
    )

    button(at, "Return to the caseworker").click().run()

    assert not at.exception
    assert _text_of(at.title) == ["Waiting for me"]
    assert "Returned to the caseworker with your reasons." in _text_of(at.success)
    assert drawn == []


def test_returning_with_reasons_reaches_the_caseworker_at_that_step(demo: DemoDatabase) -> None:
    review_id = demo.ids["submitted_2"]  # CR-DEMO-1005, prepared by "caseworker"
    decision_id = _pending_decision(demo, "submitted_2")
    at = app_test("manager", page="decision", query={"decision": str(decision_id)})

    text_area(at, RETURN_REASON).set_value("Check the support plan again.")
    text_input(at, "Onward support").set_value(
        "Confirm the mentoring start date with the provider."
    )
    button(at, "Return to the caseworker").click()
    at.run()

    assert not at.exception
    assert _text_of(at.title) == ["Waiting for me"]
    assert "Returned to the caseworker with your reasons." in _text_of(at.success)
    assert "CR-DEMO-1005" not in [str(m.value).strip("*") for m in at.markdown]
    record = reviews.get_review(demo.context(), demo.principal("caseworker"), review_id)
    assert record.status == "returned"
    assert record.last_return is not None
    assert record.last_return.overall == "Check the support plan again."
    assert record.last_return.themes == {
        "support": "Confirm the mentoring start date with the provider."
    }

    worker = app_test("caseworker")
    open_step(worker, review_id, "support")
    assert not worker.exception
    warnings = [_unescaped(w) for w in _text_of(worker.warning)]
    assert any(
        w.startswith("**Returned by your manager**") and "Check the support plan again" in w
        for w in warnings
    )
    assert "Your manager asks: Confirm the mentoring start date with the provider." in warnings
    open_step(worker, review_id, "exit")
    assert not any(w.startswith("Your manager asks") for w in _text_of(worker.warning))


def test_granting_an_exception_from_the_queue_resolves_the_finding(demo: DemoDatabase) -> None:
    review_id, _, finding_key = _exception_request(demo, "CR-TEST-2004")
    at = app_test("manager")

    text_area(at, REASON_FOR_EXCEPTION).set_value(
        "The voluntary sector lead wrote the exit plan; no notice needed."
    )
    button(at, "Grant the exception").click()
    at.run()

    assert not at.exception
    assert "Exception granted for CR-TEST-2004." in _text_of(at.success)
    assert _text_of(at.header)[1] == "Exception requests (0)"
    record = reviews.get_review(demo.context(), demo.principal("caseworker"), review_id)
    finding = next(f for f in record.report.findings() if f.key == finding_key)
    assert finding.resolution is Resolution.EXCEPTION
    assert finding.resolved_by == "TM-201"
    assert finding_key not in {f.key for f in record.report.open_blockers}
    assert [r.status for r in record.exception_requests] == ["granted"]


def test_granting_an_exception_needs_a_reason(demo: DemoDatabase) -> None:
    review_id, _, finding_key = _exception_request(demo, "CR-TEST-2005")
    at = app_test("manager")

    button(at, "Grant the exception").click()
    at.run()

    assert _text_of(at.error) == ["Write the reason for your decision."]
    record = reviews.get_review(demo.context(), demo.principal("caseworker"), review_id)
    assert finding_key in {f.key for f in record.report.open_blockers}


def test_a_manager_who_signed_off_is_told_another_manager_must_countersign(
    demo: DemoDatabase,
) -> None:
    # Only caseworkers can sign off, so the case arises when a caseworker who signed off is
    # later made team manager of the same team (an administrator's change of role).
    _, decision_id = _submitted(demo, "CR-TEST-2006")
    staff.update_staff(demo.context(), SYSTEM, "SW-101", role=Role.TEAM_MANAGER)

    at = app_test("caseworker", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    assert _text_of(at.title) == [f"Decision {decision_id}: CR-TEST-2006"]
    assert (
        "You signed this review off yourself, so another manager must countersign it."
        in _text_of(at.info)
    )
    assert f"approve.{decision_id}" not in [b.key for b in at.button]
    assert not at.text_area
    promoted = demo.principal("caseworker")
    sealed = decisions.get_decision(demo.context(), promoted, decision_id)
    with pytest.raises(Refused, match="another manager must countersign"):
        decisions.countersign(demo.context(), promoted, decision_id, hash_seen=sealed.content_hash)
    # The other manager of the team can.
    other = app_test("manager", page="decision", query={"decision": str(decision_id)})
    assert not button(other, APPROVE).disabled


def test_the_decision_page_shows_the_route_and_what_each_passing_check_rested_on(
    demo: DemoDatabase,
) -> None:
    decision_id = _pending_decision(demo, "submitted")  # CR-DEMO-1004: a transfer (RC5)

    at = app_test("manager", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    assert "Closure route: Transfer to another local authority" in _text_of(at.markdown)
    assert "Nothing blocks approval." in _text_of(at.success)
    (rested,) = [e for e in at.expander if str(e.label).startswith("What the passing checks")]
    lines = "\n".join(str(t.value) for t in rested.text)
    assert "route.E003 Transfer not accepted in writing" in lines
    assert "Transfer: receiving authority: Northmoor County Council children's services" in lines
    assert "Lead agency after closure: Another local authority" in lines
    assert "Date last seen alone: " in lines
    assert "Views recorded then: yes" in lines
    # Words, never stored values: no raw codes, ISO dates or JSON.
    assert "another_local_authority" not in lines
    assert not re.search(r"\d{4}-\d{2}-\d{2}", lines)
    assert "{" not in lines
    assert "[" not in lines
    assert any(c.startswith("Not asked on this route (") for c in _text_of(at.caption))


def test_what_a_check_rested_on_is_shown_as_text_never_as_markdown(demo: DemoDatabase) -> None:
    beacon = "![x](http://127.0.0.1:9/beacon.png)"
    document = ready_document("CR-TEST-2103")
    document["answers"]["exit"]["lead_role"] = f"Senior youth worker {beacon}"
    _, decision_id = _submitted_with_document(demo, document)

    at = app_test("manager", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    assert any(
        f"Lead professional (role): Senior youth worker {beacon}" in str(t.value) for t in at.text
    )
    assert [body for body in rendered_markdown(at) if "![" in body] == []


def test_a_decision_sealed_under_older_checks_shows_what_the_current_checks_would_say(
    demo: DemoDatabase,
) -> None:
    review_id = _prepared(demo, ready_document("CR-TEST-2101"))
    decision_id = insert_v1_decision(demo.context(), demo.principal("caseworker"), review_id)

    at = app_test("manager", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    assert any(s.startswith("Integrity verified") for s in _text_of(at.success))
    headings = _headings(at)
    assert headings.index("Readiness report") < headings.index("Under the current checks (2.0.0)")
    assert headings.index("Under the current checks (2.0.0)") < headings.index("Your decision")
    captions = " ".join(_text_of(at.caption))
    assert "The report sealed at sign-off under checks 1.0.0" in captions
    assert "Sign-off possible: 44 of 44 checks pass" in captions
    assert "signed off under checks 1.0.0" in captions
    assert "Nothing blocks approval." in _text_of(at.success)  # as sealed
    warnings = _text_of(at.warning)
    assert any(w.startswith("Under the current checks (2.0.0) this review has") for w in warnings)
    shown = all_text(at)
    assert "exit.E005" in shown  # no review point for the step-down: a 2.0.0 question
    assert "Closure route: Needs met because things changed" in shown
    approve = button(at, APPROVE)
    assert not approve.disabled

    approve.click().run()

    assert not at.exception
    assert any(s.startswith("Closure approved.") for s in _text_of(at.success))
    sealed = decisions.get_decision(demo.context(), demo.principal("auditor"), decision_id)
    assert sealed.outcome == "approved"
    assert sealed.checks_version == "1.0.0"
    assert sealed.hash_seen == sealed.content_hash


def test_an_exception_that_resolves_nothing_is_shown_on_the_decision_page(
    demo: DemoDatabase,
) -> None:
    review_id, request_id, key = _exception_request(demo, "CR-TEST-2102")
    ctx = demo.context()
    decisions.decide_exception(ctx, demo.principal("manager"), request_id, grant=True, reason="Ok.")
    worker = demo.principal("caseworker")
    record = reviews.get_review(ctx, worker, review_id)
    document = record.review.model_dump(mode="json")
    document["answers"]["exit"]["notified"] = ["school", "police", "voluntary"]
    reviews.save_review(
        ctx, worker, review_id, Review.model_validate(document), expected_version=record.version
    )
    decision_id = _signed_off(demo, review_id)

    at = app_test("manager", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    notices = [_unescaped(i) for i in _text_of(at.info) if "exit.E003" in i]
    assert len(notices) == 1
    assert notices[0].startswith(
        "**Exception no longer needed** · [exit.E003 Involved agency not notified of closure]"
        "(reference?check=exit.E003)"
    )
    assert "the gap it covered is closed" in notices[0]
    assert not button(at, APPROVE).disabled
    assert key not in {
        f.key
        for f in decisions.recheck(
            decisions.get_decision(ctx, demo.principal("manager"), decision_id)
        ).findings()
    }


def test_the_demo_seeds_each_state_each_route_and_a_lapsed_exception(
    demo: DemoDatabase,
) -> None:
    ctx, manager = demo.context(), demo.principal("manager")
    seen = {label: reviews.get_review(ctx, manager, rid) for label, rid in demo.ids.items()}
    assert {label: record.status for label, record in seen.items()} == {
        "approved": "approved",
        "approved_2": "approved",
        "returned": "returned",
        "submitted": "submitted",
        "submitted_2": "submitted",
        "draft_parent_only": "draft",
        "draft_remand": "draft",
        "draft_new": "draft",
        "withdrawn": "withdrawn",
        "approved_with_exception": "approved",
        "draft_lapsed_exception": "draft",
        "re_referral": "draft",
    }
    for label in ("approved", "approved_2", "returned", "submitted", "submitted_2"):
        assert seen[label].report.sign_off_possible, label
        assert seen[label].review.schema_version == 2
    assert seen["submitted"].review.case.closure_reason == ClosureReason.RC5
    assert seen["submitted"].report.route == Route.TRANSFER
    assert seen["submitted_2"].report.route == Route.TRANSITION
    assert seen["submitted_2"].review.case.age_on(seen["submitted_2"].report.as_of) == 18

    def open_ids(label: str) -> set[str]:
        return {f.check_id for f in seen[label].report.open_findings}

    # Blocked for a clear reason: nobody but the parent sees change; no plan for release.
    assert {"change.E002", "change.E003", "change.E006"} <= open_ids("draft_parent_only")
    assert {"cause.E002", "cause.W002"} <= open_ids("draft_remand")
    assert open_ids("draft_lapsed_exception") == {"exit.E004"}
    lapsed = seen["draft_lapsed_exception"]
    (finding,) = lapsed.report.open_findings
    assert finding.lapsed.startswith("Exception no longer applies: seen alone on: ")
    assert "→ not recorded" in finding.lapsed
    assert [n.kind for n in lapsed.report.exception_notices] == [NoticeKind.LAPSED]
    assert [r.status for r in lapsed.exception_requests] == ["granted"]


# The auditor's Decisions page


READ_ONLY_BUTTONS = {"page.prev", "page.next", "verify_all", "sign_out"}
"""Buttons an auditor may have on Decisions: paging, verifying the seals, signing out."""


def test_the_auditors_decisions_page_has_no_way_to_change_anything(demo: DemoDatabase) -> None:
    at = app_test("auditor")

    assert not at.exception
    assert _text_of(at.title) == ["Decisions"]
    widgets = _widgets(at)
    kinds = {(w.type, w.key, form) for w, form in widgets}
    outside_form = {(kind, key) for kind, key, form in kinds if form is None}
    inside_form = {(kind, key) for kind, key, form in kinds if form == "decision_filters"}
    assert {form for *_, form in kinds} == {None, "decision_filters"}
    assert {kind for kind, _ in inside_form} <= {
        "text_input",
        "selectbox",
        "date_input",
        "button",
    }
    assert outside_form == {
        ("button", "page.prev"),
        ("button", "page.next"),
        ("button", "verify_all"),
        ("button", "sign_out"),
        ("selectbox", "open_decision"),
        ("download_button", "export.csv"),
        ("download_button", "export.json"),
    }
    labels = [str(getattr(w, "label", "")).lower() for w, _ in widgets]
    for word in ("approve", "return", "grant", "sign off", "countersign", "decline", "withdraw"):
        assert not [label for label in labels if word in label], word
    assert not at.text_area
    assert not at.get("data_editor")


def test_searching_a_word_finds_the_decision_that_holds_it(demo: DemoDatabase) -> None:
    _, decision_id = _submitted(
        demo, "CR-TEST-2007", shows="Seen trampolining with his cousins every Saturday."
    )
    at = app_test("auditor")
    before = _events(demo, "decisions_listed")

    _search(at, text="trampolining")

    assert not at.exception
    table = _table(at, "Decision")
    assert list(table["Decision"]) == [decision_id]
    assert list(table["Case"]) == ["CR-TEST-2007"]
    assert _shown(at) == "Showing 1 to 1 of 1"
    assert _events(demo, "decisions_listed") == before + 1
    # A case reference is found the same way.
    _search(at, text="CR-DEMO-1010")
    assert set(_table(at, "Decision")["Case"]) == {"CR-DEMO-1010"}
    # Nothing matches: an empty list, said in words.
    _search(at, text="xylophone")
    assert _shown(at) == "Showing 0 to 0 of 0"
    assert not at.get("page_link")


def test_filtering_by_status_shows_only_that_status(demo: DemoDatabase) -> None:
    at = app_test("auditor")
    everything = set(_table(at, "Decision")["Status"])
    assert everything == {"Approved", "Signed off, waiting for countersignature", "Returned"}

    _search(at, status="approved")

    table = _table(at, "Decision")
    assert set(table["Status"]) == {"Approved"}
    assert set(table["Case"]) == SEEDED_APPROVED
    _search(at, status="returned")
    assert set(_table(at, "Decision")["Case"]) == {"CR-DEMO-1003"}


def test_an_unchanged_search_is_not_listed_again(demo: DemoDatabase) -> None:
    before = _events(demo, "decisions_listed")
    at = app_test("auditor")
    assert _events(demo, "decisions_listed") == before + 1  # the first list shown

    at.run()
    _search(at)  # the same filters as shown
    assert _events(demo, "decisions_listed") == before + 1
    _search(at, status="approved")
    assert _events(demo, "decisions_listed") == before + 2


def test_the_auditors_decision_detail_shows_integrity_and_the_audit_trail(
    demo: DemoDatabase,
) -> None:
    decision_id = _decision_ids(demo)["CR-DEMO-1010"][0]

    at = app_test("auditor", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    assert _text_of(at.title) == [f"Decision {decision_id}: CR-DEMO-1010"]
    assert any(s.startswith("Integrity verified") for s in _text_of(at.success))
    headings = _headings(at)
    assert headings.index("Readiness report") < headings.index("Answers and evidence")
    assert headings.index("Answers and evidence") < headings.index("Audit trail")
    trail = _table(at, "What")
    # The manager's decision says which it was (it read "decided" before).
    assert {"signed off", "closure approved (countersigned)", "decision viewed"} <= set(
        trail["What"]
    )
    assert "decided" not in set(trail["What"])
    resolved = [str(m.value) for m in at.markdown if "exit.E003" in str(m.value)]
    assert resolved
    assert resolved[0].startswith("**Resolved by exception**")
    # Read-only: documents to download, nothing to decide with.
    assert {(w.type, w.key) for w, _ in _widgets(at)} == {
        ("button", "sign_out"),
        ("download_button", f"pdf.{decision_id}"),
        ("download_button", f"family.{decision_id}"),
    }


def test_the_trail_names_each_decision_by_its_outcome() -> None:
    from closure_readiness.views.decision import action_words

    assert action_words("decided", {"outcome": "returned"}) == "returned to the caseworker"
    assert action_words("decided", {"outcome": "approved"}) == "closure approved (countersigned)"
    assert action_words("review_withdrawn", {}) == "review withdrawn"


def test_every_auditor_view_of_a_decision_is_an_audit_event(demo: DemoDatabase) -> None:
    decision_id = _decision_ids(demo)["CR-DEMO-1001"][0]
    before = _events(demo, "decision_viewed", decision_id)

    app_test("auditor", page="decision", query={"decision": str(decision_id)})
    assert _events(demo, "decision_viewed", decision_id) == before + 1
    second = app_test("auditor", page="decision", query={"decision": str(decision_id)})
    assert _events(demo, "decision_viewed", decision_id) == before + 2
    # Interacting on the same visit does not count again...
    second.run()
    assert _events(demo, "decision_viewed", decision_id) == before + 2
    # ...but leaving for the list and coming back is another view.
    open_page(second, "decisions")
    open_page(second, "decision", query={"decision": str(decision_id)})
    assert _events(demo, "decision_viewed", decision_id) == before + 3


def test_a_session_keeps_only_the_decision_it_shows_and_lets_it_go_on_leaving(
    demo: DemoDatabase,
) -> None:
    """Each decision a session opened stayed in its state for as long as it was signed in: an
    auditor reading a hundred decisions held a hundred, and the server's memory grew."""
    from closure_readiness.service.auditing import DecisionDetail
    from closure_readiness.views.pages import SHOWN_DECISION

    ids = _decision_ids(demo)
    first, second = ids["CR-DEMO-1001"][0], ids["CR-DEMO-1002"][0]
    at = app_test("auditor", page="decision", query={"decision": str(first)})
    open_page(at, "decision", query={"decision": str(second)})

    assert _text_of(at.title) == [f"Decision {second}: CR-DEMO-1002"]
    kept = [value for value in at.session_state.values() if isinstance(value, DecisionDetail)]
    assert len(kept) == 1
    assert at.session_state[SHOWN_DECISION].decision.id == second

    open_page(at, "decisions")
    assert SHOWN_DECISION not in at.session_state


def test_a_deep_link_opens_the_decision_directly(demo: DemoDatabase) -> None:
    decision_id = _decision_ids(demo)["CR-DEMO-1002"][0]
    at = app_test("auditor", run=False)
    at.query_params["decision"] = str(decision_id)
    at.run()
    at.switch_page(PAGE_SCRIPTS["decision"])

    at.run()

    assert not at.exception
    assert _text_of(at.title) == [f"Decision {decision_id}: CR-DEMO-1002"]
    for raw in ("", None):
        open_page(at, "decision", query={"decision": raw} if raw is not None else {})
        assert _text_of(at.info) == ["Choose a decision from the list first."]
    for raw in ("abc", "-1"):  # an address naming no decision (issue 11, item 14)
        open_page(at, "decision", query={"decision": raw})
        assert _text_of(at.error) == ["There is no such decision."]
    open_page(at, "decision", query={"decision": "999999"})
    assert _text_of(at.error) == ["There is no decision 999999 that you can see."]


def test_the_decisions_list_links_to_the_chosen_decision(demo: DemoDatabase) -> None:
    at = app_test("auditor")
    _search(at, text="CR-DEMO-1010")
    chosen = selectbox(at, "Open a decision").value

    link = at.get("page_link")[0]

    assert link.proto.label == "Open the decision record"
    assert f"decision={chosen}" in link.proto.query_string


# Learning and downloads


def test_the_learning_page_shows_the_exception_granted_in_the_seed(demo: DemoDatabase) -> None:
    at = app_test("auditor", page="learning")

    assert not at.exception
    assert _text_of(at.title) == ["Learning"]
    by_check = next(
        f.value for f in at.dataframe if list(f.value.columns) == ["Check", "Exceptions"]
    )
    assert dict(zip(by_check["Check"], by_check["Exceptions"], strict=True)) == {
        "exit.E003 Involved agency not notified of closure": 1
    }
    reasons = _table(at, "Reason")
    assert "Please check the onward support before we close." in set(reasons["Reason"])
    assert not [w for w, _ in _widgets(at) if w.key != "sign_out"]


def test_the_decision_record_pdf_is_built_and_its_export_recorded(demo: DemoDatabase) -> None:
    decision_id = _decision_ids(demo)["CR-DEMO-1010"][0]
    auditor = demo.principal("auditor")
    before = _events(demo, "decision_record_exported", decision_id)

    data = auditing.decision_record_pdf(demo.context(), auditor, decision_id)

    assert data.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "CR-DEMO-1010" in text
    assert "Page 1 of" in text
    assert _events(demo, "decision_record_exported", decision_id) == before + 1
    with pytest.raises(NotFound):
        auditing.decision_record_pdf(demo.context(), demo.principal("manager2"), decision_id)


def test_the_filtered_export_is_built_and_recorded(demo: DemoDatabase) -> None:
    auditor = demo.principal("auditor")
    before = _events(demo, "decisions_exported")

    data = auditing.export_decisions(
        demo.context(), auditor, DecisionQuery(status="approved"), fmt="csv"
    )

    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert {row["case_reference"] for row in rows} == SEEDED_APPROVED
    assert _events(demo, "decisions_exported") == before + 1
    as_json = auditing.export_decisions(
        demo.context(), auditor, DecisionQuery(text="CR-DEMO-1003"), fmt="json"
    )
    assert "CR-DEMO-1003" in as_json.decode("utf-8")
    assert _events(demo, "decisions_exported") == before + 2
