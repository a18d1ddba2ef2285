"""Who may see and do what, where the red team found gaps (issue 11, item 6): no blank team
reads every team, `system` is not a staff id, `teams()` answers only for an active account and
only with the teams its role may see, a caseworker reads (never changes) a colleague's review
in the same team, and the manager who granted an exception does not countersign the review
relying on it (separation of duties, a setting, on by default)."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from closure_readiness.service import auditing, decisions, reviews, staff
from closure_readiness.service.auditing import DecisionQuery
from closure_readiness.service.context import (
    SYSTEM,
    Context,
    InvalidInput,
    NotAllowed,
    NotFound,
    Principal,
    Refused,
    Role,
)
from closure_readiness.settings import Settings
from workflow_fixtures import (
    ISSUER,
    NORTH,
    SOUTH,
    Team,
    approve,
    grant,
    prepare,
    prepare_ready,
    sign,
    subject_of,
    submit,
    unnotified_review,
)

# Staff accounts -------------------------------------------------------------------------------


@pytest.mark.parametrize("staff_id", ["system", "SYSTEM", "System", "sYsTeM"])
def test_the_command_line_operators_id_is_reserved(ctx: Context, staff_id: str) -> None:
    with pytest.raises(InvalidInput, match="reserved"):
        staff.add_staff(
            ctx,
            SYSTEM,
            staff_id=staff_id,
            issuer=ISSUER,
            subject="subject-new",
            display_name="New starter",
            role=Role.AUDITOR,
        )


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.TEAM_MANAGER])
@pytest.mark.parametrize("blank", ["", " ", "\t", "   "])
def test_a_caseworker_or_manager_is_never_given_a_blank_team(
    ctx: Context, team: Team, role: Role, blank: str
) -> None:
    with pytest.raises(InvalidInput, match="need a team"):
        staff.add_staff(
            ctx,
            SYSTEM,
            staff_id="NEW-1",
            issuer=ISSUER,
            subject="subject-new-1",
            display_name="New starter",
            role=role,
            team=blank,
        )
    who = team.manager if role is Role.TEAM_MANAGER else team.worker
    with pytest.raises(InvalidInput, match="need a team"):
        staff.update_staff(ctx, SYSTEM, who.staff_id, team=blank)
    with pytest.raises(InvalidInput, match="need a team"):
        staff.update_staff(ctx, SYSTEM, team.auditor.staff_id, role=role)


def test_a_team_name_with_a_hidden_direction_character_is_refused(ctx: Context, team: Team) -> None:
    with pytest.raises(InvalidInput, match="team"):
        staff.update_staff(ctx, SYSTEM, team.manager.staff_id, team="North\u202e")


def _blank_team_manager(ctx: Context) -> Principal:
    """A manager stored with a blank team (written before the rule, or by hand)."""
    conn = sqlite3.connect(ctx.db_path)
    with conn:
        conn.execute(
            "INSERT INTO staff (id, issuer, subject, display_name, role, team, active, "
            "created_at) VALUES ('TM-X1', ?, 'subject-tm-x1', 'Blank team manager', "
            "'team_manager', ' ', 1, '2025-05-01T09:00:00+00:00')",
            [ISSUER],
        )
    conn.close()
    return Principal("TM-X1", "Blank team manager", Role.TEAM_MANAGER, " ")


def test_a_manager_stored_with_a_blank_team_reads_no_team(ctx: Context, team: Team) -> None:
    _, north = submit(ctx, team.worker, "CR-2025-0101")
    _, south = submit(ctx, team.south_worker, "CR-2025-0102")
    blank = _blank_team_manager(ctx)

    with pytest.raises(NotAllowed, match="team"):
        auditing.list_decisions(ctx, blank, DecisionQuery())
    with pytest.raises(NotAllowed, match="team"):
        auditing.export_decisions(ctx, blank, DecisionQuery(), fmt="csv")
    with pytest.raises(NotAllowed, match="team"):
        auditing.teams(ctx, blank)
    for decision_id in (north, south):
        with pytest.raises((NotAllowed, NotFound)):
            auditing.decision_detail(ctx, blank, decision_id)
    with pytest.raises(NotAllowed, match="team"):
        staff.identify(ctx, issuer=ISSUER, subject="subject-tm-x1")


def test_an_empty_team_filter_is_not_every_team(ctx: Context, team: Team) -> None:
    submit(ctx, team.worker, "CR-2025-0103")

    page = auditing.list_decisions(ctx, team.auditor, DecisionQuery(team=""))

    assert page.rows == []
    assert len(auditing.list_decisions(ctx, team.auditor, DecisionQuery()).rows) == 1


# teams() ---------------------------------------------------------------------------------------


def test_teams_are_the_ones_the_role_may_see(ctx: Context, team: Team) -> None:
    submit(ctx, team.worker, "CR-2025-0104")
    submit(ctx, team.south_worker, "CR-2025-0105")

    assert auditing.teams(ctx, team.auditor) == [NORTH, SOUTH]
    assert auditing.teams(ctx, SYSTEM) == [NORTH, SOUTH]
    assert auditing.teams(ctx, team.manager) == [NORTH]
    assert auditing.teams(ctx, team.south_manager) == [SOUTH]
    assert auditing.teams(ctx, team.worker) == [NORTH]


def test_teams_asks_whether_the_account_is_still_active(ctx: Context, team: Team) -> None:
    submit(ctx, team.worker, "CR-2025-0106")
    staff.update_staff(ctx, SYSTEM, team.auditor.staff_id, active=False)

    with pytest.raises(NotAllowed, match="disabled"):
        auditing.teams(ctx, team.auditor)


# A colleague's review --------------------------------------------------------------------------


def test_a_caseworker_reads_a_colleagues_review_in_the_team_but_cannot_change_it(
    ctx: Context, team: Team
) -> None:
    review_id = prepare_ready(ctx, team.worker, "CR-2025-0107")

    record = reviews.get_review(ctx, team.colleague, review_id)
    assert record.worker_id == team.worker.staff_id
    with pytest.raises(NotAllowed):
        reviews.save_review(
            ctx, team.colleague, review_id, record.review, expected_version=record.version
        )
    with pytest.raises(NotAllowed):
        reviews.sign_off(
            ctx, team.colleague, review_id, seen_hash=record.content_hash, attested=True
        )
    with pytest.raises(NotFound):
        reviews.get_review(ctx, team.south_worker, review_id)


# Separation of duties: an exception and the countersignature relying on it ---------------------


def _second_north_manager(ctx: Context) -> Principal:
    return staff.add_staff(
        ctx,
        SYSTEM,
        staff_id="TM-N2",
        issuer=ISSUER,
        subject="subject-tm-n2",
        display_name="North team manager two",
        role=Role.TEAM_MANAGER,
        team=NORTH,
    ).principal()


def _excepted_sign_off(ctx: Context, team: Team) -> int:
    """A review whose sign-off relies on an exception the North manager granted."""
    review_id = prepare(ctx, team.worker, unnotified_review("CR-2025-0108"))
    grant(ctx, team.worker, team.manager, review_id, "exit.E003")
    return sign(ctx, team.worker, review_id)


def test_the_manager_who_granted_an_exception_does_not_countersign_it(
    ctx: Context, team: Team
) -> None:
    decision_id = _excepted_sign_off(ctx, team)
    sealed = decisions.get_decision(ctx, team.manager, decision_id)

    with pytest.raises(Refused, match="another manager"):
        decisions.countersign(ctx, team.manager, decision_id, hash_seen=sealed.content_hash)
    assert decisions.countersign_refusal(ctx, team.manager, sealed)
    assert decisions.get_decision(ctx, team.manager, decision_id).outcome == "submitted"

    other = _second_north_manager(ctx)
    assert decisions.countersign_refusal(ctx, other, sealed) is None
    approve(ctx, other, decision_id)
    assert decisions.get_decision(ctx, other, decision_id).outcome == "approved"


def test_the_manager_who_granted_an_exception_may_still_return_it(ctx: Context, team: Team) -> None:
    decision_id = _excepted_sign_off(ctx, team)

    decisions.return_review(ctx, team.manager, decision_id, overall="The school was not told.")

    assert decisions.get_decision(ctx, team.manager, decision_id).outcome == "returned"


def test_separation_of_duties_can_be_turned_off(ctx: Context, team: Team) -> None:
    decision_id = _excepted_sign_off(ctx, team)
    relaxed = dataclasses.replace(ctx, separate_exception_and_countersign=False)
    sealed = decisions.get_decision(ctx, team.manager, decision_id)

    assert decisions.countersign_refusal(relaxed, team.manager, sealed) is None
    approve(relaxed, team.manager, decision_id)

    assert decisions.get_decision(ctx, team.manager, decision_id).outcome == "approved"


def test_separation_of_duties_is_on_unless_set_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOSURE_SEPARATE_EXCEPTION_AND_COUNTERSIGN", raising=False)
    assert Settings().separate_exception_and_countersign is True
    monkeypatch.setenv("CLOSURE_SEPARATE_EXCEPTION_AND_COUNTERSIGN", "false")
    assert Settings().separate_exception_and_countersign is False


def test_a_sign_off_without_exceptions_is_countersigned_as_before(ctx: Context, team: Team) -> None:
    _, decision_id = submit(ctx, team.worker, "CR-2025-0109")
    sealed = decisions.get_decision(ctx, team.manager, decision_id)

    assert decisions.countersign_refusal(ctx, team.manager, sealed) is None
    approve(ctx, team.manager, decision_id)


def test_the_decision_page_offers_the_granting_manager_no_approve_button(
    ctx: Context, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app_support import all_text, app_test, as_seen, labels, point_app_at

    decision_id = _excepted_sign_off(ctx, team)
    point_app_at(monkeypatch, ctx.db_path)

    at = app_test(
        subject_of(team.manager.staff_id), page="decision", query={"decision": str(decision_id)}
    )

    assert not at.exception
    assert "Approve the closure (countersign)" not in labels(at, "button")
    assert "another manager of the team must countersign it" in as_seen(all_text(at))
    assert "Or return it to the caseworker" in as_seen(all_text(at))
