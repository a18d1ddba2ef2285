"""A returned review withdrawn and started again for the same case stays linked to the return
(issue 11, item 7): the new review's start names the earlier return in the audit trail, and the
manager deciding the new sign-off sees the reasons it was returned with."""

from __future__ import annotations

import json
import sqlite3

import pytest

from closure_readiness.service import auditing, decisions, reviews
from closure_readiness.service.context import Context
from workflow_fixtures import (
    Team,
    approve,
    clock_of,
    prepare_ready,
    sign,
    subject_of,
    submit,
)

CASE = "CR-2025-0201"


def _returned_and_withdrawn(ctx: Context, team: Team, case: str = CASE) -> int:
    """A sign-off returned with reasons overall, for a step and for a finding, then withdrawn."""
    review_id, decision_id = submit(ctx, team.worker, case)
    decisions.return_review(
        ctx,
        team.manager,
        decision_id,
        overall="The school was not told of the closure.",
        themes={"exit": "Say who the family can call."},
        findings={"exit.W001:0123456789ab": "Check the last visit."},
    )
    clock_of(ctx).advance(days=1)
    reviews.withdraw(ctx, team.worker, review_id, reason="Starting again with a clean review.")
    return review_id


def _started_detail(ctx: Context, review_id: int) -> dict[str, object]:
    conn = sqlite3.connect(ctx.db_path)
    try:
        (detail,) = conn.execute(
            "SELECT detail FROM audit_events WHERE action = 'review_started' AND review_id = ?",
            [review_id],
        ).fetchone()
    finally:
        conn.close()
    result: dict[str, object] = json.loads(detail)
    return result


def test_the_new_review_names_the_earlier_return_in_the_audit_trail(
    ctx: Context, team: Team
) -> None:
    earlier = _returned_and_withdrawn(ctx, team)

    later = prepare_ready(ctx, team.worker, CASE)

    assert _started_detail(ctx, later)["follows_return_of"] == earlier


def test_the_manager_sees_the_earlier_return_reasons_in_the_queue_and_on_the_decision(
    ctx: Context, team: Team
) -> None:
    earlier = _returned_and_withdrawn(ctx, team)
    later = prepare_ready(ctx, team.worker, CASE)
    decision_id = sign(ctx, team.worker, later)

    [item] = decisions.queue(ctx, team.manager).submitted
    assert item.earlier_return is not None
    assert item.earlier_return.review_id == earlier
    assert item.earlier_return.note.overall == "The school was not told of the closure."

    detail = auditing.decision_detail(ctx, team.manager, decision_id)
    assert detail.earlier_return is not None
    assert detail.earlier_return.review_id == earlier
    lines = detail.earlier_return.reason_lines()
    assert "The school was not told of the closure." in lines
    assert any("Say who the family can call." in line for line in lines)
    assert any("Check the last visit." in line for line in lines)


def test_a_review_withdrawn_without_a_return_is_not_linked(ctx: Context, team: Team) -> None:
    review_id = prepare_ready(ctx, team.worker, CASE)
    reviews.withdraw(ctx, team.worker, review_id, reason="Opened on the wrong case.")

    later = prepare_ready(ctx, team.worker, CASE)
    decision_id = sign(ctx, team.worker, later)

    assert "follows_return_of" not in _started_detail(ctx, later)
    assert auditing.decision_detail(ctx, team.manager, decision_id).earlier_return is None


def test_a_second_withdrawal_does_not_shake_the_link_off(ctx: Context, team: Team) -> None:
    earlier = _returned_and_withdrawn(ctx, team)
    middle = prepare_ready(ctx, team.worker, CASE)
    reviews.withdraw(ctx, team.worker, middle, reason="Again.")

    later = prepare_ready(ctx, team.worker, CASE)

    assert _started_detail(ctx, later)["follows_return_of"] == earlier


def test_an_approved_closure_in_between_ends_the_link(ctx: Context, team: Team) -> None:
    _returned_and_withdrawn(ctx, team)
    _, decision_id = submit(ctx, team.worker, CASE)
    approve(ctx, team.manager, decision_id)
    clock_of(ctx).advance(days=400)

    later = prepare_ready(ctx, team.worker, CASE)

    assert "follows_return_of" not in _started_detail(ctx, later)


def test_the_earlier_return_is_shown_on_the_decision_page_text(ctx: Context, team: Team) -> None:
    _returned_and_withdrawn(ctx, team)
    later = prepare_ready(ctx, team.worker, CASE)
    decision_id = sign(ctx, team.worker, later)

    detail = auditing.decision_detail(ctx, team.manager, decision_id)

    assert detail.earlier_return is not None
    assert detail.earlier_return.heading().startswith(
        "An earlier review of this case was returned and withdrawn"
    )


def test_the_decision_page_shows_the_manager_the_earlier_return(
    ctx: Context, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app_support import all_text, app_test, as_seen, point_app_at

    _returned_and_withdrawn(ctx, team)
    later = prepare_ready(ctx, team.worker, CASE)
    decision_id = sign(ctx, team.worker, later)
    point_app_at(monkeypatch, ctx.db_path)

    at = app_test(
        subject_of(team.manager.staff_id), page="decision", query={"decision": str(decision_id)}
    )

    assert not at.exception
    text = as_seen(all_text(at))
    assert "An earlier review of this case was returned and withdrawn" in text
    assert "The school was not told of the closure." in text
    assert "Say who the family can call." in text


def test_the_queue_tells_the_manager_a_sign_off_follows_a_withdrawn_return(
    ctx: Context, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app_support import all_text, app_test, as_seen, point_app_at

    _returned_and_withdrawn(ctx, team)
    sign(ctx, team.worker, prepare_ready(ctx, team.worker, CASE))
    point_app_at(monkeypatch, ctx.db_path)

    at = app_test(subject_of(team.manager.staff_id), page="queue")

    assert not at.exception
    assert "Follows a returned review of this case that was withdrawn" in as_seen(all_text(at))


def test_a_queue_of_several_cases_names_each_earlier_return_as_its_decision_page_does(
    ctx: Context, team: Team
) -> None:
    """The queue reads every row's earlier return at once (two queries, not one per row):
    each is the one the decision's own page finds, and a case without one has none."""
    linked = {case: _returned_and_withdrawn(ctx, team, case) for case in ("CR-2025-0211", CASE)}
    unlinked = prepare_ready(ctx, team.worker, "CR-2025-0212")
    reviews.withdraw(ctx, team.worker, unlinked, reason="Opened on the wrong case.")
    waiting = {
        case: sign(ctx, team.worker, prepare_ready(ctx, team.worker, case))
        for case in ("CR-2025-0211", CASE, "CR-2025-0212", "CR-2025-0213")
    }

    items = {item.case_reference: item for item in decisions.queue(ctx, team.manager).submitted}

    assert set(items) == set(waiting)
    for case, decision_id in waiting.items():
        on_page = auditing.decision_detail(ctx, team.manager, decision_id).earlier_return
        in_queue = items[case].earlier_return
        assert in_queue == on_page, case
        expected = linked.get(case)
        assert (in_queue.review_id if in_queue else None) == expected, case
