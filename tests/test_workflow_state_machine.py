"""The workflow as a state machine: random sequences of use cases against a real database.

A small model predicts what each step should do (allowed, or which refusal); after every step
the database itself is read to check what must always hold:

- nothing is approved unless its sealed review, re-checked with its own as-of date and
  thresholds, allows sign-off;
- the person who countersigned never signed, nor granted an exception the decision relies
  on (separation of duties, on by default: the model expects that refusal);
- every seal matches its content, and the audit chain is whole (storage.integrity.verify);
- nothing sealed ever changes or disappears;
- every review's status is what the model expects.

Run with --hypothesis-show-statistics to see how often each path (approval, return,
exception, re-referral...) was reached. Both engines: the machine, the walk of the table and the
raw statements run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from closure_readiness.checks import DEFAULT_THRESHOLDS, evaluate
from closure_readiness.core import workflow
from closure_readiness.core.dates import add_months
from closure_readiness.core.review import Review
from closure_readiness.core.workflow import (
    TRANSITIONS,
    Action,
    ReviewStatus,
    Transition,
    transition,
)
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
from closure_readiness.service.records import SealedDecision
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import verify
from workflow_fixtures import (
    ISSUER,
    NORTH,
    Team,
    approve,
    blocked_review,
    caution_review,
    clock_of,
    make_engine_context,
    prepare,
    prepare_ready,
    private_copy,
    raw_connection,
    ready_document,
    ready_review,
    refused_errors,
    rows_as_dicts,
    sign,
    unnotified_review,
)
from workflow_fixtures import add_team as add_test_team

pytestmark = pytest.mark.both_engines

OPEN = ("draft", "submitted", "returned")
EDITABLE = ("draft", "returned")
KINDS = ("ready", "blocked", "caution", "explained", "no_voluntary", "no_police")
RATIONALE = "Contacts were confirmed by phone with the family; the plan lists the duty number."


def content(kind: str, reference: str) -> Review:
    """The review content of each kind the machine saves."""
    if kind == "ready":
        return ready_review(reference)
    if kind == "blocked":
        return blocked_review(reference)
    if kind == "caution":
        return caution_review(reference)
    if kind == "explained":
        return caution_review(reference, rationale=RATIONALE)
    return unnotified_review(reference, missing=kind.removeprefix("no_"))


def _key(review: Review, check_id: str) -> str:
    report = evaluate(review, as_of=review.case.proposed_closure_on, thresholds=DEFAULT_THRESHOLDS)
    return next(f.key for f in report.open_blockers if f.check_id == check_id)


# Finding keys do not depend on the case reference: the same gap has the same key everywhere.
KEYS = {
    "voluntary": _key(unnotified_review(missing="voluntary"), "exit.E003"),
    "police": _key(unnotified_review(missing="police"), "exit.E003"),
    "change": _key(blocked_review(), "change.E001"),
}


@dataclass
class ReviewModel:
    id: int
    case_reference: str
    worker: Principal
    status: str = "draft"
    kind: str = "empty"
    granted: set[str] = field(default_factory=set)
    """Agencies whose exit.E003 finding a manager has excepted (kept across saves)."""
    pending: int | None = None
    """The decision waiting for an outcome."""

    @property
    def sign_off_possible(self) -> bool:
        if self.kind in ("ready", "explained"):
            return True
        if self.kind.startswith("no_"):
            return self.kind.removeprefix("no_") in self.granted
        return False


def _profile_examples() -> int:
    if os.environ.get("HYPOTHESIS_PROFILE", "dev") == "dev":
        return 25
    return settings().max_examples


def _template_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


Staffed = tuple[Context, Team, Principal]
_STAFFED: dict[str, Staffed] = {}


def _staffed(engine: str, request: pytest.FixtureRequest) -> Staffed:
    """A database with the staff only, made once per engine and copied for each run of the
    machine (hypothesis runs many in one test: a fixture would be one database for all)."""
    if engine not in _STAFFED:
        _STAFFED[engine] = _new_staffed(engine, request)
    return _STAFFED[engine]


def _new_staffed(engine: str, request: pytest.FixtureRequest) -> Staffed:
    ctx = make_engine_context(engine, _template_folder("workflow-machine-template-"), request)
    team = add_test_team(ctx)
    second = staff.add_staff(
        ctx,
        SYSTEM,
        staff_id="TM-N2",
        issuer=ISSUER,
        subject="subject-tm-n2",
        display_name="Second North team manager",
        role=Role.TEAM_MANAGER,
        team=NORTH,
    )
    return ctx, team, second.principal()


class WorkflowMachine(RuleBasedStateMachine):
    def __init__(self, staffed: Staffed) -> None:
        super().__init__()
        template, team, second = staffed
        self.folder = Path(tempfile.mkdtemp(prefix="workflow-machine-"))
        self.exits = ExitStack()
        self.ctx = self.exits.enter_context(private_copy(template, self.folder))
        self.clock = clock_of(self.ctx)
        # Held open for the whole run: each use case's connection then closes without being
        # the last one, so SQLite does not checkpoint the WAL after every step (much faster).
        # It reads rows around the service, on either engine.
        self.keep_open = self.exits.enter_context(raw_connection(self.ctx))
        self.workers = [team.worker, team.colleague]
        self.managers = {
            "manager": team.manager,
            "second manager": second,
            "manager of another team": team.south_manager,
        }
        self.reviews: list[ReviewModel] = []
        self.decisions: dict[int, ReviewModel] = {}
        self.approvals: dict[str, list[tuple[dt.datetime, int]]] = {}
        """Approved closures by case: when countersigned, and the review."""
        self.next_case = 1
        self.sealed_seen: dict[int, tuple[str, str]] = {}
        self.outcomes_seen: dict[int, tuple[str, str, str]] = {}

    def teardown(self) -> None:
        # On PostgreSQL the run's database is dropped, its kept connections closed first: a
        # thorough run would otherwise fill the cluster's connection slots and its disk.
        self.exits.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # Helpers -------------------------------------------------------------------------------

    def _tick(self) -> None:
        """Time passes between steps, as it does between clicks.

        Without it, signing off the same content twice in one instant (sign, return, sign
        again unchanged) seals byte-identical records, which the unique seal hash refuses.
        """
        self.clock.advance(seconds=1)

    def _pick(self, index: int, prefer: Callable[[ReviewModel], bool] | None = None) -> ReviewModel:
        """A review by index: among those `prefer` accepts, when given and there are some.

        Preferring reviews where a step can succeed keeps approvals and exceptions common in
        short runs; the plain choice keeps every refusal reachable.
        """
        choices = [m for m in self.reviews if prefer(m)] if prefer else []
        choices = choices or self.reviews
        return choices[index % len(choices)]

    def _save(self, model: ReviewModel, kind: str) -> None:
        record = reviews.get_review(self.ctx, model.worker, model.id)
        reviews.save_review(
            self.ctx,
            model.worker,
            model.id,
            content(kind, model.case_reference),
            expected_version=record.version,
        )
        model.kind = kind

    def _start(self, worker: Principal, reference: str, kind: str) -> ReviewModel:
        review_id = reviews.start_review(self.ctx, worker, ready_review(reference).case)
        model = ReviewModel(review_id, reference, worker)
        self.reviews.append(model)
        self._save(model, kind)
        return model

    def _expected_re_referral(self, reference: str) -> int | None:
        """The approved review a new one links to: the latest, if within twelve months."""
        approvals = self.approvals.get(reference, [])
        if not approvals:
            return None
        approved_at, review_id = max(approvals)
        if self.clock.now.date() > add_months(approved_at.date(), 12):
            return None
        return review_id

    # Rules ---------------------------------------------------------------------------------

    @initialize(kind=st.sampled_from(("ready", "no_voluntary", *KINDS)), then_sign=st.booleans())
    def start_the_first_review(self, kind: str, then_sign: bool) -> None:
        self.start_a_review(0, kind, then_sign)

    @rule(worker=st.integers(0, 1), kind=st.sampled_from(KINDS), then_sign=st.booleans())
    def start_a_review(self, worker: int, kind: str, then_sign: bool = False) -> None:
        self._tick()
        reference = f"CR-SM-{self.next_case:04d}"
        self.next_case += 1
        model = self._start(self.workers[worker], reference, kind)
        if then_sign:
            self._sign(model)

    @precondition(lambda self: self.reviews)
    @rule(index=st.integers(0, 50), worker=st.integers(0, 1))
    def start_another_review_for_the_same_case(self, index: int, worker: int) -> None:
        self._tick()
        reference = self._pick(index).case_reference
        expected = self._expected_re_referral(reference)
        if any(m.case_reference == reference and m.status in OPEN for m in self.reviews):
            with pytest.raises(Refused):
                self._start(self.workers[worker], reference, "ready")
            return
        model = self._start(self.workers[worker], reference, "ready")
        record = reviews.get_review(self.ctx, model.worker, model.id)
        assert record.re_referral_of == expected
        event("re-referral linked" if expected is not None else "new review of a closed case")

    @precondition(lambda self: self.reviews)
    @rule(index=st.integers(0, 50), kind=st.sampled_from(KINDS))
    def save_content(self, index: int, kind: str) -> None:
        self._tick()
        model = self._pick(index)
        if model.status in EDITABLE:
            self._save(model, kind)
        else:
            with pytest.raises(Refused):
                self._save(model, kind)

    @precondition(lambda self: self.reviews)
    @rule(index=st.integers(0, 50))
    def add_a_rationale(self, index: int) -> None:
        self._tick()
        model = self._pick(index)
        if model.status in EDITABLE:
            self._save(model, "explained")
        else:
            with pytest.raises(Refused):
                self._save(model, "explained")

    @precondition(lambda self: self.reviews)
    @rule(
        index=st.integers(0, 50),
        signable=st.booleans(),
        then=st.sampled_from(("wait", "countersign", "return")),
    )
    def sign_off(self, index: int, signable: bool, then: str) -> None:
        """Sign off; then, sometimes, the manager acts straight away (the common path)."""
        self._tick()
        model = self._pick(
            index,
            (lambda m: m.status in EDITABLE and m.sign_off_possible) if signable else None,
        )
        self._sign(model)
        if model.pending is not None and then != "wait":
            self._tick()
            if then == "countersign":
                self._countersign(model.pending, "manager")
            else:
                self._return(model.pending, "manager")

    def _sign(self, model: ReviewModel) -> None:
        """Sign off as the worker, expecting what the model predicts."""
        record = reviews.get_review(self.ctx, model.worker, model.id)
        if model.status in EDITABLE:
            assert record.report.sign_off_possible == model.sign_off_possible
        if model.status in EDITABLE and model.sign_off_possible:
            decision_id = reviews.sign_off(
                self.ctx, model.worker, model.id, seen_hash=record.content_hash, attested=True
            )
            model.status, model.pending = "submitted", decision_id
            self.decisions[decision_id] = model
            event(f"signed off ({model.kind})")
        else:
            with pytest.raises(Refused):
                reviews.sign_off(
                    self.ctx, model.worker, model.id, seen_hash=record.content_hash, attested=True
                )

    def _decision(self, index: int, pending: bool) -> int:
        """A decision by index: among those waiting, when asked and there are some."""
        waiting = sorted(m.pending for m in self.reviews if m.pending is not None)
        choices = waiting if pending and waiting else sorted(self.decisions)
        return choices[index % len(choices)]

    @precondition(lambda self: self.decisions)
    @rule(
        index=st.integers(0, 50),
        pending=st.booleans(),
        who=st.sampled_from(("signer", "manager", "second manager", "manager of another team")),
    )
    def countersign(self, index: int, pending: bool, who: str) -> None:
        self._tick()
        self._countersign(self._decision(index, pending), who)

    def _countersign(self, decision_id: int, who: str) -> None:
        model = self.decisions[decision_id]
        signer = model.worker
        principal = signer if who == "signer" else self.managers[who]
        (seen, excepted) = self.keep_open.execute(
            "SELECT content_hash, exceptions FROM decisions WHERE id = ?", [decision_id]
        ).fetchone()
        expected: type[ServiceError] | None
        if who == "signer":
            expected = NotAllowed
        elif who == "manager of another team":
            expected = NotFound
        elif model.pending != decision_id:
            expected = Refused
        elif who == "manager" and excepted:
            expected = Refused  # separation of duties: "manager" granted every exception here
        else:
            expected = None
        if expected is not None:
            with pytest.raises(expected):
                decisions.countersign(self.ctx, principal, decision_id, hash_seen=seen)
            return
        decisions.countersign(self.ctx, principal, decision_id, hash_seen=seen)
        model.status, model.pending = "approved", None
        event("approved")
        self.approvals.setdefault(model.case_reference, []).append((self.clock.now, model.id))

    @precondition(lambda self: self.decisions)
    @rule(
        index=st.integers(0, 50),
        pending=st.booleans(),
        who=st.sampled_from(("manager", "second manager")),
    )
    def return_to_the_worker(self, index: int, pending: bool, who: str) -> None:
        self._tick()
        self._return(self._decision(index, pending), who)

    def _return(self, decision_id: int, who: str) -> None:
        model = self.decisions[decision_id]
        if model.pending != decision_id:
            with pytest.raises(Refused):
                decisions.return_review(
                    self.ctx, self.managers[who], decision_id, overall="Please look again."
                )
            return
        decisions.return_review(
            self.ctx, self.managers[who], decision_id, overall="Please look again."
        )
        model.status, model.pending = "returned", None
        event("returned")
        record = reviews.get_review(self.ctx, model.worker, model.id)
        assert record.last_return is not None
        assert record.last_return.decision_id == decision_id

    @precondition(lambda self: self.reviews)
    @rule(index=st.integers(0, 50), by_manager=st.booleans())
    def withdraw(self, index: int, by_manager: bool) -> None:
        self._tick()
        model = self._pick(index)
        who = self.managers["manager"] if by_manager else model.worker
        if model.status not in OPEN:
            with pytest.raises(Refused):
                reviews.withdraw(self.ctx, who, model.id, reason="No longer closing.")
            return
        reviews.withdraw(self.ctx, who, model.id, reason="No longer closing.")
        model.status, model.pending = "withdrawn", None
        event("withdrawn")

    @precondition(lambda self: self.reviews)
    @rule(
        index=st.integers(0, 50),
        gap=st.sampled_from(("the one shown", "voluntary", "police", "change")),
        grant=st.booleans(),
        with_gap=st.booleans(),
    )
    def request_and_decide_an_exception(
        self, index: int, gap: str, grant: bool, with_gap: bool
    ) -> None:
        self._tick()
        model = self._pick(
            index,
            (lambda m: m.status in EDITABLE and m.kind.startswith("no_")) if with_gap else None,
        )
        if gap == "the one shown":
            gap = model.kind.removeprefix("no_") if model.kind.startswith("no_") else "voluntary"
        key = KEYS[gap]
        open_gap = model.kind == f"no_{gap}" and gap not in model.granted
        if model.status not in EDITABLE or not open_gap:
            with pytest.raises(Refused):
                reviews.request_exception(
                    self.ctx, model.worker, model.id, finding_key=key, reason="Please except."
                )
            return
        request_id = reviews.request_exception(
            self.ctx, model.worker, model.id, finding_key=key, reason="Please except."
        )
        decisions.decide_exception(
            self.ctx, self.managers["manager"], request_id, grant=grant, reason="Considered."
        )
        if grant:
            model.granted.add(gap)
        event("exception granted" if grant else "exception declined")

    @rule(days=st.sampled_from((0.25, 1, 30, 200, 370)))
    def move_the_clock(self, days: float) -> None:
        self.clock.advance(days=days)

    # Invariants ----------------------------------------------------------------------------

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        return rows_as_dicts(self.keep_open.execute(sql))

    @invariant()
    def nothing_approved_with_an_unresolved_blocker(self) -> None:
        for row in self._rows(
            "SELECT d.*, o.outcome AS approved FROM decisions d "
            "JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'"
        ):
            sealed = SealedDecision.from_rows(row, None)
            assert sealed.report.sign_off_possible
            assert decisions.recheck(sealed).sign_off_possible
            assert json.loads(row["sealed"])["as_of"] == sealed.as_of.isoformat()

    @invariant()
    def the_countersigner_is_never_the_signer(self) -> None:
        for row in self._rows(
            "SELECT d.signed_by, o.decided_by FROM decisions d "
            "JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'"
        ):
            assert row["signed_by"] != row["decided_by"]

    @invariant()
    def every_seal_matches_its_content(self) -> None:
        with reading(self.ctx.db_path) as db:
            report = verify(db)
        assert report.problems == []
        assert report.decisions_checked == len(self.decisions)

    @invariant()
    def nothing_sealed_ever_changes(self) -> None:
        decisions_now = {
            row["id"]: (row["content_hash"], row["sealed"])
            for row in self._rows("SELECT id, content_hash, sealed FROM decisions")
        }
        outcomes_now = {
            row["decision_id"]: (row["outcome"], row["outcome_hash"], row["sealed"])
            for row in self._rows("SELECT decision_id, outcome, outcome_hash, sealed FROM outcomes")
        }
        for decision_id, seen in self.sealed_seen.items():
            assert decisions_now.get(decision_id) == seen
        for decision_id, seen_outcome in self.outcomes_seen.items():
            assert outcomes_now.get(decision_id) == seen_outcome
        self.sealed_seen.update(decisions_now)
        self.outcomes_seen.update(outcomes_now)

    @invariant()
    def every_status_is_as_the_model_expects(self) -> None:
        stored = {row["id"]: row["status"] for row in self._rows("SELECT id, status FROM reviews")}
        assert stored == {model.id: model.status for model in self.reviews}
        for row in self._rows(
            "SELECT r.case_reference, count(*) AS n FROM reviews r "
            "WHERE r.status IN ('draft', 'submitted', 'returned') GROUP BY r.case_reference"
        ):
            assert row["n"] == 1


POSTGRESQL_SHARE = 3
"""A thorough run (CI) tries a third as many sequences on PostgreSQL (at least the 25 of a
development run): a step costs about twice SQLite's there, mostly verify after each one, the
sequences drive the same service, and the whole suite has a time budget."""


def _machine_settings(engine: str) -> settings:
    examples = _profile_examples()
    if engine == "postgresql":
        examples = max(min(examples, 25), examples // POSTGRESQL_SHARE)
    return settings(
        max_examples=examples,
        stateful_step_count=20,
        deadline=None,
        # The explain phase re-runs a failing sequence many times (minutes here); shrinking is
        # enough.
        phases=[phase for phase in Phase if phase is not Phase.explain],
    )


def test_the_workflow_machine_keeps_every_invariant(
    engine: str, request: pytest.FixtureRequest
) -> None:
    staffed = _staffed(engine, request)
    run_state_machine_as_test(lambda: WorkflowMachine(staffed), settings=_machine_settings(engine))


# The transition table, walked -----------------------------------------------------------------
#
# The hypothesis machine above explores sequences; the walk below is exhaustive: for every
# (state, action, role) it drives the service on a review in that state and asserts the move is
# allowed exactly when core.workflow.TRANSITIONS has a row for it, and lands where the row says.
# POLICY is the table as agreed, written out independently: adding a row to TRANSITIONS or
# removing one fails `test_the_table_is_the_agreed_policy`, and a service that stops reading
# the table (or re-states states of its own) fails the walk.

POLICY: dict[tuple[str, str, str], tuple[str, bool]] = {
    # (state, action, role): (next state, own reviews only)
    ("draft", "edit", "caseworker"): ("draft", True),
    ("draft", "request_exception", "caseworker"): ("draft", True),
    ("draft", "decide_exception", "team_manager"): ("draft", False),
    ("draft", "sign_off", "caseworker"): ("submitted", True),
    ("draft", "withdraw", "caseworker"): ("withdrawn", True),
    ("draft", "withdraw", "team_manager"): ("withdrawn", False),
    ("returned", "edit", "caseworker"): ("returned", True),
    ("returned", "request_exception", "caseworker"): ("returned", True),
    ("returned", "decide_exception", "team_manager"): ("returned", False),
    ("returned", "sign_off", "caseworker"): ("submitted", True),
    ("returned", "withdraw", "caseworker"): ("withdrawn", True),
    ("returned", "withdraw", "team_manager"): ("withdrawn", False),
    ("submitted", "countersign", "team_manager"): ("approved", False),
    ("submitted", "return", "team_manager"): ("returned", False),
    ("submitted", "withdraw", "caseworker"): ("withdrawn", True),
    ("submitted", "withdraw", "team_manager"): ("withdrawn", False),
}


def test_the_table_is_the_agreed_policy() -> None:
    table = {
        (row.state.value, row.action.value, row.role.value): (row.to.value, row.own_only)
        for row in TRANSITIONS
    }
    assert len(table) == len(TRANSITIONS), "a (state, action, role) has two rows"
    assert table == POLICY


def _two_gaps(reference: str) -> Review:
    """The ready review with two agencies not told of the closure: two exit.E003 blockers
    (one is asked about in advance, the other is free for a new request)."""
    document = ready_document()
    exit_answers = document["answers"]["exit"]
    exit_answers["notified"] = [
        agency for agency in exit_answers["notified"] if agency not in ("voluntary", "police")
    ]
    document["case"]["case_reference"] = reference
    return Review.model_validate(document)


@dataclass(frozen=True)
class Walked:
    """A review in one state, and what the walk acts on."""

    review_id: int
    """A ready review (for edit, sign-off, withdrawal, countersignature and return)."""
    decision_id: int | None
    """Its latest decision (None for a draft: nothing was ever signed off)."""
    gap_review_id: int
    """A review whose pending exception request is `request_id`."""
    request_id: int
    free_key: str
    """An open overridable gap of the gap review not yet asked about (while it is editable)."""
    worker: Principal
    """The caseworker who prepared both reviews."""


@dataclass(frozen=True)
class WalkTemplate:
    ctx: Context
    team: Team
    admin: Principal
    reviews: dict[ReviewStatus, Walked]


def _walk_review(ctx: Context, team: Team, state: ReviewStatus, number: int) -> Walked:
    worker, manager = team.worker, team.manager
    reference = f"CR-WALK-{number:04d}"
    review_id = prepare_ready(ctx, worker, reference)
    decision_id = None
    if state is not ReviewStatus.DRAFT:
        decision_id = sign(ctx, worker, review_id)
    if state is ReviewStatus.RETURNED:
        decisions.return_review(ctx, manager, decision_id or 0, overall="Look again.")
    if state is ReviewStatus.APPROVED:
        approve(ctx, manager, decision_id or 0)
    if state is ReviewStatus.WITHDRAWN:
        reviews.withdraw(ctx, worker, review_id, reason="No longer closing.")

    gap_reference = f"CR-WALK-{number + 50:04d}"
    if state is ReviewStatus.RETURNED:
        gap_review_id = prepare_ready(ctx, worker, gap_reference)
        gap_decision = sign(ctx, worker, gap_review_id)
        decisions.return_review(ctx, manager, gap_decision, overall="Look again.")
        record = reviews.get_review(ctx, worker, gap_review_id)
        reviews.save_review(
            ctx, worker, gap_review_id, _two_gaps(gap_reference), expected_version=record.version
        )
    else:
        gap_review_id = prepare(ctx, worker, _two_gaps(gap_reference))
    record = reviews.get_review(ctx, worker, gap_review_id)
    asked, free = sorted(f.key for f in record.report.open_blockers if f.check_id == "exit.E003")
    request_id = reviews.request_exception(
        ctx, worker, gap_review_id, finding_key=asked, reason="Please except."
    )
    if not state.editable:
        # Signed off with the request still waiting: the data changed so the gap closed.
        record = reviews.get_review(ctx, worker, gap_review_id)
        reviews.save_review(
            ctx, worker, gap_review_id, ready_review(gap_reference), expected_version=record.version
        )
        gap_decision = sign(ctx, worker, gap_review_id)
        if state is ReviewStatus.APPROVED:
            approve(ctx, manager, gap_decision)
        if state is ReviewStatus.WITHDRAWN:
            reviews.withdraw(ctx, worker, gap_review_id, reason="No longer closing.")
    return Walked(review_id, decision_id, gap_review_id, request_id, free, worker)


_WALK_TEMPLATES: dict[str, WalkTemplate] = {}


def _walk_template(engine: str, request: pytest.FixtureRequest) -> WalkTemplate:
    """One database holding a ready review and a gap review in every state (made once per
    engine and test process)."""
    if engine not in _WALK_TEMPLATES:
        _WALK_TEMPLATES[engine] = _new_walk_template(engine, request)
    return _WALK_TEMPLATES[engine]


def _new_walk_template(engine: str, request: pytest.FixtureRequest) -> WalkTemplate:
    ctx = make_engine_context(engine, _template_folder("workflow-walk-template-"), request)
    team = add_test_team(ctx)
    admin = SYSTEM  # the administrator is the command line, not a member of staff
    walked = {
        state: _walk_review(ctx, team, state, number)
        for number, state in enumerate(ReviewStatus, start=1)
    }
    return WalkTemplate(ctx, team, admin, walked)


def _actor(template: WalkTemplate, role: Role) -> Principal:
    """The member of staff of `role` closest to the review: its own worker, its team's manager."""
    return {
        Role.CASEWORKER: template.team.worker,
        Role.TEAM_MANAGER: template.team.manager,
        Role.AUDITOR: template.team.auditor,
        Role.ADMIN: template.admin,
    }[role]


