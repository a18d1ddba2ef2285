"""Retention: which reviews are due for disposal, and disposing of them (decision #54).

A review's disposal date is the one sealed with its latest decision (the retention class under
the schedule at sign-off). A decision sealed before retention was recorded, or a review
withdrawn before any sign-off, gets its date from the schedule in force now, worked out from its
involvement, month of birth and closure date.

The records of one young person go together: a case's reviews are disposed of when the last of
them falls due, never while the case has a review still open, and never while the case is held
(a legal hold or an inquiry's moratorium: `dispose --hold`). Each review is disposed of in its
own transaction, after its seals are checked: a decision that does not match its seal is not
disposed of (that would launder the tampering), and is reported.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from closure_readiness.core import words
from closure_readiness.core.retention import RetentionPolicy
from closure_readiness.core.vocabulary import Involvement
from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.service.context import (
    SYSTEM,
    Context,
    InvalidInput,
    NotAllowed,
    Principal,
)
from closure_readiness.storage import disposal
from closure_readiness.storage.database import checkpoint, reading, writing
from closure_readiness.storage.integrity import check_decision

FINAL = (ReviewStatus.APPROVED.value, ReviewStatus.WITHDRAWN.value)


@dataclass(frozen=True)
class Due:
    """One review and the first day its records may be disposed of."""

    review_id: int
    case_reference: str
    status: str
    dispose_on: dt.date
    decisions: tuple[int, ...]


@dataclass
class DisposalRun:
    """What a disposal run found and did, as of one day."""

    as_of: dt.date
    due: list[Due] = field(default_factory=list)
    disposed: list[Due] = field(default_factory=list)
    held: list[Due] = field(default_factory=list)
    refused: list[tuple[Due, str]] = field(default_factory=list)
    not_yet_due: int = 0
    open_cases: int = 0


def plan(ctx: Context, as_of: dt.date, holds: frozenset[str] = frozenset()) -> DisposalRun:
    """Which reviews are due on `as_of` (read-only: nothing is changed or audited).

    Only the few fields a date needs are read out of the stored JSON (in SQL), so a council's
    years of reviews and seals are never held in memory at once."""
    with reading(ctx.db_path) as db:
        reviews = disposal.undisposed_reviews(db, FINAL)
        decisions: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in disposal.undisposed_seals(db):
            decisions[row["review_id"]].append(row)
    run = DisposalRun(as_of=as_of)
    by_case: dict[str, list[Due]] = defaultdict(list)
    open_cases: set[str] = set()
    for row in reviews:
        if row["status"] not in FINAL:
            open_cases.add(row["case_reference"])
            continue
        signed = decisions.get(row["id"], [])
        by_case[row["case_reference"]].append(
            Due(
                review_id=row["id"],
                case_reference=row["case_reference"],
                status=row["status"],
                dispose_on=_dispose_on(row, signed[-1] if signed else None, ctx.retention),
                decisions=tuple(d["id"] for d in signed),
            )
        )
    for case, dues in sorted(by_case.items()):
        if case in open_cases:
            run.open_cases += 1
            continue
        last = max(due.dispose_on for due in dues)
        if last > as_of:
            run.not_yet_due += len(dues)
        elif case in holds:
            run.held += dues
        else:
            run.due += dues
    return run


def dispose(
    ctx: Context, principal: Principal, as_of: dt.date, holds: frozenset[str] = frozenset()
) -> DisposalRun:
    """Dispose of every review due on `as_of` (not after today). The operator only."""
    if principal != SYSTEM:
        raise NotAllowed("Only the operator disposes of records (closure-readiness dispose).")
    if as_of > words.in_london(ctx.now()).date():
        raise InvalidInput("Records are disposed of only once due: the date is after today.")
    run = plan(ctx, as_of, holds)
    for due in run.due:
        with writing(ctx.db_path) as db:
            problems = [p for d in due.decisions for p in check_decision(db, d)]
            if problems:
                run.refused.append((due, problems[0]))
                continue
            disposal.dispose_review(
                db, due.review_id, at=ctx.now(), actor=principal.staff_id, dispose_on=due.dispose_on
            )
        run.disposed.append(due)
    if run.disposed:
        with writing(ctx.db_path) as db:
            disposal.compact_search_index(db)
        checkpoint(ctx.db_path)
    return run


def _dispose_on(
    row: dict[str, Any], latest: dict[str, Any] | None, policy: RetentionPolicy
) -> dt.date:
    """The review's disposal date: sealed with its latest decision, else worked out now from
    the latest seal's case (or, with no sign-off, the review's) under `policy`."""
    if latest is not None and latest["sealed_on"]:
        return dt.date.fromisoformat(latest["sealed_on"])
    if latest is not None:
        case, closed_on = latest, dt.date.fromisoformat(latest["as_of"])
    else:
        case = row
        closed_on = max(
            dt.date.fromisoformat(row["proposed_closure_on"]),
            dt.datetime.fromisoformat(row["updated_at"]).date(),
        )
    involvement = Involvement(case["involvement"] or Involvement.OTHER.value)
    return policy.class_for(involvement).dispose_on(
        birth_month=str(case["birth_month"]), closed_on=closed_on
    )
