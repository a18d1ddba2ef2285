"""Who may do what: every use case against every role, on a real database.

Each case runs on its own copy of one prepared database, so an allowed call changes nothing
another case sees. A refused call must leave the database as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import (
    SYSTEM,
    Context,
    NotAllowed,
    NotFound,
    Principal,
    Refused,
    Role,
    ServiceError,
)
from workflow_fixtures import (
    ISSUER,
    Team,
    add_team,
    approve,
    copy_context,
    disable,
    finding_key,
    held_open,
    make_context,
    prepare,
    prepare_ready,
    ready_review,
    sign,
    subject_of,
    submit,
    unnotified_review,
)


@dataclass(frozen=True)
class World:
    """A North team with one review in each state the use cases need."""

    ctx: Context
    team: Team
    draft: int
    """A ready draft of the North worker."""
    gap: int
    """A draft of the North worker with an overridable blocker (exit.E003)."""
    gap_key: str
    requested: int
    """A draft whose exception request is waiting for the manager."""
    request_id: int
    submitted: int
    decision_id: int
    """The sign-off of `submitted`, waiting for a countersignature."""

    def moved_to(self, folder: Path) -> World:
        return World(
            copy_context(self.ctx, folder),
            self.team,
            self.draft,
            self.gap,
            self.gap_key,
            self.requested,
            self.request_id,
            self.submitted,
            self.decision_id,
        )


@pytest.fixture(scope="module")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Every workflow state for the role matrix, built once per module."""
    ctx = make_context(tmp_path_factory.mktemp("roles-template"))
    team = add_team(ctx)
    draft = prepare_ready(ctx, team.worker, "CR-ROLE-0001")
    gap = prepare(ctx, team.worker, unnotified_review("CR-ROLE-0002"))
    requested = prepare(ctx, team.worker, unnotified_review("CR-ROLE-0003"))
    request_id = reviews.request_exception(
        ctx,
        team.worker,
        requested,
        finding_key=finding_key(ctx, team.worker, requested, "exit.E003"),
        reason="The youth worker leads after closure.",
    )
    submitted, decision_id = submit(ctx, team.worker, "CR-ROLE-0004")
    return World(
        ctx,
        team,
        draft,
        gap,
        finding_key(ctx, team.worker, gap, "exit.E003"),
        requested,
        request_id,
        submitted,
        decision_id,
    )


@pytest.fixture
def world(world_template: World, tmp_path: Path) -> Iterator[World]:
    world = world_template.moved_to(tmp_path)
    with held_open(world.ctx):
        yield world


# Roles ---------------------------------------------------------------------------------------

ROLES: dict[str, Callable[[World], Principal]] = {
    "allocated caseworker": lambda w: w.team.worker,
    "caseworker of the team": lambda w: w.team.colleague,
    "caseworker of another team": lambda w: w.team.south_worker,
    "team manager": lambda w: w.team.manager,
    "manager of another team": lambda w: w.team.south_manager,
    "auditor": lambda w: w.team.auditor,
    "disabled caseworker": lambda w: _disabled(w, w.team.worker),
    "disabled team manager": lambda w: _disabled(w, w.team.manager),
    "administrator": lambda w: SYSTEM,
}


def _disabled(world: World, who: Principal) -> Principal:
    """Disable the account, then act with the principal the session still holds."""
    disable(world.ctx, who)
    return who


# Use cases -----------------------------------------------------------------------------------


def _save(w: World, p: Principal) -> Any:
    record = reviews.get_review(w.ctx, w.team.worker, w.draft)
    changed = record.review.model_copy(update={"rationales": {"exit.W001": "A note."}})
    return reviews.save_review(w.ctx, p, w.draft, changed, expected_version=record.version)


def _sign_off(w: World, p: Principal) -> Any:
    seen = reviews.get_review(w.ctx, w.team.worker, w.draft).content_hash
    return reviews.sign_off(w.ctx, p, w.draft, seen_hash=seen, attested=True)


def _countersign(w: World, p: Principal) -> Any:
    # Read the seal directly: viewing it through the service would itself be an audit event.
    conn = sqlite3.connect(w.ctx.db_path)
    try:
        (seen,) = conn.execute(
            "SELECT content_hash FROM decisions WHERE id = ?", [w.decision_id]
        ).fetchone()
    finally:
        conn.close()
    return decisions.countersign(w.ctx, p, w.decision_id, hash_seen=seen)


