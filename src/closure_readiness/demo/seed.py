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


def seed(db_path: Path, *, issuer: str, today: dt.date) -> dict[str, int]:
    """Create demo staff and cases. Returns review ids by a short label, for tests and docs."""
    clock = _Clock(dt.datetime.combine(today - dt.timedelta(days=60), dt.time(9), dt.UTC))
    ctx = Context(db_path, clock=clock)
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
    worker, worker2, manager = people["caseworker"], people["caseworker2"], people["manager"]
    ids: dict[str, int] = {}

    def prepared(who: Principal, label: str, name: str, reference: str, closure: dt.date) -> int:
        review = _load(name, reference=reference, closure_on=closure)
        review_id = reviews.start_review(ctx, who, review.case)
        record = reviews.get_review(ctx, who, review_id)
        reviews.save_review(ctx, who, review_id, review, expected_version=record.version)
        ids[label] = review_id
        clock.advance(hours=3)
        return review_id

    def signed(who: Principal, review_id: int) -> int:
        record = reviews.get_review(ctx, who, review_id)
        decision_id = reviews.sign_off(
            ctx, who, review_id, seen_hash=record.content_hash, attested=True
        )
        clock.advance(days=1)
        return decision_id

    ready = "ready-three-agencies-sustained-change.json"
    # Approved closures, one of them since re-referred.
    first = prepared(worker, "approved", ready, "CR-DEMO-1001", today - dt.timedelta(days=50))
    decision = signed(worker, first)
    sealed = decisions.get_decision(ctx, manager, decision)
    decisions.countersign(ctx, manager, decision, hash_seen=sealed.content_hash)
    clock.advance(days=1)
    second = prepared(worker2, "approved_2", ready, "CR-DEMO-1002", today - dt.timedelta(days=45))
    decision = signed(worker2, second)
    sealed = decisions.get_decision(ctx, manager, decision)
    decisions.countersign(ctx, manager, decision, hash_seen=sealed.content_hash)
    clock.advance(days=20)
    # A returned review, waiting for the worker.
    returned = prepared(worker, "returned", ready, "CR-DEMO-1003", today + dt.timedelta(days=7))
    decision = signed(worker, returned)
    decisions.return_review(
        ctx,
        manager,
        decision,
        overall="Please check the onward support before we close.",
        themes={"support": "Confirm the youth work start date with the service."},
    )
    # Submitted reviews waiting for the manager.
    submitted = prepared(worker2, "submitted", ready, "CR-DEMO-1004", today + dt.timedelta(days=5))
    signed(worker2, submitted)
    submitted_2 = prepared(worker, "submitted_2", ready, "CR-DEMO-1005", today + dt.timedelta(10))
    signed(worker, submitted_2)
    # Drafts with gaps.
    for label, name, reference in (
        ("draft_parent_only", "blocked-only-parent-says-better.json", "CR-DEMO-1006"),
        ("draft_remand", "blocked-remand-release-no-plan.json", "CR-DEMO-1007"),
    ):
        if (examples_dir() / name).exists():
            prepared(worker, label, name, reference, today + dt.timedelta(days=14))
        else:
            prepared(worker, label, ready, reference, today + dt.timedelta(days=14))
    # An empty draft, as a worker leaves it after starting.
    empty = _load(ready, reference="CR-DEMO-1008", closure_on=today + dt.timedelta(days=21))
    ids["draft_new"] = reviews.start_review(ctx, worker, empty.case)
    # A withdrawn review.
    withdrawn = prepared(worker2, "withdrawn", ready, "CR-DEMO-1009", today + dt.timedelta(28))
    reviews.withdraw(ctx, worker2, withdrawn, reason="Case transferred to another authority.")
    # An approved closure that carried a manager's exception and a caseworker's rationale.
    carried = _load(ready, reference="CR-DEMO-1010", closure_on=today - dt.timedelta(days=30))
    answers = carried.answers
    carried = carried.model_copy(
        update={
            "answers": answers.model_copy(
                update={
                    "exit": answers.exit.model_copy(
                        update={"notified": [Agency.SCHOOL, Agency.POLICE], "contacts_given": False}
                    )
                }
            ),
            "rationales": {
                "exit.W002": "The family already hold the duty team's number from the plan; "
                "contacts were confirmed by phone."
            },
        }
    )
    review_id = reviews.start_review(ctx, worker2, carried.case)
    record = reviews.get_review(ctx, worker2, review_id)
    reviews.save_review(ctx, worker2, review_id, carried, expected_version=record.version)
    record = reviews.get_review(ctx, worker2, review_id)
    gap = next(f for f in record.report.open_blockers if f.check_id == "exit.E003")
    request = reviews.request_exception(
        ctx,
        worker2,
        review_id,
        finding_key=gap.key,
        reason="The youth work service is the lead after closure and wrote the exit plan.",
    )
    clock.advance(hours=2)
    decisions.decide_exception(
        ctx,
        manager,
        request,
        grant=True,
        reason="The voluntary sector lead is the author of the exit plan; no notice needed.",
    )
    clock.advance(hours=1)
    decision = signed(worker2, review_id)
    sealed = decisions.get_decision(ctx, manager, decision)
    decisions.countersign(ctx, manager, decision, hash_seen=sealed.content_hash)
    ids["approved_with_exception"] = review_id
    # A re-referral: the first approved case comes back within the window.
    clock.now = dt.datetime.combine(today, dt.time(9), dt.UTC)
    again = _load(ready, reference="CR-DEMO-1001", closure_on=today + dt.timedelta(days=90))
    ids["re_referral"] = reviews.start_review(ctx, worker, again.case)
    return ids
