"""Audited reads: read in a snapshot, then record the reading in a short write of its own.

Every view of a decision, search, export and PDF is an audit event. Reading (and checking the
seal and the chain) happens in a read transaction, which in WAL mode never waits for a writer
nor makes one wait; only the audit event takes the write lock, for one insert. The caller gets
what was read only once that event is committed, so nothing is shown that the log does not
hold.

Between the read and the audit write another person may change the store (a manager
countersigns, a new decision is signed). The event names exactly what was shown: the newest
audit event the read could see (`as_of_event`: every change to a decision or an outcome appends
one, in the same transaction), and for one decision its seal (`content_hash`), its status as
shown and, once decided, the outcome's seal (`outcome_hash`). The write checks again, cheaply,
what must still hold for the reading to be shown at all: the account is active with the same
role and team (a disabled account gets nothing), and the decision has not been disposed of in
between. If either fails, nothing is returned and nothing is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from closure_readiness.core.location import store_key
from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.service.context import Context, NotFound, Principal, ServiceError
from closure_readiness.service.records import refuse_disposed
from closure_readiness.service.staff import ensure_active
from closure_readiness.storage import audit
from closure_readiness.storage.audit import AuditEvent
from closure_readiness.storage.database import reading, writing

T = TypeVar("T")


@dataclass(frozen=True)
class Shown(Generic[T]):
    """What an audited read found, and the audit event that records it being shown."""

    value: T
    action: str
    review_id: int | None = None
    decision_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def decision_seen(row: dict[str, Any], outcome: dict[str, Any] | None) -> dict[str, Any]:
    """The event detail naming one decision as read: its seal, status and outcome seal."""
    seen: dict[str, Any] = {
        "content_hash": row["content_hash"],
        "status": outcome["outcome"] if outcome else ReviewStatus.SUBMITTED.value,
    }
    if outcome:
        seen["outcome_hash"] = outcome["outcome_hash"]
    return seen


def read_then_audit(
    ctx: Context, principal: Principal, read: Callable[[Any], Shown[T]]
) -> tuple[T, AuditEvent]:
    """Run `read` in a read transaction (for an active account), then append its audit event
    in a write transaction, and return what was read with the event once it is committed.

    A database busy beyond the wait raises sqlite3.OperationalError from the write, as any
    writer's does (the app turns it into its "busy, try again" line)."""
    with reading(ctx.db_path) as db:
        ensure_active(db, principal)
        shown = read(db)
        as_of, _ = audit.head(db)
    return shown.value, _recorded(_Pending(ctx, principal, shown, as_of))


@dataclass
class _Pending:
    """An audit event waiting to be written, and then what came of it."""

    ctx: Context
    principal: Principal
    shown: Shown[Any]
    as_of: int
    done: bool = False
    event: AuditEvent | None = None
    error: BaseException | None = None


@dataclass
class _Queue:
    """The audit events of one database waiting in this process, and the turn to write them."""

    waiting: list[_Pending] = field(default_factory=list)
    mutex: threading.Lock = field(default_factory=threading.Lock)
    turn: threading.Lock = field(default_factory=threading.Lock)


_QUEUES: dict[str, _Queue] = {}
_QUEUES_LOCK = threading.Lock()


def _recorded(item: _Pending) -> AuditEvent:
    """Write `item`'s event, together with any others waiting (group commit).

    The sessions of a server are threads of one process. Each puts its event in the queue of
    its database and waits for the turn to write; whoever gets it writes every event waiting,
    in one short transaction and one sync to disk, and each returns once its own event is
    committed. Under load one transaction carries many views instead of each polling SQLite's
    write lock in turn; alone, an event is written at once. Other processes and other writers
    still meet SQLite's own lock and busy timeout."""
    key = store_key(item.ctx.db_path)
    with _QUEUES_LOCK:
        queue = _QUEUES.setdefault(key, _Queue())
    with queue.mutex:
        queue.waiting.append(item)
    with queue.turn:
        if not item.done:
            with queue.mutex:
                batch, queue.waiting = queue.waiting, []
            _write(batch)
    if item.error is not None:
        raise item.error
    assert item.event is not None
    return item.event


def _write(batch: list[_Pending]) -> None:
    """Append each event whose reader may still be shown what they read (an active account,
    a decision not disposed of since); the others get the refusal, and nothing is recorded
    for them. If the transaction fails, every event in it fails with the same error."""
    try:
        with writing(batch[0].ctx.db_path) as db:
            for item in batch:
                try:
                    ensure_active(db, item.principal)
                    if item.shown.decision_id is not None:
                        _not_disposed_since(db, item.shown.decision_id)
                except ServiceError as refused:
                    item.error = refused
                    continue
                item.event = audit.append(
                    db,
                    at=item.ctx.now(),
                    actor=item.principal.staff_id,
                    action=item.shown.action,
                    review_id=item.shown.review_id,
                    decision_id=item.shown.decision_id,
                    detail={**item.shown.detail, "as_of_event": item.as_of},
                )
    except BaseException as error:  # nothing was committed: every reader gets the error
        for item in batch:
            item.event, item.error = None, error
    finally:
        for item in batch:
            item.done = True


def _not_disposed_since(db: Any, decision_id: int) -> None:
    row = db.execute("SELECT id, disposed_on FROM decisions WHERE id = ?", [decision_id]).fetchone()
    if row is None:
        raise NotFound(f"There is no decision {decision_id} that you can see.")
    refuse_disposed({"id": row[0], "disposed_on": row[1]})
