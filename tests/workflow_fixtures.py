"""Shared set-up for workflow tests: a real database, a team of staff, reviews in each state.

Everything is synthetic: invented staff ids, invented case references. Helpers drive the
service layer exactly as the app does, against a real SQLite file (no mocks).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from closure_readiness.core.review import Review
from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import SYSTEM, Context, Principal, Role
from closure_readiness.storage.database import ensure_migrated

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_EXAMPLE = REPO_ROOT / "examples" / "ready-three-agencies-sustained-change.json"
ISSUER = "https://sign-in.test.invalid"

CLOSURE_DAY = dt.date(2025, 5, 30)
"""The proposed closure date of the ready example."""
NOW = dt.datetime(2025, 5, 30, 9, tzinfo=dt.UTC)
"""Sign-off morning for the ready example."""

NORTH = "North"
SOUTH = "South"


class Clock:
    """A clock a test moves by hand (the service reads it through Context.now)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def make_context(tmp_path: Path, now: dt.datetime = NOW, *, name: str = "closure.db") -> Context:
    """A Context on a fresh database file in tmp_path, with a movable Clock at `now`."""
    return Context(tmp_path / name, clock=Clock(now))


def clock_of(ctx: Context) -> Clock:
    """The movable clock of a context made by make_context."""
    assert isinstance(ctx.clock, Clock)
    return ctx.clock


def copy_context(ctx: Context, folder: Path) -> Context:
    """A context on an independent copy of ctx's database, with its own clock at the same time.

    Building a database once and copying it for each test saves many fsync'd commits. Copy
    only while nothing holds the source open (then its WAL has been checkpointed away).
    """
    for path in ctx.db_path.parent.glob(ctx.db_path.name + "*"):
        shutil.copy(path, folder / path.name)
    copy = dataclasses.replace(
        ctx, db_path=folder / ctx.db_path.name, clock=Clock(clock_of(ctx).now)
    )
    ensure_migrated(copy.db_path)  # now, before a test holds a raw transaction open on it
    return copy


@contextmanager
def held_open(ctx: Context) -> Iterator[sqlite3.Connection]:
    """A connection held open while a test runs.

    Each use case opens and closes its own connection; when that is the last connection,
    SQLite checkpoints the WAL and syncs the file on close. Holding one open avoids that work
    on every call, which keeps the tests fast on a busy disk. The connection is plain sqlite3,
    usable for reading rows directly; it never holds a transaction open between statements.
    Open it on a database that already exists (copy_context makes one), not on a new path.
    """
    conn = sqlite3.connect(ctx.db_path)
    try:
        yield conn
    finally:
        conn.close()


def at(ctx: Context, when: dt.datetime) -> Context:
    """The same database and thresholds, read at another moment."""
    return dataclasses.replace(ctx, clock=Clock(when))


@dataclass(frozen=True)
class Team:
    """The staff of the tests: two teams and an auditor."""

    worker: Principal
    """Caseworker in North: prepares most reviews."""
    colleague: Principal
    """Second caseworker in North."""
    manager: Principal
    """Team manager of North."""
    south_manager: Principal
    south_worker: Principal
    auditor: Principal

    def everyone(self) -> list[Principal]:
        return [
            self.worker,
            self.colleague,
            self.manager,
            self.south_manager,
            self.south_worker,
            self.auditor,
        ]


_ACCOUNTS = (
    ("worker", "SW-N1", "North caseworker one", Role.CASEWORKER, NORTH),
    ("colleague", "SW-N2", "North caseworker two", Role.CASEWORKER, NORTH),
    ("manager", "TM-N1", "North team manager", Role.TEAM_MANAGER, NORTH),
    ("south_manager", "TM-S1", "South team manager", Role.TEAM_MANAGER, SOUTH),
    ("south_worker", "SW-S1", "South caseworker", Role.CASEWORKER, SOUTH),
    ("auditor", "AU-1", "Auditor", Role.AUDITOR, ""),
)


def subject_of(staff_id: str) -> str:
    return f"subject-{staff_id.lower()}"


def add_team(ctx: Context) -> Team:
    """Add the test staff through the admin use case; returns their principals."""
    people: dict[str, Principal] = {}
    for label, staff_id, name, role, team in _ACCOUNTS:
        member = staff.add_staff(
            ctx,
            SYSTEM,
            staff_id=staff_id,
            issuer=ISSUER,
            subject=subject_of(staff_id),
            display_name=name,
            role=role,
            team=team,
        )
        people[label] = member.principal()
    return Team(**people)


def disable(ctx: Context, who: Principal) -> None:
    staff.update_staff(ctx, SYSTEM, who.staff_id, active=False)


# Review content -------------------------------------------------------------------------------


def ready_document() -> dict[str, Any]:
    """The ready example as a plain document (a fresh copy each call)."""
    document: dict[str, Any] = json.loads(READY_EXAMPLE.read_text(encoding="utf-8"))
    return document


def _review(document: dict[str, Any], reference: str | None) -> Review:
    if reference is not None:
        document["case"]["case_reference"] = reference
    return Review.model_validate(document)


def ready_review(reference: str | None = None) -> Review:
    """The complete review that passes every check."""
    return _review(ready_document(), reference)


def blocked_review(reference: str | None = None) -> Review:
    """The ready review with its change citations removed: change.E001, a hard blocker."""
    document = ready_document()
    document["answers"]["change"]["cited"] = []
    return _review(document, reference)


def caution_review(reference: str | None = None, *, rationale: str | None = None) -> Review:
    """No contacts given for later: caution exit.W002, open unless a rationale is written."""
    document = ready_document()
    document["answers"]["exit"]["contacts_given"] = False
    if rationale is not None:
        document["rationales"] = {"exit.W002": rationale}
    return _review(document, reference)


def unnotified_review(reference: str | None = None, *, missing: str = "voluntary") -> Review:
    """One involved agency not told of the closure: exit.E003, an overridable blocker."""
    document = ready_document()
    document["answers"]["exit"]["notified"] = [
        agency for agency in document["answers"]["exit"]["notified"] if agency != missing
    ]
    return _review(document, reference)


# Driving the workflow -------------------------------------------------------------------------


def prepare(ctx: Context, worker: Principal, review: Review) -> int:
    """Start a review for the review's case and save its content; returns the review id."""
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    return review_id


def prepare_ready(ctx: Context, worker: Principal, reference: str | None = None) -> int:
    """A draft saved with the ready content; returns its id."""
    return prepare(ctx, worker, ready_review(reference))


def sign(ctx: Context, worker: Principal, review_id: int) -> int:
    """Sign off the review as it stands now (attested, with the current hash)."""
    record = reviews.get_review(ctx, worker, review_id)
    return reviews.sign_off(ctx, worker, review_id, seen_hash=record.content_hash, attested=True)


def submit(ctx: Context, worker: Principal, reference: str | None = None) -> tuple[int, int]:
    """A ready review, signed off and waiting for the manager: (review id, decision id)."""
    review_id = prepare_ready(ctx, worker, reference)
    return review_id, sign(ctx, worker, review_id)


def approve(ctx: Context, manager: Principal, decision_id: int) -> None:
    """Countersign the decision as the manager sees it."""
    sealed = decisions.get_decision(ctx, manager, decision_id)
    decisions.countersign(ctx, manager, decision_id, hash_seen=sealed.content_hash)


def finding_key(ctx: Context, who: Principal, review_id: int, check_id: str) -> str:
    """The key of the open blocker of `check_id` on the review as stored."""
    record = reviews.get_review(ctx, who, review_id)
    return next(f.key for f in record.report.open_blockers if f.check_id == check_id)
