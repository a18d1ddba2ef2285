"""Withdrawing a review: from the caseworker's and the manager's lists (views/withdraw.py), with
a reason, out of every working list, and kept in the audit trail and the auditor's list.

AppTest runs the real app against a copy of the seeded demo data; the service-level tests at
the end use the workflow fixtures (a real database, no mocks).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from app_support import (
    DemoDatabase,
    all_text,
    app_test,
    as_seen,
    button,
    form,
    open_page,
    open_step,
    text_area,
)
from closure_readiness.service import decisions, reviews
from closure_readiness.service.context import Context, InvalidInput, NotAllowed, Refused
from closure_readiness.views.withdraw import opener_key
from workflow_fixtures import (
    Team,
    finding_key,
    prepare,
    submit,
    unnotified_review,
)

# Helpers


def _listed(at: AppTest) -> list[str]:
    """Case references of the cards in a list page, as the reader sees them."""
    return [as_seen(str(m.value)) for m in at.markdown if as_seen(str(m.value)).startswith("CR-")]


def _openers(at: AppTest) -> set[str]:
    """Keys of the "Withdraw" expanders on the page: where withdrawing is offered. The form
    inside is drawn only once one is opened."""
    return {str(e.key) for e in at.expander if str(e.label).startswith("Withdraw")}


def _withdraw(at: AppTest, review_id: int, case_reference: str, reason: str) -> AppTest:
    at.session_state[opener_key(review_id)] = True  # the worker opens it: a rerun
    at.run()
    confirm = f"Confirm withdrawal of {case_reference}"
    text_area(form(at, confirm), "Reason for withdrawing (required)").set_value(reason)
    return button(at, confirm).click().run()


def _status(demo: DemoDatabase, review_id: int) -> str:
    conn = sqlite3.connect(demo.path)
    try:
        return str(
            conn.execute("SELECT status FROM reviews WHERE id = ?", [review_id]).fetchone()[0]
        )
    finally:
        conn.close()


def _withdrawal_events(path: Path, review_id: int) -> list[tuple[str, dict[str, Any]]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT actor, detail FROM audit_events WHERE review_id = ? AND action = ? "
            "ORDER BY seq",
            [review_id, "review_withdrawn"],
        ).fetchall()
    finally:
        conn.close()
    return [(actor, json.loads(detail)) for actor, detail in rows]


def _leaves(node: Any) -> Iterator[Any]:
    if isinstance(node, Block):
        for child in node.children.values():
            yield from _leaves(child)
    else:
        yield node


def _success(at: AppTest) -> list[str]:
    return [as_seen(str(element.value)) for element in at.success]


# The caseworker


def test_a_caseworker_withdraws_their_own_draft_from_my_reviews(demo: DemoDatabase) -> None:
    review_id = demo.ids["draft_parent_only"]  # CR-DEMO-1006, SW-101's draft
    at = app_test("caseworker")
    assert "CR-DEMO-1006" in _listed(at)

    _withdraw(at, review_id, "CR-DEMO-1006", "The family moved to another county last week.")

    assert not at.exception
    assert [str(t.value) for t in at.title] == ["My reviews"]
    assert _success(at) == [
        "Review of CR-DEMO-1006 withdrawn. It has left the working lists; the review and your "
        "reason are kept in the audit trail."
    ]
    assert "CR-DEMO-1006" not in _listed(at)
    assert _status(demo, review_id) == "withdrawn"
    assert _withdrawal_events(demo.path, review_id) == [
        ("SW-101", {"reason": "The family moved to another county last week."})
    ]
    # Gone for good from the list: the flash does not come back on the next visit.
    open_page(at, "my_reviews")
    assert "CR-DEMO-1006" not in _listed(at)
    assert not at.success


def test_an_empty_reason_is_explained_beside_the_field_and_withdraws_nothing(
    demo: DemoDatabase,
) -> None:
    review_id = demo.ids["draft_parent_only"]
    at = app_test("caseworker")

    _withdraw(at, review_id, "CR-DEMO-1006", "   ")

    assert not at.exception
    leaves = [
        (leaf.type, str(getattr(leaf, "value", "")))
        for leaf in _leaves(form(at, "Confirm withdrawal of CR-DEMO-1006"))
    ]
    kinds = [kind for kind, _ in leaves]
    field = kinds.index("text_area")
    assert leaves[field + 1] == ("error", "Write the reason for withdrawing the review.")
    assert _status(demo, review_id) == "draft"
    assert "CR-DEMO-1006" in _listed(at)
    assert not at.success


def test_an_approved_review_offers_no_withdrawal(demo: DemoDatabase) -> None:
    at = app_test("caseworker")

    assert opener_key(demo.ids["approved"]) not in _openers(at)
    assert opener_key(demo.ids["draft_parent_only"]) in _openers(at)


def test_a_withdrawn_review_is_not_in_the_caseworkers_list(demo: DemoDatabase) -> None:
    at = app_test("caseworker2")  # SW-102 withdrew CR-DEMO-1009 when the demo was seeded

    assert not at.exception
    assert "CR-DEMO-1009" not in all_text(at)
    assert "CR-DEMO-1004" in _listed(at)


def test_a_caseworker_cannot_withdraw_a_colleagues_review(demo: DemoDatabase) -> None:
    colleague_review = demo.ids["submitted"]  # CR-DEMO-1004, SW-102's sign-off
    at = app_test("caseworker")

    assert "CR-DEMO-1004" not in all_text(at)
    assert opener_key(colleague_review) not in _openers(at)
    # Nor on the review itself, where the control is drawn for whoever opens it.
    control = AppTest.from_function(
        _control_for, args=(str(demo.path), colleague_review, "caseworker")
    )
    control.run()
    assert not control.exception
    assert not control.expander
    assert not control.text_area
    # And the service refuses it whatever the page shows.
    with pytest.raises(NotAllowed):
        reviews.withdraw(
            demo.context(), demo.principal("caseworker"), colleague_review, reason="Not mine."
        )
    assert _status(demo, colleague_review) == "submitted"


def _control_for(db_path: str, review_id: int, subject: str) -> None:
    """A page holding only the withdraw control for `review_id`, as `subject` sees it."""
    from pathlib import Path

    import streamlit as st

    from closure_readiness.service import reviews, staff
    from closure_readiness.service.context import Context
    from closure_readiness.views.withdraw import withdraw_control

    ctx = Context(Path(db_path))
    principal = staff.identify(ctx, issuer="https://sign-in.test.invalid", subject=subject)
    st.session_state["principal"] = principal
    record = reviews.get_review(ctx, principal, review_id)
    withdraw_control(record, principal)


def test_the_control_on_a_review_page_is_collapsed_and_labelled_for_this_review(
    demo: DemoDatabase,
) -> None:
    review_id = demo.ids["draft_parent_only"]
    control = AppTest.from_function(_control_for, args=(str(demo.path), review_id, "caseworker"))
    control.run()

    assert not control.exception
    assert [str(e.label) for e in control.expander] == ["Withdraw this review"]
    assert not control.expander[0].proto.expanded
    assert not control.text_area  # the form is drawn once the worker opens it

    control.session_state[opener_key(review_id)] = True
    control.run()

    assert [str(t.label) for t in control.text_area] == ["Reason for withdrawing (required)"]


# The team manager


def test_a_manager_withdraws_a_team_members_submitted_review(demo: DemoDatabase) -> None:
    review_id = demo.ids["submitted"]  # CR-DEMO-1004, signed off by SW-102
    decision_id = reviews.get_review(
        demo.context(), demo.principal("manager"), review_id
    ).pending_decision_id
    assert decision_id is not None
    at = app_test("manager", page="team_reviews")
    assert "CR-DEMO-1004" in _listed(at)

    _withdraw(at, review_id, "CR-DEMO-1004", "New missing episode on Friday: the case stays open.")

    assert not at.exception
    assert [str(t.value) for t in at.title] == ["Team reviews"]
    assert _success(at) == [
        "Review of CR-DEMO-1004 withdrawn. It has left the working lists; the review and your "
        "reason are kept in the audit trail."
    ]
    assert "CR-DEMO-1004" not in _listed(at)
    # Out of the queue too.
    open_page(at, "queue")
    assert "CR-DEMO-1004" not in all_text(at)
    assert _withdrawal_events(demo.path, review_id) == [
        ("TM-201", {"reason": "New missing episode on Friday: the case stays open."})
    ]
    # The sealed sign-off stays, shown to the auditor as withdrawn, with the reason.
    sealed = decisions.get_decision(demo.context(), demo.principal("auditor"), decision_id)
    assert sealed.outcome == "withdrawn"
    assert sealed.reasons == {"overall": "New missing episode on Friday: the case stays open."}
    auditor = app_test("auditor", page="decision", query={"decision": str(decision_id)})
    assert not auditor.exception
    shown = all_text(auditor)
    assert "Withdrawn by Demo team manager (North), TM-201" in shown
    assert "Reason for withdrawing: New missing episode on Friday: the case stays open." in shown
    assert "review withdrawn" in str(auditor.dataframe[-1].value["What"].tolist())


def test_a_manager_of_another_team_has_no_way_to_withdraw_norths_reviews(
    demo: DemoDatabase,
) -> None:
    at = app_test("manager2", page="team_reviews")

    assert not at.exception
    assert not _openers(at)


# The service


def test_withdrawing_a_review_withdraws_its_pending_exception_requests(
    ctx: Context, team: Team
) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    reviews.request_exception(ctx, team.worker, review_id, finding_key=key, reason="Lead wrote it.")
    assert len(decisions.queue(ctx, team.manager).exception_requests) == 1

    reviews.withdraw(ctx, team.worker, review_id, reason="The case stays open.")

    assert decisions.queue(ctx, team.manager).exception_requests == []
    record = reviews.get_review(ctx, team.manager, review_id)
    assert [request.status for request in record.exception_requests] == ["withdrawn"]
    conn = sqlite3.connect(ctx.db_path)
    try:
        actions = [
            row[0]
            for row in conn.execute(
                "SELECT action FROM audit_events WHERE review_id = ? ORDER BY seq", [review_id]
            )
        ]
    finally:
        conn.close()
    assert actions[-2:] == ["exception_request_withdrawn", "review_withdrawn"]


def test_a_withdrawal_reason_must_be_short_and_printable(ctx: Context, team: Team) -> None:
    review_id, _ = submit(ctx, team.worker)

    with pytest.raises(InvalidInput, match="at most 4000 characters"):
        reviews.withdraw(ctx, team.worker, review_id, reason="x" * 4001)
    with pytest.raises(InvalidInput, match="invisible control character"):
        reviews.withdraw(ctx, team.worker, review_id, reason="Moved\x07 away")
    assert reviews.get_review(ctx, team.worker, review_id).status == "submitted"


def test_withdrawing_twice_is_refused_in_plain_words(ctx: Context, team: Team) -> None:
    review_id, _ = submit(ctx, team.worker)
    reviews.withdraw(ctx, team.manager, review_id, reason="Stays open.")

    with pytest.raises(Refused, match=r"^This review has already been withdrawn\.$"):
        reviews.withdraw(ctx, team.worker, review_id, reason="Again.")


# On the review itself


def test_the_caseworker_withdraws_from_the_reviews_task_list(demo: DemoDatabase) -> None:
    review_id = demo.ids["draft_parent_only"]
    at = app_test("caseworker")
    open_step(at, review_id, "tasks")
    assert opener_key(review_id) in _openers(at)

    _withdraw(at, review_id, "CR-DEMO-1006", "Closed in error: the family asked for early help.")

    assert not at.exception
    assert _status(demo, review_id) == "withdrawn"
    assert [str(t.value) for t in at.title] == ["My reviews"]


def test_a_manager_reading_a_submitted_review_can_withdraw_it_there(demo: DemoDatabase) -> None:
    review_id = demo.ids["submitted"]
    at = app_test("manager")
    open_step(at, review_id, "tasks")

    assert opener_key(review_id) in _openers(at)