def _drive(ctx: Context, who: Principal, walked: Walked, action: Action) -> int | None:
    """Take `action` as `who` through the service; returns the review acted on, or None when
    the state offers nothing to act on (no decision to countersign or return)."""
    if action is Action.EDIT:
        record = reviews.get_review(ctx, walked.worker, walked.review_id)
        changed = caution_review(record.case_reference, rationale=RATIONALE)
        reviews.save_review(ctx, who, walked.review_id, changed, expected_version=record.version)
        return walked.review_id
    if action is Action.REQUEST_EXCEPTION:
        reviews.request_exception(
            ctx, who, walked.gap_review_id, finding_key=walked.free_key, reason="Please except."
        )
        return walked.gap_review_id
    if action is Action.DECIDE_EXCEPTION:
        decisions.decide_exception(ctx, who, walked.request_id, grant=False, reason="Considered.")
        return walked.gap_review_id
    if action is Action.SIGN_OFF:
        record = reviews.get_review(ctx, walked.worker, walked.review_id)
        reviews.sign_off(ctx, who, walked.review_id, seen_hash=record.content_hash, attested=True)
        return walked.review_id
    if action is Action.WITHDRAW:
        reviews.withdraw(ctx, who, walked.review_id, reason="No longer closing.")
        return walked.review_id
    if walked.decision_id is None:
        return None
    if action is Action.COUNTERSIGN:
        (seen,) = _one(ctx, "SELECT content_hash FROM decisions WHERE id = ?", walked.decision_id)
        decisions.countersign(ctx, who, walked.decision_id, hash_seen=seen)
        return walked.review_id
    assert action is Action.RETURN
    decisions.return_review(ctx, who, walked.decision_id, overall="Please look again.")
    return walked.review_id


