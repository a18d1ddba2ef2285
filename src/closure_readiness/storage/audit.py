"""The audit log: insert-only events, each hash-chained to the one before it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from closure_readiness.core.canonical import canonical_json
from closure_readiness.storage.database import Db
from closure_readiness.storage.schema import GENESIS_HASH


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: str
    actor: str
    action: str
    review_id: int | None
    decision_id: int | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def event_hash(
    *,
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    review_id: int | None,
    decision_id: int | None,
    detail: str,
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "review_id": review_id,
            "decision_id": decision_id,
            "detail": detail,
        }
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def append(
    db: Db,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    review_id: int | None = None,
    decision_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an event at the head of the chain. Call inside a write transaction."""
    head = db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    at_text = at.astimezone(dt.UTC).isoformat()
    detail_text = canonical_json(detail or {})
    digest = event_hash(
        prev_hash=prev_hash,
        seq=seq,
        at=at_text,
        actor=actor,
        action=action,
        review_id=review_id,
        decision_id=decision_id,
        detail=detail_text,
    )
    db.execute(
        "INSERT INTO audit_events (seq, at, actor, action, review_id, decision_id, detail, "
        "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at_text, actor, action, review_id, decision_id, detail_text, prev_hash, digest],
    )
    return AuditEvent(
        seq, at_text, actor, action, review_id, decision_id, detail or {}, prev_hash, digest
    )


def _row_to_event(row: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        review_id=row["review_id"],
        decision_id=row["decision_id"],
        detail=json.loads(row["detail"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def events_for(
    db: Db, *, review_id: int | None = None, decision_id: int | None = None
) -> list[AuditEvent]:
    if decision_id is not None:
        rows = db.query(
            "SELECT * FROM audit_events WHERE decision_id = ? ORDER BY seq", [decision_id]
        )
    else:
        rows = db.query("SELECT * FROM audit_events WHERE review_id = ? ORDER BY seq", [review_id])
    return [_row_to_event(row) for row in rows]


def trail_for(db: Db, *, review_id: int, decision_id: int) -> list[AuditEvent]:
    """A decision's trail in order: every event of its review, and those naming the decision
    alone (a view by an auditor, a disposal). One query, where two were asked before."""
    rows = db.query(
        "SELECT * FROM audit_events WHERE review_id = ? "
        "UNION ALL SELECT * FROM audit_events WHERE decision_id = ? AND review_id IS NULL "
        "ORDER BY seq",
        [review_id, decision_id],
    )
    return [_row_to_event(row) for row in rows]


def head(db: Db) -> tuple[int, str]:
    row = db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)