CALLS: dict[str, Callable[[World, Principal], Any]] = {
    "start_review": lambda w, p: reviews.start_review(w.ctx, p, ready_review("CR-ROLE-0099").case),
    "get_review": lambda w, p: reviews.get_review(w.ctx, p, w.draft),
    "list_reviews": lambda w, p: reviews.list_reviews(w.ctx, p),
    "save_review": _save,
    "sign_off": _sign_off,
    "withdraw": lambda w, p: reviews.withdraw(w.ctx, p, w.draft, reason="No longer needed."),
    "request_exception": lambda w, p: reviews.request_exception(
        w.ctx, p, w.gap, finding_key=w.gap_key, reason="The youth worker leads."
    ),
    "queue": lambda w, p: decisions.queue(w.ctx, p),
    "get_decision": lambda w, p: decisions.get_decision(w.ctx, p, w.decision_id),
    "countersign": _countersign,
    "return_review": lambda w, p: decisions.return_review(
        w.ctx, p, w.decision_id, overall="Please add the start date."
    ),
    "decide_exception": lambda w, p: decisions.decide_exception(
        w.ctx, p, w.request_id, grant=True, reason="The voluntary lead wrote the plan."
    ),
    "add_staff": lambda w, p: staff.add_staff(
        w.ctx,
        p,
        staff_id="SW-N9",
        issuer=ISSUER,
        subject="subject-sw-n9",
        display_name="New caseworker",
        role=Role.CASEWORKER,
        team="North",
    ),
    "list_staff": lambda w, p: staff.list_staff(w.ctx, p),
    "update_staff": lambda w, p: staff.update_staff(
        w.ctx, p, w.team.colleague.staff_id, team="South"
    ),
}

ALLOWED = None
Outcome = type[ServiceError] | None

_ROLE_NAMES = list(ROLES)


def _row(*outcomes: Outcome) -> dict[str, Outcome]:
    assert len(outcomes) == len(_ROLE_NAMES)
    return dict(zip(_ROLE_NAMES, outcomes, strict=True))


# Columns: allocated caseworker, caseworker of the team, caseworker of another team,
# team manager, manager of another team, auditor, disabled caseworker, disabled team manager,
# administrator.
A, NA, NF = ALLOWED, NotAllowed, NotFound
EXPECTED: dict[str, dict[str, Outcome]] = {
    "start_review": _row(A, A, A, NA, NA, NA, NA, NA, NA),
    "get_review": _row(A, A, NF, A, NF, A, NA, NA, NF),
    "list_reviews": _row(A, A, A, A, A, NA, NA, NA, NA),
    "save_review": _row(A, NA, NF, NA, NF, NA, NA, NA, NF),
    "sign_off": _row(A, NA, NF, NA, NF, NA, NA, NA, NF),
    "withdraw": _row(A, NA, NF, A, NF, NA, NA, NA, NF),
    "request_exception": _row(A, NA, NF, NA, NF, NA, NA, NA, NF),
    "queue": _row(NA, NA, NA, A, A, NA, NA, NA, NA),
    "get_decision": _row(A, A, NF, A, NF, A, NA, NA, NF),
    "countersign": _row(NA, NA, NA, A, NF, NA, NA, NA, NA),
    "return_review": _row(NA, NA, NA, A, NF, NA, NA, NA, NA),
    "decide_exception": _row(NA, NA, NA, A, NF, NA, NA, NA, NA),
    "add_staff": _row(NA, NA, NA, NA, NA, NA, NA, NA, A),
    "list_staff": _row(NA, NA, NA, NA, NA, NA, NA, NA, A),
    "update_staff": _row(NA, NA, NA, NA, NA, NA, NA, NA, A),
}

READS = {"get_review", "list_reviews", "queue", "list_staff"}


def _snapshot(ctx: Context) -> list[Any]:
    """Everything a refused call must leave as it was (audit events, rows, statuses)."""
    conn = sqlite3.connect(ctx.db_path)
    try:
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in (
                "staff",
                "reviews",
                "review_versions",
                "evidence",
                "decisions",
                "outcomes",
                "exception_requests",
                "audit_events",
            )
        ]
    finally:
        conn.close()


def test_every_use_case_has_an_expectation_for_every_role() -> None:
    assert set(EXPECTED) == set(CALLS)
    assert all(set(row) == set(ROLES) for row in EXPECTED.values())


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("call", list(CALLS))
def test_role_matrix(world: World, call: str, role: str) -> None:
    principal = ROLES[role](world)
    expected = EXPECTED[call][role]
    before = _snapshot(world.ctx)

    if expected is ALLOWED:
        CALLS[call](world, principal)
        if call in READS:
            assert _snapshot(world.ctx) == before
        else:
            assert _snapshot(world.ctx) != before
    else:
        with pytest.raises(ServiceError) as refusal:
            CALLS[call](world, principal)
        assert type(refusal.value) is expected, refusal.value.message
        assert _snapshot(world.ctx) == before


# Explicit cases ------------------------------------------------------------------------------


def test_a_caseworker_cannot_countersign_their_own_sign_off(world: World) -> None:
    with pytest.raises(NotAllowed):
        _countersign(world, world.team.worker)

    assert decisions.get_decision(world.ctx, world.team.manager, world.decision_id).outcome == (
        "submitted"
    )


def test_a_signer_promoted_to_manager_still_cannot_countersign(world: World) -> None:
    promoted = staff.update_staff(
        world.ctx, SYSTEM, world.team.worker.staff_id, role=Role.TEAM_MANAGER
    ).principal()

    with pytest.raises(Refused):
        _countersign(world, promoted)