def _drive_or_refuse(ctx: Context, who: Principal, walked: Walked, action: Action) -> None:
    if _drive(ctx, who, walked, action) is None:
        raise Refused("There is nothing to act on in this state.")


def _one(ctx: Context, sql: str, *params: Any) -> tuple[Any, ...]:
    with raw_connection(ctx) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return tuple(row)


def _status(ctx: Context, review_id: int) -> str:
    return str(_one(ctx, "SELECT status FROM reviews WHERE id = ?", review_id)[0])


@pytest.fixture
def walk(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[WalkTemplate, Context]]:
    """The walk's template, and this test's own copy of its database."""
    template = _walk_template(engine, request)
    with private_copy(template.ctx, tmp_path) as ctx:
        clock_of(ctx).advance(hours=1)  # a second sign-off of the same content seals anew
        yield template, ctx


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("action", list(Action), ids=str)
@pytest.mark.parametrize("state", list(ReviewStatus), ids=str)
def test_the_service_allows_exactly_the_rows_of_the_table(
    state: ReviewStatus, action: Action, role: Role, walk: tuple[WalkTemplate, Context]
) -> None:
    template, ctx = walk
    walked = template.reviews[state]
    row = transition(state, action, role)
    assert (row is not None) == ((state.value, action.value, role.value) in POLICY)
    acted_on = walked.gap_review_id if "exception" in action.value else walked.review_id
    if row is None:
        with pytest.raises(ServiceError):
            _drive_or_refuse(ctx, _actor(template, role), walked, action)
        assert _status(ctx, acted_on) == state.value
    else:
        assert _drive(ctx, _actor(template, role), walked, action) == acted_on
        assert _status(ctx, acted_on) == row.to.value


