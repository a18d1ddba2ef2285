"""The manager's queue gives each item its context: an exception request links to the review at
the finding's step and names the check; a manager's own work (a sign-off or an exception request
they made as a caseworker before being promoted) is set apart, with nothing to act on."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app_support import (
    DemoDatabase,
    all_text,
    app_test,
    as_seen,
    labels,
    ready_document,
)
from closure_readiness.checks import REGISTRY
from closure_readiness.core.review import Review
from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import SYSTEM, Role
from closure_readiness.views.findings import step_of_check


def _requested(
    demo: DemoDatabase, document: dict[str, Any], check_id: str, subject: str = "caseworker"
) -> tuple[int, int]:
    """A draft holding `document` and its worker's exception request for the open blocker of
    `check_id`: (review id, request id)."""
    ctx, worker = demo.context(), demo.principal(subject)
    review = Review.model_validate(document)
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    record = reviews.get_review(ctx, worker, review_id)
    gap = next(f for f in record.report.open_blockers if f.check_id == check_id)
    request_id = reviews.request_exception(
        ctx, worker, review_id, finding_key=gap.key, reason="Agreed at the strategy meeting."
    )
    return review_id, request_id


def _unnotified(reference: str) -> dict[str, Any]:
    """exit.E003: the voluntary sector lead was not told of the closure (answered at Exit)."""
    document = ready_document(reference)
    document["answers"]["exit"]["notified"] = ["school", "police"]
    return document


def _order_unnamed(reference: str) -> dict[str, Any]:
    """route.E002: an order in force but not named (a case fact, answered at Case details)."""
    document = ready_document(reference)
    document["case"]["orders_in_force"] = True
    document["case"]["orders"] = []
    return document


def _links(at: AppTest) -> list[tuple[str, str, str]]:
    """Every page link on the page: (page, query string, label)."""
    return [
        (str(link.proto.page), str(link.proto.query_string), str(link.proto.label))
        for link in at.get("page_link")
    ]


def _headers(at: AppTest) -> list[str]:
    return [str(header.value) for header in at.header]


# Exception requests link to the review at the finding's step


@pytest.mark.parametrize(
    ("make", "check_id", "step", "step_title"),
    [
        (_unnotified, "exit.E003", "exit", "Exit strategy"),
        (_order_unnamed, "route.E002", "case", "Case details"),
    ],
)
def test_an_exception_request_links_to_the_review_at_the_findings_step(
    demo: DemoDatabase, make: Any, check_id: str, step: str, step_title: str
) -> None:
    assert step_of_check(check_id) == step
    review_id, _ = _requested(demo, make("CR-TEST-3001"), check_id)

    at = app_test("manager")

    assert not at.exception
    review_links = [link for link in _links(at) if link[0] == "review"]
    assert review_links == [
        ("review", f"review={review_id}&step={step}", f"Open CR-TEST-3001 at {step_title}")
    ]


def test_an_exception_request_names_the_check_by_its_title_and_id(demo: DemoDatabase) -> None:
    _requested(demo, _unnotified("CR-TEST-3002"), "exit.E003")

    at = app_test("manager")

    title = REGISTRY["exit.E003"].title
    cards = [as_seen(str(m.value)) for m in at.markdown]
    assert f"CR-TEST-3002 · {title} (exit.E003)" in cards


# A promoted caseworker's own work


def test_a_promoted_workers_own_sign_off_is_set_apart_with_nothing_to_act_on(
    demo: DemoDatabase,
) -> None:
    # SW-101 signed off CR-DEMO-1005 as a caseworker, then was made the team's manager.
    own_decision = reviews.get_review(
        demo.context(), demo.principal("manager"), demo.ids["submitted_2"]
    ).pending_decision_id
    others_decision = reviews.get_review(
        demo.context(), demo.principal("manager"), demo.ids["submitted"]
    ).pending_decision_id
    staff.update_staff(demo.context(), SYSTEM, "SW-101", role=Role.TEAM_MANAGER)

    at = app_test("caseworker")

    assert not at.exception
    assert _headers(at) == [
        "Sign-offs to countersign (1)",
        "Exception requests (0)",
        "Your own sign-offs (another manager must countersign)",
    ]
    decision_links = [query for page, query, _ in _links(at) if page == "decision"]
    assert decision_links == [f"decision={others_decision}"]
    assert f"decision={own_decision}" not in str(_links(at))
    shown = all_text(at)
    assert "CR-DEMO-1005" in shown
    assert "You signed this off; another manager of the team must countersign it." in shown
    # Through the service: the sign-off is the manager's own, not theirs to countersign.
    queue = decisions.queue(demo.context(), demo.principal("caseworker"))
    assert [item.decision_id for item in queue.submitted] == [others_decision]
    assert [item.decision_id for item in queue.own_sign_offs] == [own_decision]
    # The other manager of the team still has it to countersign.
    other = decisions.queue(demo.context(), demo.principal("manager"))
    assert own_decision in [item.decision_id for item in other.submitted]
    assert other.own_sign_offs == []


def test_a_promoted_workers_own_exception_request_has_no_decision_form(
    demo: DemoDatabase,
) -> None:
    review_id, request_id = _requested(demo, _unnotified("CR-TEST-3003"), "exit.E003")
    staff.update_staff(demo.context(), SYSTEM, "SW-101", role=Role.TEAM_MANAGER)

    at = app_test("caseworker")

    assert not at.exception
    assert "Exception requests (0)" in _headers(at)
    assert "Your own exception requests (another manager must decide)" in _headers(at)
    assert "Your reason (recorded and reported to auditors)" not in labels(at, "text_area")
    assert "Grant the exception" not in labels(at, "button")
    assert "CR-TEST-3003" in all_text(at)
    # Still linked, to read it at the finding's step.
    assert ("review", f"review={review_id}&step=exit", "Open CR-TEST-3003 at Exit strategy") in (
        _links(at)
    )
    queue = decisions.queue(demo.context(), demo.principal("caseworker"))
    assert queue.exception_requests == []
    assert [p.request.id for p in queue.own_exception_requests] == [request_id]
    other = decisions.queue(demo.context(), demo.principal("manager"))
    assert [p.request.id for p in other.exception_requests] == [request_id]


def test_a_manager_with_no_own_work_sees_no_such_section(demo: DemoDatabase) -> None:
    at = app_test("manager")

    assert not at.exception
    assert not [h for h in _headers(at) if h.startswith("Your own")]
