"""Integrity verification: every seal, the audit chain, and the chain head against an anchor."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from closure_readiness.storage.audit import event_hash, head
from closure_readiness.storage.schema import GENESIS_HASH

ANCHOR_FORMAT = "closure-readiness/anchor@1"

# Columns of each sealed table that must equal the same field inside the sealed JSON.
_DECISION_COLUMNS = (
    "review_id",
    "case_reference",
    "team",
    "closure_reason",
    "signed_by",
    "signed_at",
    "as_of",
    "checks_version",
)
_OUTCOME_COLUMNS = ("decision_id", "outcome", "decided_by", "decided_at", "hash_seen")


@dataclass
class IntegrityReport:
    decisions_checked: int = 0
    outcomes_checked: int = 0
    events_checked: int = 0
    anchor_checked: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _seal_problems(
    what: str, row: dict[str, Any], sealed_column: str, hash_column: str, columns: tuple[str, ...]
) -> list[str]:
    if sha256_text(row[sealed_column]) != row[hash_column]:
        return [f"{what}: sealed content does not match its hash"]
    sealed = json.loads(row[sealed_column])
    return [
        f"{what}: column {name} differs from the sealed content"
        for name in columns
        if sealed.get(name) != row[name]
    ]


def check_decision(db: Database, decision_id: int) -> list[str]:
    """The seals of one decision and its outcome, and the audit events that name them."""
    problems: list[str] = []
    row = next(db.query("SELECT * FROM decisions WHERE id = ?", [decision_id]), None)
    if row is None:
        return [f"decision {decision_id}: missing"]
    problems += _seal_problems(
        f"decision {decision_id}", row, "sealed", "content_hash", _DECISION_COLUMNS
    )
    outcome = next(db.query("SELECT * FROM outcomes WHERE decision_id = ?", [decision_id]), None)
    if outcome is not None:
        problems += _seal_problems(
            f"decision {decision_id} outcome", outcome, "sealed", "outcome_hash", _OUTCOME_COLUMNS
        )
    sealed_in_chain = False
    for event in db.query(
        "SELECT * FROM audit_events WHERE decision_id = ? ORDER BY seq", [decision_id]
    ):
        problems += _event_problems(event)
        prior = db.execute(
            "SELECT hash FROM audit_events WHERE seq = ?", [event["seq"] - 1]
        ).fetchone()
        expected_prev = prior[0] if prior else GENESIS_HASH
        if event["prev_hash"] != expected_prev:
            problems.append(f"audit event {event['seq']}: not linked to the event before it")
        detail = json.loads(event["detail"])
        if event["action"] == "signed_off":
            sealed_in_chain = detail.get("content_hash") == row["content_hash"]
    if not sealed_in_chain:
        problems.append(f"decision {decision_id}: its hash is not the one the audit chain recorded")
    return problems


def _event_problems(event: dict[str, Any]) -> list[str]:
    expected = event_hash(
        prev_hash=event["prev_hash"],
        seq=event["seq"],
        at=event["at"],
        actor=event["actor"],
        action=event["action"],
        review_id=event["review_id"],
        decision_id=event["decision_id"],
        detail=event["detail"],
    )
    if expected != event["hash"]:
        return [f"audit event {event['seq']}: content does not match its hash"]
    return []


def verify(db: Database, anchor: dict[str, Any] | None = None) -> IntegrityReport:
    """Check every seal, the whole chain, and (if given) the anchor. Read-only."""
    report = IntegrityReport()
    sealed_hashes: dict[int, str] = {}
    outcome_hashes: dict[int, str] = {}
    expected_seq, prev_hash = 1, GENESIS_HASH
    for event in db.query("SELECT * FROM audit_events ORDER BY seq"):
        report.events_checked += 1
        if event["seq"] != expected_seq:
            report.problems.append(
                f"audit chain: event {expected_seq} is missing (next is {event['seq']})"
            )
        if event["prev_hash"] != prev_hash:
            report.problems.append(f"audit event {event['seq']}: not linked to the event before it")
        report.problems += _event_problems(event)
        if event["decision_id"] is not None and event["action"] in ("signed_off", "decided"):
            detail = json.loads(event["detail"])
            if event["action"] == "signed_off":
                sealed_hashes[event["decision_id"]] = detail.get("content_hash", "")
            else:
                outcome_hashes[event["decision_id"]] = detail.get("outcome_hash", "")
        expected_seq, prev_hash = event["seq"] + 1, event["hash"]

    for row in db.query("SELECT * FROM decisions ORDER BY id"):
        report.decisions_checked += 1
        what = f"decision {row['id']}"
        report.problems += _seal_problems(what, row, "sealed", "content_hash", _DECISION_COLUMNS)
        if sealed_hashes.pop(row["id"], None) != row["content_hash"]:
            report.problems.append(f"{what}: its hash is not the one the audit chain recorded")
    for row in db.query("SELECT * FROM outcomes ORDER BY decision_id"):
        report.outcomes_checked += 1
        what = f"decision {row['decision_id']} outcome"
        report.problems += _seal_problems(what, row, "sealed", "outcome_hash", _OUTCOME_COLUMNS)
        if outcome_hashes.pop(row["decision_id"], None) != row["outcome_hash"]:
            report.problems.append(f"{what}: its hash is not the one the audit chain recorded")
    # What the chain recorded but the tables no longer hold: a deleted decision or outcome.
    report.problems += [
        f"decision {decision_id}: missing, though the audit chain records its sign-off"
        for decision_id in sorted(sealed_hashes)
    ]
    report.problems += [
        f"decision {decision_id} outcome: missing, though the audit chain records it"
        for decision_id in sorted(outcome_hashes)
    ]

    if anchor is not None:
        report.anchor_checked = True
        report.problems += _anchor_problems(db, anchor)
    return report


def _anchor_problems(db: Database, anchor: dict[str, Any]) -> list[str]:
    if anchor.get("format") != ANCHOR_FORMAT:
        return ["anchor: not an anchor file of this system"]
    seq, expected = anchor.get("seq"), anchor.get("hash")
    if seq == 0:
        return []
    row = db.execute("SELECT hash FROM audit_events WHERE seq = ?", [seq]).fetchone()
    if row is None:
        last, _ = head(db)
        return [
            f"anchor: the chain ends at event {last}, before the anchored event {seq} (truncated)"
        ]
    if row[0] != expected:
        return [f"anchor: event {seq} differs from the anchored head (the chain was rewritten)"]
    return []


def anchor_document(db: Database, *, now: dt.datetime) -> dict[str, Any]:
    seq, digest = head(db)
    return {
        "format": ANCHOR_FORMAT,
        "seq": seq,
        "hash": digest,
        "exported_at": now.astimezone(dt.UTC).isoformat(),
    }


def read_anchor(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError("not an anchor file")
    return document