@pytest.mark.parametrize(
    "row",
    [row for row in TRANSITIONS if row.own_only],
    ids=lambda row: f"{row.state}-{row.action}",
)
def test_an_own_only_move_is_refused_to_a_colleague_of_the_same_team(
    row: Transition, walk: tuple[WalkTemplate, Context]
) -> None:
    template, ctx = walk
    assert row.role is Role.CASEWORKER
    with pytest.raises(NotAllowed):
        _drive(ctx, template.team.colleague, template.reviews[row.state], row.action)
    assert reviews.may(
        template.team.worker,
        row.action,
        status=row.state,
        worker_id=template.team.worker.staff_id,
        team=NORTH,
    )
    assert not reviews.may(
        template.team.colleague,
        row.action,
        status=row.state,
        worker_id=template.team.worker.staff_id,
        team=NORTH,
    )


@pytest.mark.parametrize("row", TRANSITIONS, ids=lambda row: f"{row.state}-{row.action}-{row.role}")
def test_every_move_is_refused_outside_the_team(
    row: Transition, walk: tuple[WalkTemplate, Context]
) -> None:
    template, ctx = walk
    outsider = {
        Role.CASEWORKER: template.team.south_worker,
        Role.TEAM_MANAGER: template.team.south_manager,
    }[row.role]
    with pytest.raises(NotFound):
        _drive(ctx, outsider, template.reviews[row.state], row.action)
    assert not reviews.may(
        outsider,
        row.action,
        status=row.state,
        worker_id=outsider.staff_id,
        team=NORTH,
    )


