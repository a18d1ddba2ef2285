"""Seed a database with demo staff and synthetic cases in every workflow state.

Everything here is invented: case references, staff, evidence. The cases are built from the
example reviews in `examples/`, shifted so that their proposed closure dates sit around today.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from closure_readiness.core.location import Store
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import Agency
from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import SYSTEM, Context, Principal, Role

DEMO_TEAM = "North Adolescent Team"
OTHER_TEAM = "South Adolescent Team"


@dataclass(frozen=True)
class DemoAccount:
    staff_id: str
    subject: str
    display_name: str
    role: Role
    team: str


DEMO_ACCOUNTS = (
    DemoAccount("SW-101", "caseworker", "Demo caseworker (North)", Role.CASEWORKER, DEMO_TEAM),
    DemoAccount(
        "SW-102", "caseworker2", "Second demo caseworker (North)", Role.CASEWORKER, DEMO_TEAM
    ),
    DemoAccount("TM-201", "manager", "Demo team manager (North)", Role.TEAM_MANAGER, DEMO_TEAM),
    DemoAccount("TM-202", "manager2", "Demo team manager (South)", Role.TEAM_MANAGER, OTHER_TEAM),
    DemoAccount("SW-103", "caseworker3", "Demo caseworker (South)", Role.CASEWORKER, OTHER_TEAM),
    DemoAccount("AU-301", "auditor", "Demo auditor", Role.AUDITOR, ""),
    DemoAccount(
        "TM-203", "manager3", "Second demo team manager (North)", Role.TEAM_MANAGER, DEMO_TEAM
    ),
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


def examples_dir() -> Path:
    """The whole-case example reviews: the repository's examples/ folder."""
    return Path(__file__).resolve().parents[3] / "examples"


def shifted(document: Any, days: int) -> Any:
    """A copy of a review document with every date moved by `days` (months for birth month)."""
    if isinstance(document, dict):
        return {key: shifted(value, days) for key, value in document.items()}
    if isinstance(document, list):
        return [shifted(value, days) for value in document]
    if isinstance(document, str) and _DATE.fullmatch(document):
        return (dt.date.fromisoformat(document) + dt.timedelta(days=days)).isoformat()
    if isinstance(document, str) and _MONTH.fullmatch(document):
        year, month = map(int, document.split("-"))
        index = year * 12 + month - 1 + round(days / 30.44)
        return f"{index // 12:04d}-{index % 12 + 1:02d}"
    return document


def _load(name: str, *, reference: str, closure_on: dt.date) -> Review:
    document = json.loads((examples_dir() / name).read_text(encoding="utf-8"))
    current = dt.date.fromisoformat(document["case"]["proposed_closure_on"])
    document = shifted(document, (closure_on - current).days)
    document["case"]["case_reference"] = reference
    return Review.model_validate(document)