def test_a_manager_cannot_grant_an_exception_on_a_review_of_their_own(world: World) -> None:
    # A manager who prepared the review as a caseworker cannot then decide its exception.
    ctx, team = world.ctx, world.team
    staff.update_staff(ctx, SYSTEM, team.worker.staff_id, role=Role.TEAM_MANAGER)
    promoted = staff.identify(ctx, issuer=ISSUER, subject=subject_of(team.worker.staff_id))

    with pytest.raises(Refused):
        decisions.decide_exception(ctx, promoted, world.request_id, grant=True, reason="Mine.")


WRITES: dict[str, Callable[[World, Principal], Any]] = {
    name: call for name, call in CALLS.items() if name not in READS | {"get_decision"}
}


@pytest.mark.parametrize("call", list(WRITES))
def test_an_auditor_can_write_nothing(world: World, call: str) -> None:
    before = _snapshot(world.ctx)

    with pytest.raises((NotAllowed, NotFound)):
        WRITES[call](world, world.team.auditor)

    assert _snapshot(world.ctx) == before


def test_an_auditor_viewing_a_decision_is_recorded(world: World) -> None:
    decisions.get_decision(world.ctx, world.team.auditor, world.decision_id)

    conn = sqlite3.connect(world.ctx.db_path)
    try:
        last = conn.execute(
            "SELECT actor, action, decision_id FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    assert last == (world.team.auditor.staff_id, "decision_viewed", world.decision_id)


def test_a_disabled_worker_cannot_sign_off_with_an_old_session(world: World) -> None:
    disable(world.ctx, world.team.worker)

    with pytest.raises(NotAllowed):
        _sign_off(world, world.team.worker)


def test_a_moved_worker_cannot_act_with_the_old_team(world: World) -> None:
    staff.update_staff(world.ctx, SYSTEM, world.team.worker.staff_id, team="South")

    with pytest.raises(NotAllowed):
        _save(world, world.team.worker)


def test_another_team_sees_none_of_the_reviews(world: World) -> None:
    assert reviews.list_reviews(world.ctx, world.team.south_worker, mine=False) == []
    assert reviews.list_reviews(world.ctx, world.team.south_manager, mine=False) == []
    assert decisions.queue(world.ctx, world.team.south_manager).submitted == []
    assert decisions.queue(world.ctx, world.team.south_manager).exception_requests == []


def test_the_team_manager_sees_the_teams_reviews_and_queue(world: World) -> None:
    listed = {r.id for r in reviews.list_reviews(world.ctx, world.team.manager, mine=False)}
    queue = decisions.queue(world.ctx, world.team.manager)

    assert listed == {world.draft, world.gap, world.requested, world.submitted}
    assert [item.decision_id for item in queue.submitted] == [world.decision_id]
    assert [item.request.id for item in queue.exception_requests] == [world.request_id]


def test_a_caseworker_lists_only_their_own_reviews_by_default(world: World) -> None:
    assert reviews.list_reviews(world.ctx, world.team.colleague) == []
    assert len(reviews.list_reviews(world.ctx, world.team.colleague, mine=False)) == 4


def test_identify_returns_the_principal_of_an_active_member(world: World) -> None:
    principal = staff.identify(
        world.ctx, issuer=ISSUER, subject=subject_of(world.team.worker.staff_id)
    )

    assert principal == world.team.worker


def test_identify_refuses_an_unknown_identity(world: World) -> None:
    with pytest.raises(NotAllowed):
        staff.identify(world.ctx, issuer=ISSUER, subject="subject-nobody")
    with pytest.raises(NotAllowed):
        staff.identify(
            world.ctx,
            issuer="https://other-issuer.invalid",
            subject=subject_of(world.team.worker.staff_id),
        )


def test_identify_refuses_a_disabled_identity(world: World) -> None:
    disable(world.ctx, world.team.worker)

    with pytest.raises(NotAllowed):
        staff.identify(world.ctx, issuer=ISSUER, subject=subject_of(world.team.worker.staff_id))


def test_a_re_enabled_member_is_identified_again(world: World) -> None:
    disable(world.ctx, world.team.worker)
    staff.update_staff(world.ctx, SYSTEM, world.team.worker.staff_id, active=True)

    assert (
        staff.identify(world.ctx, issuer=ISSUER, subject=subject_of(world.team.worker.staff_id))
        == world.team.worker
    )


def test_approval_through_the_matrix_world_is_possible(world: World) -> None:
    # The world's pending decision is a real one: the team manager can approve it.
    approve(world.ctx, world.team.manager, world.decision_id)
    second = sign(world.ctx, world.team.worker, world.draft)

    assert reviews.get_review(world.ctx, world.team.worker, world.submitted).status == "approved"
    assert decisions.get_decision(world.ctx, world.team.manager, second).outcome == "submitted"