def test_the_one_who_signed_off_is_never_offered_the_countersignature(
    request: pytest.FixtureRequest,
) -> None:
    template = _walk_template("sqlite", request)  # the rule reads no database
    manager = template.team.manager
    offered = {
        "signed by another": reviews.may(
            manager,
            Action.COUNTERSIGN,
            status=ReviewStatus.SUBMITTED,
            worker_id=template.team.worker.staff_id,
            team=NORTH,
            signed_by=template.team.worker.staff_id,
        ),
        "signed by them": reviews.may(
            manager,
            Action.COUNTERSIGN,
            status=ReviewStatus.SUBMITTED,
            worker_id=manager.staff_id,
            team=NORTH,
            signed_by=manager.staff_id,
        ),
    }
    assert offered == {"signed by another": True, "signed by them": False}


def test_the_service_reads_the_table(
    walk: tuple[WalkTemplate, Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Take one row out of the table at run time: the service refuses that move at once."""
    template, ctx = walk
    removed = transition(ReviewStatus.SUBMITTED, Action.WITHDRAW, Role.CASEWORKER)
    assert removed is not None
    monkeypatch.setattr(
        workflow, "TRANSITIONS", tuple(row for row in TRANSITIONS if row is not removed)
    )
    walked = template.reviews[ReviewStatus.SUBMITTED]
    with pytest.raises(Refused):
        _drive(ctx, template.team.worker, walked, Action.WITHDRAW)
    assert _status(ctx, walked.review_id) == "submitted"
    # The manager's row is still there.
    _drive(ctx, template.team.manager, walked, Action.WITHDRAW)
    assert _status(ctx, walked.review_id) == "withdrawn"


# The database's own guard: raw statements that bypass the service.

RAW_MOVES_NOT_REFUSED = {
    ("draft", "withdrawn"),
    ("returned", "withdrawn"),
    ("submitted", "withdrawn"),
    ("submitted", "returned"),
    ("draft", "returned"),
    ("returned", "draft"),
    ("submitted", "draft"),
}
"""Status changes a raw UPDATE of reviews can make: every other one is refused by a trigger
(`reviews_final` from approved or withdrawn; `reviews_approved_needs_countersign` and
`reviews_submitted_needs_decision` into approved or submitted without the sealed record).
Pinned, so that a new trigger or a new row of the table is noticed here."""

NOT_BACKED_BY_TRIGGERS = {("draft", "returned"), ("returned", "draft"), ("submitted", "draft")}
"""Of those, the moves the table forbids: only the service refuses them. None reaches a sealed
record (nothing signed off, countersigned or withdrawn changes), so they are left to it."""


def test_the_moves_only_the_service_refuses_are_the_known_ones() -> None:
    table = {(row.state.value, row.to.value) for row in TRANSITIONS if row.state is not row.to}
    assert RAW_MOVES_NOT_REFUSED - table == NOT_BACKED_BY_TRIGGERS


def _raw(ctx: Context, sql: str, *params: Any) -> None:
    with raw_connection(ctx) as conn:
        conn.execute(sql, params)
        conn.commit()


@pytest.mark.parametrize(
    ("old", "new"),
    [(old, new) for old in ReviewStatus for new in ReviewStatus if old is not new],
    ids=lambda status: str(status),
)
def test_the_triggers_refuse_a_raw_status_change_the_table_forbids(
    old: ReviewStatus, new: ReviewStatus, walk: tuple[WalkTemplate, Context]
) -> None:
    template, ctx = walk
    review_id = template.reviews[old].review_id
    if (old.value, new.value) in RAW_MOVES_NOT_REFUSED:
        _raw(ctx, "UPDATE reviews SET status = ? WHERE id = ?", new.value, review_id)
        assert _status(ctx, review_id) == new.value
        return
    with pytest.raises(refused_errors()):
        _raw(ctx, "UPDATE reviews SET status = ? WHERE id = ?", new.value, review_id)
    assert _status(ctx, review_id) == old.value


@pytest.mark.parametrize("state", [s for s in ReviewStatus if not s.editable], ids=str)
def test_the_triggers_refuse_editing_a_review_that_is_not_editable(
    state: ReviewStatus, walk: tuple[WalkTemplate, Context]
) -> None:
    template, ctx = walk
    review_id = template.reviews[state].review_id
    with pytest.raises(refused_errors()):
        _raw(ctx, "UPDATE reviews SET content = content || ' ' WHERE id = ?", review_id)


@pytest.mark.parametrize("state", [s for s in ReviewStatus if not s.editable], ids=str)
def test_the_triggers_refuse_signing_off_a_review_that_is_not_editable(
    state: ReviewStatus, walk: tuple[WalkTemplate, Context]
) -> None:
    template, ctx = walk
    walked = template.reviews[state]
    assert walked.decision_id is not None
    with pytest.raises(refused_errors(), match="only a draft or returned review"):
        _raw(
            ctx,
            "INSERT INTO decisions (review_id, case_reference, team, closure_reason, signed_by, "
            "signed_at, as_of, checks_version, sign_off_possible, exceptions, cautions, sealed, "
            "content_hash, search_text) SELECT review_id, case_reference, team, closure_reason, "
            "signed_by, signed_at, as_of, checks_version, 1, 0, 0, sealed, ?, '' "
            "FROM decisions WHERE id = ?",
            "f" * 64,
            walked.decision_id,
        )


def test_the_triggers_refuse_a_countersignature_by_the_signer_or_outside_the_role(
    walk: tuple[WalkTemplate, Context],
) -> None:
    template, ctx = walk
    walked = template.reviews[ReviewStatus.SUBMITTED]
    (seen, signer) = _one(
        ctx, "SELECT content_hash, signed_by FROM decisions WHERE id = ?", walked.decision_id
    )
    insert = (
        "INSERT INTO outcomes (decision_id, outcome, decided_by, decided_at, hash_seen, reasons, "
        "sealed, outcome_hash) VALUES (?, 'approved', ?, '2025-06-01T09:00:00+00:00', ?, '{}', "
        "'{}', ?)"
    )
    # The signer, promoted to team manager since, still may not countersign their own sign-off.
    staff.update_staff(ctx, SYSTEM, signer, role=Role.TEAM_MANAGER)
    for who, message in (
        (signer, "the person who signed off cannot countersign"),
        (template.team.colleague.staff_id, "only an active manager of the team"),
        (template.team.south_manager.staff_id, "only an active manager of the team"),
    ):
        with pytest.raises(refused_errors(), match=message):
            _raw(ctx, insert, walked.decision_id, who, seen, "e" * 64)
    assert _status(ctx, walked.review_id) == "submitted"