class _Clock:
    """A clock the seeding moves forward by hand, so the stored history reads naturally."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


READY = "ready-three-agencies-sustained-change.json"
READY_EARLY_HELP = "ready-early-help-school-and-health-see-change.json"
READY_SEVENTEEN = "ready-youth-justice-seventeen-with-transition-plan.json"
READY_TRANSFER = "ready-transfer-to-another-authority.json"
"""Closure reason RC5: the family moves and another local authority takes the case on."""
READY_TRANSITION = "ready-transition-at-18-to-adult-services.json"
"""Closure reason RC6: at 18, adult social care accepts the handover."""
BLOCKED_PARENT_ONLY = "blocked-only-parent-says-better.json"
"""Only the parent says things are better: no professional has seen the change."""
BLOCKED_REMAND = "blocked-remand-release-no-plan.json"
"""Risk fell while he was on remand, and nobody has planned for the day he is released."""


def _add_staff(ctx: Context, issuer: str) -> dict[str, Principal]:
    """The demo accounts, by their sign-in subject."""
    people: dict[str, Principal] = {}
    for account in DEMO_ACCOUNTS:
        member = staff.add_staff(
            ctx,
            SYSTEM,
            staff_id=account.staff_id,
            issuer=issuer,
            subject=account.subject,
            display_name=account.display_name,
            role=account.role,
            team=account.team,
        )
        people[account.subject] = member.principal()
    return people


class _Seeder:
    """The workflow steps the seeding takes, through the service as the app does, each moving
    the clock on so the stored history reads naturally. `ids` collects review ids by label."""

    def __init__(self, ctx: Context, clock: _Clock, people: dict[str, Principal]) -> None:
        self.ctx, self.clock = ctx, clock
        self.worker, self.worker2 = people["caseworker"], people["caseworker2"]
        self.manager = people["manager"]
        self.second_manager = people["manager3"]
        self.ids: dict[str, int] = {}

    def saved(self, who: Principal, label: str, review: Review) -> int:
        review_id = reviews.start_review(self.ctx, who, review.case)
        record = reviews.get_review(self.ctx, who, review_id)
        reviews.save_review(self.ctx, who, review_id, review, expected_version=record.version)
        self.ids[label] = review_id
        self.clock.advance(hours=3)
        return review_id

    def prepared(
        self, who: Principal, label: str, name: str, reference: str, closure: dt.date
    ) -> int:
        return self.saved(who, label, _load(name, reference=reference, closure_on=closure))

    def signed(self, who: Principal, review_id: int) -> int:
        record = reviews.get_review(self.ctx, who, review_id)
        decision_id = reviews.sign_off(
            self.ctx, who, review_id, seen_hash=record.content_hash, attested=True
        )
        self.clock.advance(days=1)
        return decision_id

    def approved(self, decision_id: int, *, by: Principal | None = None) -> None:
        manager = by or self.manager
        sealed = decisions.get_decision(self.ctx, manager, decision_id)
        decisions.countersign(self.ctx, manager, decision_id, hash_seen=sealed.content_hash)
        self.clock.advance(days=1)

    def excepted(
        self, who: Principal, review_id: int, check_id: str, *, asked: str, granted: str
    ) -> None:
        record = reviews.get_review(self.ctx, who, review_id)
        gap = next(f for f in record.report.open_blockers if f.check_id == check_id)
        request = reviews.request_exception(
            self.ctx, who, review_id, finding_key=gap.key, reason=asked
        )
        self.clock.advance(hours=2)
        decisions.decide_exception(self.ctx, self.manager, request, grant=True, reason=granted)
        self.clock.advance(hours=1)


def seed(db_path: Store, *, issuer: str, today: dt.date) -> dict[str, int]:
    """Create demo staff and cases. Returns review ids by a short label, for tests and docs.

    The demo caseworker (SW-101) holds an approved closure since re-referred, a returned
    review, a sign-off waiting (the move to adult services at 18), two blocked drafts and an
    empty one; the second caseworker (SW-102) holds an approved early help closure, a sign-off
    waiting (a transfer to another authority), a withdrawn review, an approved closure that
    carried a manager's exception, and a draft whose exception no longer applies.

    Seeds only a new database (FileExistsError otherwise): demo cases never mix with others.
    A PostgreSQL database (the load benchmark's) is taken to be new: its caller made it.
    """
    if isinstance(db_path, Path) and db_path.exists():
        raise FileExistsError(f"{db_path} already exists; the demo seeds only a new database.")
    clock = _Clock(dt.datetime.combine(today - dt.timedelta(days=60), dt.time(9), dt.UTC))
    ctx = Context(db_path, clock=clock)
    s = _Seeder(ctx, clock, _add_staff(ctx, issuer))
    _approved_and_waiting(s, today)
    _drafts_and_withdrawn(s, today)
    _approved_with_exception(s, today)
    _lapsed_exception(s, today)
    # A re-referral: the first approved case comes back within the window.
    clock.now = dt.datetime.combine(today, dt.time(9), dt.UTC)
    again = _load(READY, reference="CR-DEMO-1001", closure_on=_days(today, 90))
    s.ids["re_referral"] = reviews.start_review(ctx, s.worker, again.case)
    return s.ids


def _approved_and_waiting(s: _Seeder, today: dt.date) -> None:
    """Two approved closures, a returned review, and two sign-offs waiting for the manager."""
    worker, worker2 = s.worker, s.worker2
    # Approved closures: change seen by three agencies (since re-referred), and early help.
    s.approved(
        s.signed(worker, s.prepared(worker, "approved", READY, "CR-DEMO-1001", _days(today, -50)))
    )
    s.approved(
        s.signed(
            worker2,
            s.prepared(worker2, "approved_2", READY_EARLY_HELP, "CR-DEMO-1002", _days(today, -45)),
        )
    )
    s.clock.advance(days=20)
    # A returned review, waiting for the worker.
    returned = s.prepared(worker, "returned", READY_SEVENTEEN, "CR-DEMO-1003", _days(today, 7))
    decisions.return_review(
        s.ctx,
        s.manager,
        s.signed(worker, returned),
        overall="Please check the onward support before we close.",
        themes={"support": "Confirm the youth work start date with the service."},
    )
    # Sign-offs waiting for the manager: a transfer to another authority (RC5), and a move to
    # adult services at 18 (RC6).
    s.signed(
        worker2, s.prepared(worker2, "submitted", READY_TRANSFER, "CR-DEMO-1004", _days(today, 5))
    )
    s.signed(
        worker,
        s.prepared(worker, "submitted_2", READY_TRANSITION, "CR-DEMO-1005", _days(today, 10)),
    )


def _drafts_and_withdrawn(s: _Seeder, today: dt.date) -> None:
    """Two blocked drafts, an empty one, and a withdrawn review."""
    worker = s.worker
    # Drafts blocked for a clear reason: only the parent says things are better; risk fell on
    # remand and nobody has planned for the day he is released.
    s.prepared(worker, "draft_parent_only", BLOCKED_PARENT_ONLY, "CR-DEMO-1006", _days(today, 14))
    s.prepared(worker, "draft_remand", BLOCKED_REMAND, "CR-DEMO-1007", _days(today, 14))
    # An empty draft, as a worker leaves it after starting.
    empty = _load(READY, reference="CR-DEMO-1008", closure_on=_days(today, 21))
    s.ids["draft_new"] = reviews.start_review(s.ctx, worker, empty.case)
    # A withdrawn review: a new missing episode means the case stays open.
    withdrawn = s.prepared(s.worker2, "withdrawn", READY, "CR-DEMO-1009", _days(today, 28))
    reviews.withdraw(
        s.ctx,
        s.worker2,
        withdrawn,
        reason="Missing overnight on Saturday: the case stays open and a strategy discussion "
        "is booked.",
    )


def _approved_with_exception(s: _Seeder, today: dt.date) -> None:
    """An approved closure that carried a manager's exception and a caseworker's rationale."""
    carried = _load(READY, reference="CR-DEMO-1010", closure_on=_days(today, -30))
    carried = _patched(
        carried,
        exit_answers={"notified": [Agency.SCHOOL, Agency.POLICE], "contacts_given": False},
        rationales={
            "exit.W002": "The family already hold the duty team's number from the plan; "
            "contacts were confirmed by phone."
        },
    )
    review_id = s.saved(s.worker2, "approved_with_exception", carried)
    s.excepted(
        s.worker2,
        review_id,
        "exit.E003",
        asked="The youth work service is the lead after closure and wrote the exit plan.",
        granted="The voluntary sector lead is the author of the exit plan; no notice needed.",
    )
    # Separation of duties: the manager who granted the exception does not countersign it.
    s.approved(s.signed(s.worker2, review_id), by=s.second_manager)


def _lapsed_exception(s: _Seeder, today: dt.date) -> None:
    """A draft whose exception no longer applies: granted while he was last seen alone five
    weeks before closure; the worker then found he was never seen alone at that visit."""
    closure = _days(today, 18)
    late = _load(READY, reference="CR-DEMO-1011", closure_on=closure)
    late = _patched(late, exit_answers={"seen_alone_on": closure - dt.timedelta(weeks=5)})
    lapsed = s.saved(s.worker2, "draft_lapsed_exception", late)
    s.excepted(
        s.worker2,
        lapsed,
        "exit.E004",
        asked="Seen alone at the youth centre five weeks ago; this week's visit was cancelled "
        "by the family and the youth worker sees him weekly.",
        granted="Seen alone recently enough with weekly youth work contact; accepted for closure.",
    )
    record = reviews.get_review(s.ctx, s.worker2, lapsed)
    corrected = _patched(
        record.review,
        exit_answers={
            "seen_alone_on": None,
            "views_recorded_when_seen_alone": False,
            "notes": "The youth centre visit was with his mother present: he has not been seen "
            "alone.",
        },
    )
    reviews.save_review(s.ctx, s.worker2, lapsed, corrected, expected_version=record.version)


def _days(today: dt.date, days: int) -> dt.date:
    return today + dt.timedelta(days=days)


def _patched(
    review: Review, *, exit_answers: dict[str, Any], rationales: dict[str, str] | None = None
) -> Review:
    """The review with some exit answers (and rationales) changed, validated again."""
    answers = review.answers
    update: dict[str, Any] = {
        "answers": answers.model_copy(update={"exit": answers.exit.model_copy(update=exit_answers)})
    }
    if rationales is not None:
        update["rationales"] = rationales
    return Review.model_validate(review.model_copy(update=update).model_dump())
