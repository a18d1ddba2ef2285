"""Integrity verification: everything a reader relies on, table by table.

- decisions and outcomes: each sealed document's hash, the hash the audit chain recorded, and
  every column compared with the document parsed by the one seal model (core.seal): copied
  fields, and the counts and search text worked out from it. A column that is neither sealed
  nor worked out from the seal is reported, so a field added on one side cannot pass unseen.
- decision_findings: worked out again from the sealed report and compared.
- reviews, exception_requests, staff: compared with the audit chain, whose events record
  every change of status, decision and account.
- the working review: every saved version in `review_versions` matches its hash and the hash
  its audit event recorded (a start, a save, a manager's exception), numbered 1 to the latest
  with none missing; the `reviews` row holds the latest version (or, for a review migration
  m005 upgraded in place, exactly the model's upgrade of it) under its own hash, with its
  version number, closure date and case reference; and `evidence` is worked out again from
  the review's content and compared.
- the search index: rebuilt from the decisions and compared (SQLite; on PostgreSQL the index
  is an index on an expression, which the server keeps itself: nothing to compare).
- the learning figures' tallies: counted again from the rows they count and compared.
- a disposed review (storage.disposal): instead of its seals and content, the rows left are
  compared with the digest its `review_disposed` event recorded, and each redacted event with
  the hash and detail digest recorded there; a row marked disposed of with no such event is a
  problem.
- the schema: every protective trigger (and each table's layout) as the migrations made it
  (on PostgreSQL, with each trigger's function and the indexes: `_pg_schema_problems`).
- audit_events: the chain itself, and (if given) the anchor and, for a keyed anchor, its
  HMAC-SHA256 signature under the operator's key.

Nothing here writes to the database (the search-index comparison uses the connection's own
temporary tables; PostgreSQL's schema comparison builds what this system creates in a
transaction of its own that is always rolled back). A damaged or foreign file is reported as a
problem, never an exception. Both engines are read with the same SQL except where a docstring
says otherwise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlite_utils import Database

from closure_readiness.core.canonical import content_hash
from closure_readiness.core.delta import is_delta_text
from closure_readiness.core.review import Review
from closure_readiness.core.seal import (
    SealedDecisionDoc,
    SealedFinding,
    SealedOutcomeDoc,
    evidence_register,
    same_search_text,
    seal_hash,
)
from closure_readiness.core.workflow import Outcome, ReviewStatus
from closure_readiness.storage import versions
from closure_readiness.storage.audit import event_hash, head
from closure_readiness.storage.database import Db, is_postgres
from closure_readiness.storage.disposal import digest, disposals
from closure_readiness.storage.disposal import kept_rows as tombstone_rows
from closure_readiness.storage.schema import (
    GENESIS_HASH,
    LEARNING_TALLY_FILL,
    LEARNING_TALLY_TABLE,
    MIGRATIONS,
    SEARCH_SOURCE,
    run_script,
)
from closure_readiness.storage.schema_postgres import STORED_WORDS

ANCHOR_FORMAT = "closure-readiness/anchor@1"
ANCHOR_SIGNATURE = "hmac_sha256"
"""The field of a keyed anchor holding the HMAC-SHA256 of its other fields."""
ANCHOR_KEY_MIN_BYTES = 32

sha256_text = seal_hash
"""The seal hash (kept under its earlier name for callers)."""


def _read_errors() -> tuple[type[Exception], ...]:
    """What a failed read raises: sqlite3's errors, and psycopg's once PostgreSQL is in use
    (psycopg is an extra, never imported here for an SQLite database)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return (sqlite3.DatabaseError, ValueError)
    return (sqlite3.DatabaseError, ValueError, psycopg.Error)


def _said(error: Exception) -> str:
    """An error's message on one line (PostgreSQL's span several: the statement, a hint)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(error, psycopg.Error):
        return " ".join(str(error).split())
    return str(error)


def _sqlite(db: Db) -> Database:
    """The SQLite connection behind `db`, for the checks written for SQLite alone."""
    assert isinstance(db, Database)
    return db


_WORDS = {
    "review_id": "review number",
    "case_reference": "case reference",
    "team": "team",
    "closure_reason": "closure reason",
    "signed_by": "person who signed off",
    "signed_at": "time of the sign-off",
    "as_of": "date the checks were run for",
    "checks_version": "checks version",
    "sign_off_possible": "sign-off flag",
    "exceptions": "number of exceptions",
    "cautions": "number of cautions",
    "search_text": "search text",
    "decision_id": "decision number",
    "outcome": "outcome",
    "decided_by": "person who decided",
    "decided_at": "time of the decision",
    "hash_seen": "seal the manager saw",
    "reasons": "reasons",
}


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


# Sealed documents ------------------------------------------------------------------------------


_Doc = TypeVar("_Doc", bound=BaseModel)


def _parsed(
    model: type[_Doc], what: str, row: dict[str, Any], hash_column: str
) -> tuple[_Doc | None, list[str]]:
    """The sealed document of a row, if its stored text matches its hash and parses."""
    text = row["sealed"]
    if not isinstance(text, str) or seal_hash(text) != row[hash_column]:
        return None, [f"{what}: sealed content does not match its hash"]
    try:
        return model.model_validate_json(text), []
    except ValidationError:
        return None, [f"{what}: sealed content is not a record this system writes"]


def _column_problems(
    what: str,
    table: str,
    row: dict[str, Any],
    expected: dict[str, Any],
    storage: Iterable[str],
) -> list[str]:
    problems: list[str] = []
    for name, value in row.items():
        if name in storage:
            continue
        if name not in expected:
            problems.append(
                f"{what}: the column {name} of table {table} is neither sealed nor worked out "
                "from what was sealed"
            )
            continue
        wanted = expected[name]
        if name == "search_text":
            same = isinstance(value, str) and same_search_text(value, wanted)
        else:
            same = value == wanted
        if not same:
            problems.append(f"{what}: the {_WORDS.get(name, name)} does not match what was sealed")
    return problems


def _decision_problems(db: Db, row: dict[str, Any]) -> tuple[SealedDecisionDoc | None, list[str]]:
    """The seal of one decision row, its columns and its findings for the learning figures."""
    what = f"decision {row['id']}"
    document, problems = _parsed(SealedDecisionDoc, what, row, "content_hash")
    if document is None:
        return None, problems
    storage = SealedDecisionDoc.STORAGE_COLUMNS
    if is_postgres(db):  # its words, generated by the server from the row's own text (p010)
        storage = (*storage, STORED_WORDS)
    problems += _column_problems(what, "decisions", row, document.columns(), storage)
    stored = [
        SealedFinding(
            finding_key=f["finding_key"],
            check_id=f["check_id"],
            level=f["level"],
            resolution=f["resolution"],
            resolved_by=f["resolved_by"],
        )
        for f in db.query("SELECT * FROM decision_findings WHERE decision_id = ?", [row["id"]])
    ]
    problems += _finding_problems(what, document.findings(), stored)
    return document, problems


def _finding_problems(
    what: str, sealed: list[SealedFinding], stored: list[SealedFinding]
) -> list[str]:
    expected = {f.finding_key: f for f in sealed}
    held = {f.finding_key: f for f in stored}
    problems = [
        f"{what}: finding {key} of the sealed report is missing from the learning figures"
        for key in expected
        if key not in held
    ]
    problems += [
        f"{what}: finding {key} in the learning figures is not in the sealed report"
        for key in held
        if key not in expected
    ]
    problems += [
        f"{what}: finding {key} in the learning figures does not match the sealed report"
        for key, finding in held.items()
        if key in expected and expected[key] != finding
    ]
    return problems


def _outcome_problems(row: dict[str, Any]) -> tuple[SealedOutcomeDoc | None, list[str]]:
    what = f"decision {row['decision_id']} outcome"
    document, problems = _parsed(SealedOutcomeDoc, what, row, "outcome_hash")
    if document is None:
        return None, problems
    problems += _column_problems(
        what, "outcomes", row, document.columns(), SealedOutcomeDoc.STORAGE_COLUMNS
    )
    return document, problems


# One decision (its page, and before a countersignature) ---------------------------------------


def check_decision(
    db: Db,
    decision_id: int,
    *,
    read: tuple[dict[str, Any], dict[str, Any] | None] | None = None,
) -> list[str]:
    """The seals of one decision and its outcome, and the audit events that name them.

    `read`: the decision's row and its outcome's (None if none), as the caller read them in
    this same transaction, so they are not read again."""
    try:
        return _check_decision(db, decision_id, read)
    except _read_errors() as error:
        return [f"decision {decision_id}: the database could not be read ({_said(error)})"]


def _check_decision(
    db: Db, decision_id: int, read: tuple[dict[str, Any], dict[str, Any] | None] | None
) -> list[str]:
    if read is None:
        row = next(db.query("SELECT * FROM decisions WHERE id = ?", [decision_id]), None)
        if row is None:
            return [f"decision {decision_id}: missing"]
        query = db.query("SELECT * FROM outcomes WHERE decision_id = ?", [decision_id])
        outcome = next(query, None)
    else:
        row, outcome = read
    _, problems = _decision_problems(db, row)
    if outcome is not None:
        problems += _outcome_problems(outcome)[1]
    sealed_in_chain = False
    # Each event with the hash of the one before it, in one query (a query per event gave up
    # the GIL and waited to get it back once per event: slow under load).
    for event in db.query(
        "SELECT e.*, p.hash AS prior_hash FROM audit_events e "
        "LEFT JOIN audit_events p ON p.seq = e.seq - 1 "
        "WHERE e.decision_id = ? ORDER BY e.seq",
        [decision_id],
    ):
        prior_hash = event.pop("prior_hash")
        problems += _event_problems(event)
        expected_prev = GENESIS_HASH if prior_hash is None else prior_hash
        if event["prev_hash"] != expected_prev:
            problems.append(f"audit event {event['seq']}: not linked to the event before it")
        if event["action"] == "signed_off":
            sealed_in_chain = _detail(event).get("content_hash") == row["content_hash"]
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


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    try:
        detail = json.loads(event["detail"])
    except (TypeError, ValueError):
        return {}
    return detail if isinstance(detail, dict) else {}


# What the audit chain says the working tables hold ---------------------------------------------


@dataclass(frozen=True)
class _Saved:
    """A version of a review as its audit event recorded it."""

    content_hash: str
    by: str
    at: str


@dataclass
class _ChainState:
    """The state of reviews, exception requests and staff as the audit events left them."""

    sealed_hashes: dict[int, str] = field(default_factory=dict)
    outcome_hashes: dict[int, str] = field(default_factory=dict)
    reviews: dict[int, dict[str, Any]] = field(default_factory=dict)
    status_events: list[tuple[int, int | None, int | None, str]] = field(default_factory=list)
    """(seq, review id, decision id, status) in chain order; a decision's outcome names the
    decision only, resolved to its review from the sealed decision."""
    requests: dict[int, dict[str, Any]] = field(default_factory=dict)
    staff: dict[str, dict[str, Any]] = field(default_factory=dict)
    review_of: dict[int, int] = field(default_factory=dict)
    """The review of each signed-off decision, as its sign-off event recorded it."""
    versions: dict[int, dict[int, _Saved]] = field(default_factory=dict)
    """Each review's saved versions, as their events (start, save, exception) recorded them."""
    started_at: dict[int, str] = field(default_factory=dict)
    unrecorded_first: set[int] = field(default_factory=set)
    """Reviews started before the start event recorded the first version's hash."""
    unrecorded_grants: dict[int, int] = field(default_factory=dict)
    """Versions written by a manager's exception before the grant event recorded them."""

    def read(self, event: dict[str, Any]) -> None:
        action, detail = event["action"], _detail(event)
        review_id, decision_id = event["review_id"], event["decision_id"]
        if action == "signed_off" and decision_id is not None:
            self.sealed_hashes[decision_id] = str(detail.get("content_hash", ""))
            if review_id is not None:
                self.review_of[decision_id] = review_id
            self.status_events.append((event["seq"], review_id, None, ReviewStatus.SUBMITTED))
        elif action == "decided" and decision_id is not None:
            self.outcome_hashes[decision_id] = str(detail.get("outcome_hash", ""))
            outcome = str(detail.get("outcome", ""))
            if outcome in {o.value for o in Outcome}:
                status = Outcome(outcome).status
                self.status_events.append((event["seq"], None, decision_id, status))
        elif action == "review_started" and review_id is not None:
            self.reviews[review_id] = {"worker_id": event["actor"], **detail}
            self.started_at[review_id] = event["at"]
            if not self._read_version(event, detail):
                self.unrecorded_first.add(review_id)
            self.status_events.append((event["seq"], review_id, None, ReviewStatus.DRAFT))
        elif action == "review_saved" and review_id is not None:
            self._read_version(event, detail)
        elif action == "review_withdrawn" and review_id is not None:
            self.status_events.append((event["seq"], review_id, None, ReviewStatus.WITHDRAWN))
        elif action.startswith("exception_"):
            self._read_request(event, action, detail)
            granted = action == "exception_granted" and review_id is not None
            if granted and not self._read_version(event, detail):
                self.unrecorded_grants[review_id] = self.unrecorded_grants.get(review_id, 0) + 1
        elif action in ("staff_added", "staff_changed"):
            staff_id = str(detail.get("staff_id", ""))
            changes = {k: v for k, v in detail.items() if k != "staff_id"}
            if action == "staff_added":
                self.staff[staff_id] = {"active": 1, **changes}
            else:
                self.staff.setdefault(staff_id, {}).update(changes)

    def _read_version(self, event: dict[str, Any], detail: dict[str, Any]) -> bool:
        """Note the version an event records, if it records one (older events do not)."""
        version, digest = detail.get("version"), detail.get("content_hash")
        if not isinstance(version, int) or not isinstance(digest, str):
            return False
        saved = _Saved(content_hash=digest, by=event["actor"], at=event["at"])
        self.versions.setdefault(event["review_id"], {})[version] = saved
        return True

    def _read_request(self, event: dict[str, Any], action: str, detail: dict[str, Any]) -> None:
        request_id = detail.get("request_id")
        if not isinstance(request_id, int):
            return
        if action == "exception_requested":
            self.requests[request_id] = {
                "review_id": event["review_id"],
                "finding_key": detail.get("finding"),
                "requested_by": event["actor"],
                "requested_at": event["at"],
                "status": "pending",
                "decided_by": None,
                "decided_at": None,
                "manager_reason": "",
                **({"worker_reason": detail["reason"]} if "reason" in detail else {}),
            }
            return
        request = self.requests.setdefault(request_id, {})
        if action in ("exception_granted", "exception_declined"):
            request.update(
                status="granted" if action == "exception_granted" else "declined",
                decided_by=event["actor"],
                decided_at=event["at"],
                manager_reason=detail.get("reason", ""),
            )
        elif action == "exception_request_withdrawn":
            request.update(status="withdrawn", decided_at=event["at"])

    def review_statuses(self) -> dict[int, str]:
        statuses: dict[int, str] = {}
        for _, review_id, decision_id, status in sorted(self.status_events, key=lambda e: e[0]):
            if review_id is None and decision_id is not None:
                review_id = self.review_of.get(decision_id)
            if review_id is not None:
                statuses[review_id] = status
        return statuses


def _label(status: Any) -> str:
    try:
        return ReviewStatus(status).label
    except ValueError:
        return str(status)


def _review_problems(db: Db, chain: _ChainState) -> list[str]:
    problems: list[str] = []
    statuses = chain.review_statuses()
    seen: set[int] = set()
    for row in db.query(
        "SELECT id, status, worker_id, team, case_reference, re_referral_of FROM reviews"
    ):
        what = f"review {row['id']}"
        seen.add(row["id"])
        started = chain.reviews.get(row["id"])
        if started is None:
            problems.append(f"{what}: not recorded in the audit trail")
            continue
        expected = statuses.get(row["id"])
        if row["status"] != expected:
            problems.append(
                f"{what}: its status ({_label(row['status'])}) does not match the audit trail "
                f"({_label(expected)})"
            )
        for name, words in (
            ("worker_id", "allocated worker"),
            ("case_reference", "case reference"),
            ("team", "team"),
            ("re_referral_of", "earlier closure it re-refers"),
        ):
            if name in started and row[name] != started[name]:
                problems.append(f"{what}: its {words} does not match the audit trail")
    problems += [
        f"review {review_id}: missing, though the audit trail records it"
        for review_id in sorted(set(chain.reviews) - seen)
    ]
    return problems


# The working review: its content, its history and its evidence ---------------------------------


def _read_content(text: Any) -> tuple[dict[str, Any], str | None]:
    """A review's stored content as a document, and its content hash (the canonical JSON's,
    as the service works it out); an empty document and no hash when it is not JSON."""
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        return {}, None
    return (document if isinstance(document, dict) else {}), content_hash(document)


def _upgraded(saved: str, stored: str) -> bool:
    """Whether `stored` is exactly the model's upgrade of `saved`: what migration m005 wrote
    in place of an open review's content, without a new version."""
    try:
        return Review.model_validate_json(saved).model_dump_json() == stored
    except ValueError:
        return False


def _version_problems(
    what: str, rows: list[dict[str, Any]], chain: _ChainState, review_id: int
) -> list[str]:
    """Each saved version against its hash and the event that recorded it; none missing."""
    problems: list[str] = []
    recorded = dict(chain.versions.get(review_id, {}))
    numbers = {row["version"] for row in rows}
    highest = max((n for n in numbers if isinstance(n, int)), default=0)
    unrecorded_grants = chain.unrecorded_grants.get(review_id, 0)
    for number in sorted(set(range(1, highest + 1)) | set(recorded)):
        if number not in numbers:
            problems.append(
                f"{what}: version {number} is missing from its history"
                + (" (the audit trail records it)" if number in recorded else "")
            )
    for kept in versions.rebuilt(rows):
        row, number = kept.row, kept.row["version"]
        if kept.delta and kept.document is None:
            problems.append(
                f"{what}: version {number} of its history cannot be rebuilt from the changes "
                "kept for it"
            )
        elif not kept.matches:
            problems.append(f"{what}: version {number} of its history does not match its hash")
        saved = recorded.get(number)
        if saved is None:
            if number == 1 and review_id in chain.unrecorded_first:
                continue
            if isinstance(number, int) and number > 1 and unrecorded_grants:
                unrecorded_grants -= 1  # a manager's exception, granted before events said so
                continue
            problems.append(f"{what}: version {number} of its history is not in the audit trail")
            continue
        if saved.content_hash != row["content_hash"]:
            problems.append(
                f"{what}: version {number} of its history does not match the audit trail"
            )
        if saved.by != row["saved_by"]:
            problems.append(
                f"{what}: the person who saved version {number} does not match the audit trail"
            )
        if not _same_time(row["saved_at"], saved.at):
            problems.append(
                f"{what}: the time version {number} was saved does not match the audit trail"
            )
    return problems


def _latest_whole(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest saved version with its whole content (rebuilt when it is kept as a delta;
    its text left as stored when it cannot be rebuilt, which `_version_problems` reports)."""
    if not rows:
        return None
    latest = rows[-1]
    if not is_delta_text(str(latest["content"])):
        return latest
    floor = max(
        (i for i, r in enumerate(rows) if not is_delta_text(str(r["content"]))),
        default=0,
    )
    last = versions.last_rebuilt(rows[floor:])
    if last is None or last.document is None:
        return latest
    return {**latest, "content": json.dumps(last.document, separators=(",", ":")), "rebuilt": 1}


def _same_document(stored: Any, rebuilt: Any) -> bool:
    """Whether the review's content is the same document as its latest saved version rebuilt
    from a delta (rebuilt as a document, its text is not the stored text)."""
    digest = _read_content(stored)[1]
    return digest is not None and digest == _read_content(rebuilt)[1]


def _content_problems(
    what: str, row: dict[str, Any], latest: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """The review's own content: its hash, the latest version it must hold, and the columns
    worked out from it. Returns the content as a document, for the evidence."""
    problems: list[str] = []
    if latest is None:
        problems.append(f"{what}: its history holds no saved version")
    elif row["version"] != latest["version"]:
        problems.append(
            f"{what}: its version number ({row['version']}) is not its latest saved version "
            f"({latest['version']})"
        )
    document, digest = _read_content(row["content"])
    if digest != row["content_hash"]:
        problems.append(f"{what}: its content does not match its hash")
    if (
        latest is not None
        and row["content"] != latest["content"]
        and not (latest.get("rebuilt") and _same_document(row["content"], latest["content"]))
        and not _upgraded(latest["content"], row["content"])
    ):
        problems.append(f"{what}: its content is not its latest saved version")
    case = document.get("case")
    case = case if isinstance(case, dict) else {}
    for name, words in (
        ("proposed_closure_on", "proposed closure date"),
        ("case_reference", "case reference"),
    ):
        if row[name] != case.get(name):
            problems.append(f"{what}: its {words} does not match its content")
    return document, problems


def _evidence_problems(
    what: str, document: dict[str, Any], stored: list[dict[str, Any]]
) -> list[str]:
    """The evidence rows of a review against the rows worked out again from its content."""
    expected = {str(item["evidence_id"]): item for item in evidence_register(document)}
    held = {str(item["evidence_id"]): item for item in stored}
    problems = [
        f"{what}: evidence item {key} is missing from the evidence records"
        for key in expected
        if key not in held
    ]
    for key, item in held.items():
        if key not in expected:
            problems.append(f"{what}: evidence item {key} in the evidence records is not in it")
        elif item != expected[key]:
            problems.append(
                f"{what}: evidence item {key} in the evidence records does not match it"
            )
    return problems


_EVIDENCE_COLUMNS = "evidence_id, agency, kind, observed_on, direction, shows, record_ref"


def _working_review_problems(
    db: Db,
    chain: _ChainState,
    disposed: set[int],
    only: set[int] | None = None,
    scope: _Scope | None = None,
) -> list[str]:
    """Every review's content, saved versions and evidence (one review at a time: a version
    can hold a long review), or only those in `only`. A disposed review's tombstone is
    checked by `_Disposed`."""
    problems: list[str] = []
    ids = [r[0] for r in db.execute("SELECT id FROM reviews ORDER BY id").fetchall()]
    wanted = [i for i in ids if i not in disposed and (only is None or i in only)]
    for done, review_id in enumerate(wanted, start=1):
        if scope is not None and done % PROGRESS_EVERY == 0:
            scope.progress("reviews", done, len(wanted))
        row = next(
            db.query(
                "SELECT id, version, content, content_hash, proposed_closure_on, "
                "case_reference, created_at FROM reviews WHERE id = ?",
                [review_id],
            )
        )
        what = f"review {row['id']}"
        saved = list(
            db.query(
                "SELECT version, content, content_hash, saved_by, saved_at FROM review_versions "
                "WHERE review_id = ? ORDER BY version",
                [row["id"]],
            )
        )
        problems += _version_problems(what, saved, chain, row["id"])
        document, found = _content_problems(what, row, _latest_whole(saved))
        problems += found
        started = chain.started_at.get(row["id"])
        if started is not None and not _same_time(row["created_at"], started):
            problems.append(f"{what}: the time it was started does not match the audit trail")
        stored = list(
            db.query(f"SELECT {_EVIDENCE_COLUMNS} FROM evidence WHERE review_id = ?", [row["id"]])
        )
        problems += _evidence_problems(what, document, stored)
    for table, words in (("review_versions", "saved versions"), ("evidence", "evidence items")):
        problems += [
            f"review {review_id}: {words} kept for a review that does not exist"
            for (review_id,) in db.execute(
                f"SELECT DISTINCT review_id FROM {table} "
                "WHERE review_id NOT IN (SELECT id FROM reviews) ORDER BY review_id"
            ).fetchall()
        ]
    return problems


def _same_time(stored: Any, recorded: Any) -> bool:
    if stored == recorded:
        return True
    try:
        return bool(dt.datetime.fromisoformat(stored) == dt.datetime.fromisoformat(recorded))
    except (TypeError, ValueError):
        return False


_REQUEST_WORDS = {
    "review_id": "review",
    "finding_key": "gap it concerns",
    "requested_by": "person who asked",
    "status": "status",
    "decided_by": "manager who decided",
    "manager_reason": "manager's reason",
    "worker_reason": "worker's reason",
}


def _rows_against_chain(
    rows: Iterable[dict[str, Any]],
    recorded_by_id: dict[Any, dict[str, Any]],
    *,
    noun: str,
    words: dict[str, str],
    required: str,
    pronouns: tuple[str, str] = ("its", "it"),
    more: Callable[[str, dict[str, Any], dict[str, Any]], list[str]] | None = None,
) -> list[str]:
    """Each row compared with what the audit trail recorded for it, field by field (a field
    the older events lack is skipped); rows the trail never recorded, and recorded rows that
    are gone, are problems too."""
    its, it = pronouns
    problems: list[str] = []
    seen: set[Any] = set()
    for row in rows:
        what = f"{noun} {row['id']}"
        seen.add(row["id"])
        recorded = recorded_by_id.get(row["id"])
        if recorded is None or required not in recorded:
            problems.append(f"{what}: not recorded in the audit trail")
            continue
        differing = [
            label
            for name, label in words.items()
            if name in recorded and row[name] != recorded[name]
        ]
        problems += [
            f"{what}: {its} {label} does not match the audit trail"
            for label in dict.fromkeys(differing)
        ]
        if more is not None:
            problems += more(what, row, recorded)
    problems += [
        f"{noun} {key}: missing, though the audit trail records {it}"
        for key in sorted(set(recorded_by_id) - seen)
    ]
    return problems


def _request_checks(what: str, row: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if str(row["finding_key"]).split(":", 1)[0] != row["check_id"]:
        problems.append(f"{what}: its check does not match the gap it concerns")
    for name, words in (("requested_at", "time asked"), ("decided_at", "time decided")):
        if not _same_time(row[name], recorded.get(name)):
            problems.append(f"{what}: its {words} does not match the audit trail")
    return problems


def _request_problems(db: Db, chain: _ChainState) -> list[str]:
    return _rows_against_chain(
        db.query("SELECT * FROM exception_requests ORDER BY id"),
        chain.requests,
        noun="exception request",
        words=_REQUEST_WORDS,
        required="requested_by",
        more=_request_checks,
    )


_STAFF_WORDS = {
    "role": "role",
    "team": "team",
    "active": "whether the account is active",
    "display_name": "name",
    "issuer": "sign-in identity",
    "subject": "sign-in identity",
}


def _staff_problems(db: Db, chain: _ChainState) -> list[str]:
    return _rows_against_chain(
        db.query("SELECT * FROM staff ORDER BY id"),
        chain.staff,
        noun="member of staff",
        words=_STAFF_WORDS,
        required="role",
        pronouns=("their", "them"),
    )


# Disposed reviews (storage.disposal) -----------------------------------------------------------


@dataclass
class _Disposed:
    """What the disposal events recorded, and which rows the tables mark as disposed of."""

    recorded: dict[int, dict[str, Any]]
    events: dict[int, list[Any]]
    """Each redacted event: seq -> [its hash, the digest of its redacted detail]."""
    review_rows: set[int]
    decision_rows: set[int]
    disposable: bool = True
    """Whether the tables can mark a disposal (migration m006 applied)."""

    @classmethod
    def read(cls, db: Db) -> _Disposed:
        recorded = disposals(db)
        events: dict[int, list[Any]] = {}
        for detail in recorded.values():
            listed = detail.get("events")
            for seq, pair in (listed if isinstance(listed, dict) else {}).items():
                with contextlib.suppress(ValueError):
                    events[int(seq)] = pair if isinstance(pair, list) else []
        # m006 on (or older); PostgreSQL's schema starts with it
        disposable = is_postgres(db) or "disposed_on" in _sqlite(db).table("decisions").columns_dict
        return cls(
            recorded=recorded,
            events=events,
            review_rows=_ids(db, "reviews") if disposable else set(),
            decision_rows=_ids(db, "decisions") if disposable else set(),
            disposable=disposable,
        )

    def problems(self, db: Db) -> list[str]:
        problems = [
            f"review {review_id}: marked as disposed of, but the audit trail records no disposal"
            for review_id in sorted(self.review_rows - set(self.recorded))
        ]
        listed = {
            decision_id
            for detail in self.recorded.values()
            for decision_id in detail.get("decisions", [])
        }
        problems += [
            f"decision {decision_id}: marked as disposed of, but the audit trail records no "
            "disposal"
            for decision_id in sorted(self.decision_rows - listed)
        ]
        for review_id, detail in sorted(self.recorded.items()):
            if digest(tombstone_rows(db, review_id)) != detail.get("kept"):
                problems.append(
                    f"review {review_id}: what was kept when it was disposed of does not match "
                    "what the audit trail recorded (content left, or a kept record changed)"
                )
        return problems


def _ids(db: Db, table: str) -> set[int]:
    """The rows of `table` marked as disposed of."""
    sql = f"SELECT id FROM {table} WHERE disposed_on IS NOT NULL"
    return {row[0] for row in db.execute(sql).fetchall()}


def _redacted_event_problems(event: dict[str, Any], recorded: list[Any]) -> list[str]:
    """An event whose detail a disposal redacted: its hash is the one recorded (so the chain
    still links through it) and its detail is exactly what the disposal left."""
    if len(recorded) != 2 or event["hash"] != recorded[0]:
        return [f"audit event {event['seq']}: not the event the disposal recorded"]
    if digest(event["detail"]) != recorded[1]:
        return [f"audit event {event['seq']}: changed since its details were disposed of"]
    return []


# The search index and the schema ---------------------------------------------------------------


def _search_index_problems(db: Db) -> list[str]:
    """The full-text index compared with an index rebuilt from the decisions, term by term
    (in the connection's temporary schema: nothing is written to the database).

    Since m008 the index holds each decision's facets too (team, status, reason, exceptions,
    re-referral, day), rebuilt here from the decisions, outcomes and re-referrals themselves
    by this code's SQL (not the stored view's), and reported apart from the words.

    PostgreSQL: nothing to compare. Its words are a generated column of each decision
    (`schema_postgres.STORED_WORDS`), which the server works out from the row's own text with
    every change to it and nothing can write: there is no separate index content to drift from
    the decisions, and the schema check compares the column's and the index's definitions with
    what this system creates."""
    if is_postgres(db):
        return []
    names = ("verify_fts_stored", "verify_fts_rebuilt", "verify_fts")
    table = db.execute("PRAGMA main.table_info(decisions_fts)").fetchall()
    faceted = any(row[1] == "facets" for row in table)
    indexed, source = (
        ("case_reference, search_text, facets", f"({SEARCH_SOURCE})")
        if faceted
        else ("case_reference, search_text", "main.decisions")
    )
    differ = {"words": True, "facets": faceted}
    try:
        db.execute(f"CREATE VIRTUAL TABLE temp.verify_fts USING fts5 ({indexed})")
        db.execute(
            f"INSERT INTO temp.verify_fts (rowid, {indexed}) SELECT id, {indexed} FROM {source}"
        )
        db.execute(
            "CREATE VIRTUAL TABLE temp.verify_fts_stored "
            "USING fts5vocab (main, decisions_fts, 'col')"
        )
        db.execute(
            "CREATE VIRTUAL TABLE temp.verify_fts_rebuilt USING fts5vocab (temp, verify_fts, 'col')"
        )
        columns = "term, col, doc, cnt"
        for part, where in (("words", "col != 'facets'"), ("facets", "col = 'facets'")):
            differ[part] = db.execute(
                f"SELECT EXISTS (SELECT {columns} FROM temp.verify_fts_stored WHERE {where} "
                f"EXCEPT SELECT {columns} FROM temp.verify_fts_rebuilt WHERE {where}) "
                f"OR EXISTS (SELECT {columns} FROM temp.verify_fts_rebuilt WHERE {where} "
                f"EXCEPT SELECT {columns} FROM temp.verify_fts_stored WHERE {where})"
            ).fetchone()[0]
    except sqlite3.DatabaseError:
        pass
    finally:
        for name in names:
            with contextlib.suppress(sqlite3.DatabaseError):
                db.execute(f"DROP TABLE IF EXISTS temp.{name}")
    problems = []
    if differ["words"]:
        problems.append(
            "search index: it does not match the decisions (searching may miss a decision)"
        )
    if differ["facets"]:
        problems.append(
            "search index: the team, status, dates and other filters it holds for each "
            "decision do not match the decisions (a search with a filter may miss a decision "
            "or list one that does not match)"
        )
    return problems


_TALLY_COLUMNS = (
    "figure, month, team, check_id, re_referred, n, rationales, exceptions, with_exception"
)


_PG_TALLIES_COUNTED = """
SELECT CASE o.outcome WHEN 'approved' THEN 'closures' ELSE 'returns' END,
       substr(o.decided_at, 1, 7), d.team, '', 0, count(*), 0, 0, 0
FROM outcomes o JOIN decisions d ON d.id = o.decision_id
WHERE o.outcome IN ('approved', 'returned') GROUP BY 1, 2, 3
UNION ALL
SELECT 'gaps', '', '', f.check_id, 0, count(DISTINCT f.decision_id),
       sum((f.resolution = 'rationale')::int), sum((f.resolution = 'exception')::int), 0
FROM decision_findings f
WHERE f.decision_id IN (SELECT min(id) FROM decisions GROUP BY review_id) AND f.level != 'note'
GROUP BY f.check_id
UNION ALL
SELECT 're_referral', '', '', '',
       (EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id))::int,
       count(*), sum(d.cautions), sum(d.exceptions), sum((d.exceptions > 0)::int)
FROM decisions d JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'
GROUP BY 5
UNION ALL
SELECT 're_referral_check', '', '', f.check_id,
       (EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id))::int,
       count(*), 0, 0, 0
FROM decision_findings f JOIN decisions d ON d.id = f.decision_id
JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'
WHERE f.resolution IN ('rationale', 'exception')
GROUP BY 4, 5
"""
"""Every tally worked out from the stored rows on PostgreSQL: SQLite's `LEARNING_TALLY_FILL`,
as one query (a read-only transaction cannot make the temporary table SQLite fills)."""


def _pg_tallies_differ(db: Db) -> bool:
    """Whether the tallies differ from the counts worked out again (PostgreSQL)."""
    differ = db.execute(
        f"WITH counted ({_TALLY_COLUMNS}) AS ({_PG_TALLIES_COUNTED}) "
        f"SELECT EXISTS (SELECT {_TALLY_COLUMNS} FROM learning_tally WHERE n != 0 "
        f"EXCEPT SELECT {_TALLY_COLUMNS} FROM counted) "
        f"OR EXISTS (SELECT {_TALLY_COLUMNS} FROM counted "
        f"EXCEPT SELECT {_TALLY_COLUMNS} FROM learning_tally)"
    ).fetchone()[0]
    return bool(differ)


def _tally_problems(db: Db) -> list[str]:
    """The learning figures' tallies against the same counts worked out from the decisions,
    outcomes, findings and re-referrals (in the connection's temporary schema; on PostgreSQL
    in one query, `_PG_TALLIES_COUNTED`)."""
    if is_postgres(db):
        return _tally_words(_pg_tallies_differ(db))
    db = _sqlite(db)
    if not db.table("learning_tally").exists():
        return []  # an older database: the figures are counted from the rows themselves
    try:
        in_temp = "temp.verify_tally"
        run_script(db, LEARNING_TALLY_TABLE.replace("learning_tally", in_temp))
        run_script(db, LEARNING_TALLY_FILL.replace("learning_tally", in_temp))
        differ = db.execute(
            f"SELECT EXISTS (SELECT {_TALLY_COLUMNS} FROM main.learning_tally WHERE n != 0 "
            f"EXCEPT SELECT {_TALLY_COLUMNS} FROM temp.verify_tally) "
            f"OR EXISTS (SELECT {_TALLY_COLUMNS} FROM temp.verify_tally "
            f"EXCEPT SELECT {_TALLY_COLUMNS} FROM main.learning_tally)"
        ).fetchone()[0]
    except sqlite3.DatabaseError:
        differ = True
    finally:
        with contextlib.suppress(sqlite3.DatabaseError):
            db.execute("DROP TABLE IF EXISTS temp.verify_tally")
    return _tally_words(differ)


def _tally_words(differ: object) -> list[str]:
    if differ:
        return [
            "learning figures: their counts do not match the decisions, outcomes and findings "
            "they count"
        ]
    return []


@functools.cache
def _expected_schema(stop_before: str | None) -> dict[tuple[str, str], str]:
    """Every trigger and table as the migrations (up to `stop_before`) create them."""
    conn = sqlite3.connect(":memory:")
    try:
        MIGRATIONS.apply(Database(conn), stop_before=stop_before)
        return _schema(conn.execute("SELECT type, name, sql FROM sqlite_master"))
    finally:
        conn.close()


def _schema(rows: Iterable[Any]) -> dict[tuple[str, str], str]:
    return {
        (kind, name): sql
        for kind, name, sql in rows
        if kind in ("trigger", "table")
        and sql
        and not name.startswith(("sqlite_", "_sqlite"))
        and not (kind == "table" and name.startswith("decisions_fts_"))  # the index's own
    }


def _schema_problems(db: Db) -> list[str]:
    if is_postgres(db):
        return _pg_schema_problems(db)
    db = _sqlite(db)
    pending = MIGRATIONS.pending(db)
    expected = _expected_schema(pending[0].name if pending else None)
    actual = _schema(db.execute("SELECT type, name, sql FROM sqlite_master").fetchall())
    problems: list[str] = []
    for (kind, name), sql in expected.items():
        held = actual.get((kind, name))
        if kind == "trigger":
            if held is None:
                problems.append(f"database safeguard {name}: missing")
            elif held != sql:
                problems.append(
                    f"database safeguard {name}: changed from what this system installs"
                )
        elif held is not None and held != sql:
            problems.append(f"table {name}: its layout differs from what this system creates")
        elif held is None:
            problems.append(f"table {name}: missing")
    problems += [
        f"database safeguard {name}: not one this system installs"
        for kind, name in sorted(set(actual) - set(expected))
        if kind == "trigger"
    ]
    return problems


# The schema on PostgreSQL ----------------------------------------------------------------------


_PG_CATALOG = {
    "trigger": """
        SELECT t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s AND NOT t.tgisinternal""",
    "function": """
        SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               pg_get_functiondef(p.oid), ''
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = %(schema)s AND p.prokind = 'f'
          AND p.prorettype = 'trigger'::regtype""",
    "index": """
        SELECT i.relname, pg_get_indexdef(i.oid),
               CASE WHEN x.indisvalid AND x.indisready THEN '' ELSE 'not valid' END
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s""",
    "table": """
        SELECT c.relname, format('kind %%s, persistence %%s, row security %%s %%s', c.relkind,
               c.relpersistence, c.relrowsecurity, c.relforcerowsecurity), ''
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')""",
    "column": """
        SELECT c.relname, concat_ws(' ', quote_ident(a.attname),
               format_type(a.atttypid, a.atttypmod),
               CASE WHEN co.oid IS NOT NULL THEN format('collate %%s', co.collname) END,
               CASE WHEN a.attnotnull THEN 'not null' END,
               CASE WHEN d.oid IS NOT NULL THEN 'default ' || pg_get_expr(d.adbin, d.adrelid) END,
               CASE WHEN a.attidentity <> '' THEN format('identity %%s', a.attidentity) END,
               CASE WHEN a.attgenerated <> '' THEN format('generated %%s', a.attgenerated) END
               ), ''
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
        ORDER BY c.relname, a.attnum""",
    "constraint": """
        SELECT c.relname, o.conname || ' ' || pg_get_constraintdef(o.oid), ''
        FROM pg_constraint o JOIN pg_class c ON c.oid = o.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s ORDER BY c.relname, o.conname""",
}
"""The parts of a schema that `verify` compares, as PostgreSQL itself writes them out
(`pg_get_*def`): each trigger, whether it is turned on, its function, each index (and whether
it is valid), and each table's kind, persistence, row security, columns and constraints."""


@dataclass(frozen=True)
class _PgSchema:
    """One schema's triggers, trigger functions, indexes and tables, as PostgreSQL writes them
    out with the schema's name left out (so that two schemas made alike compare equal)."""

    objects: dict[tuple[str, str], str]
    turned_off: frozenset[str]
    """The triggers turned off (ALTER TABLE ... DISABLE TRIGGER)."""

    @classmethod
    def read(cls, conn: Any, schema: str) -> _PgSchema:
        quoted = conn.execute("SELECT quote_ident(%s)", [schema]).fetchone()[0]
        qualifier = re.compile(r'(?<![\w"$])' + re.escape(quoted) + r"\.")
        objects: dict[tuple[str, str], str] = {}
        turned_off: set[str] = set()
        for kind, sql in _PG_CATALOG.items():
            for name, text, state in conn.execute(sql, {"schema": schema}).fetchall():
                text = qualifier.sub("", text)
                if kind in ("column", "constraint"):  # a table's layout: its columns, then rules
                    objects[("table", name)] = objects.get(("table", name), "") + "\n" + text
                    continue
                objects[(kind, name)] = text + (f" ({state})" if kind == "index" and state else "")
                if kind == "trigger" and state != "O":
                    turned_off.add(name)
        return cls(objects=objects, turned_off=frozenset(turned_off))


_PG_EXPECTED: dict[tuple[int, tuple[str, ...]], _PgSchema] = {}
"""What this system creates, per server version and migrations applied, once per process."""


def _pg_expected_schema(db: Db, applied: set[str]) -> _PgSchema:
    """The schema this system's migrations (those `applied` to the database) create, built
    in a throwaway schema in a transaction of its own that is always rolled back, so that
    PostgreSQL writes out both sides alike (`_PgSchema.read`)."""
    import psycopg

    from closure_readiness.storage import postgres, schema_postgres

    url = db.url  # type: ignore[attr-defined]
    steps = []
    for step in schema_postgres.MIGRATIONS:
        if step.__name__ not in applied:
            break  # as SQLite's: up to the first migration not applied
        steps.append(step)
    key = (db.conn.info.server_version, tuple(step.__name__ for step in steps))  # type: ignore[attr-defined]
    if key in _PG_EXPECTED:
        return _PG_EXPECTED[key]
    name = f"closure_verify_{secrets.token_hex(8)}"
    conn = psycopg.connect(
        url.url,
        application_name="closure-readiness verify",
        options=f"-c lock_timeout={postgres.BUSY_TIMEOUT_MS} -c TimeZone=UTC",
    )
    try:
        conn.execute(f"CREATE SCHEMA {name}")  # a transaction begins; never committed
        conn.execute(f"SET LOCAL search_path = {name}")
        throwaway = postgres.PgDatabase(conn, url)
        for step in steps:
            step(throwaway)
        expected = _PgSchema.read(conn, name)
    finally:
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        conn.close()
    _PG_EXPECTED[key] = expected
    return expected


def _pg_schema_problems(db: Db) -> list[str]:
    """The schema of a PostgreSQL database against what this system creates.

    SQLite keeps each object's SQL as written, which `verify` compares with the migrations'
    SQL run in memory. PostgreSQL writes an object out again from its catalogs, in words that
    depend on its version; so the migrations this database has had are run in a throwaway
    schema, in a second connection's transaction that is always rolled back (nothing is
    committed; the server must let this account create a schema, or this check is reported
    as not made), and both are written out alike and compared: every trigger (and that it is
    turned on), each trigger's function (its whole definition: body, language, security and
    settings), every index, and each table's columns, constraints, persistence and row
    security. The bookkeeping table of migrations is left out, as SQLite's is. What this
    system creates is built once per process for each server version."""
    from closure_readiness.storage import schema_postgres

    try:
        applied = schema_postgres.applied(db)  # type: ignore[arg-type]
        expected = _pg_expected_schema(db, applied)
    except _read_errors() as error:
        return [
            "database safeguards: they could not be compared with what this system creates "
            "(verify builds those in a schema of its own, always rolled back, and the server "
            f"refused: {_said(error)})"
        ]
    schema = db.execute("SELECT current_schema()").fetchone()[0]
    actual = _PgSchema.read(db.conn, schema)  # type: ignore[attr-defined]
    problems: list[str] = []
    for (kind, name), definition in sorted(expected.objects.items()):
        held = actual.objects.get((kind, name))
        if kind in ("trigger", "function"):
            safeguard = name.split("(", 1)[0]
            if held is None:
                problems.append(f"database safeguard {safeguard}: missing")
            elif held != definition:
                problems.append(
                    f"database safeguard {safeguard}: changed from what this system installs"
                )
            elif kind == "trigger" and name in actual.turned_off:
                problems.append(f"database safeguard {safeguard}: turned off")
        elif held is None:
            problems.append(f"{kind} {name}: missing")
        elif held != definition:
            problems.append(
                f"table {name}: its layout differs from what this system creates"
                if kind == "table"
                else f"index {name}: it differs from what this system creates"
            )
    problems += [
        f"database safeguard {name}: not one this system installs"
        for kind, name in sorted(set(actual.objects) - set(expected.objects))
        if kind == "trigger"
    ]
    return list(dict.fromkeys(problems))


# Everything ------------------------------------------------------------------------------------


Progress = Callable[[str, int, int], None]
"""Told (what, how many done, of how many) as a long check goes on."""
PROGRESS_EVERY = 1000
"""Decisions or reviews between two reports of progress."""


def verify(
    db: Db,
    anchor: dict[str, Any] | None = None,
    key: bytes | None = None,
    *,
    since: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> IntegrityReport:
    """Check the file, the schema, every seal, the whole chain, the tables the chain covers,
    the search index and (if given) the anchor, with its signature under `key` if given.

    With `since` (an anchor from an earlier run), an incremental run: the anchor is checked
    against the chain (and `key`), the whole chain and every table the chain covers are
    checked as always, but seals, saved versions and evidence only for the decisions and
    reviews that events after the anchor wrote; SQLite's own file check and the search index
    are left to the full run. Read-only; problems, never exceptions."""
    report = IntegrityReport()
    scope = _Scope(since_seq=0, progress=progress or _quiet)
    try:
        if since is not None:
            report.anchor_checked = True
            report.problems += _anchor_problems(db, since, key)
            scope = _Scope(since_seq=_seq_of(since), progress=scope.progress)
            if report.problems:
                return report
            if not _is_store(db, report):
                return report
        elif not _readable(db, report):
            return report
        _verify(db, report, scope)
    except _read_errors() as error:
        report.problems.append(f"the database could not be read to the end ({_said(error)})")
    if anchor is not None:
        report.anchor_checked = True
        unreadable: tuple[type[Exception], ...] = (*_read_errors(), TypeError)
        try:
            report.problems += _anchor_problems(db, anchor, key)
        except unreadable:
            report.problems.append("anchor: the chain could not be read to compare it")
    return report


def _quiet(what: str, done: int, total: int) -> None:
    """No progress shown."""


def _seq_of(anchor: dict[str, Any]) -> int:
    seq = anchor.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 else 0


@dataclass(frozen=True)
class _Scope:
    """What a run checks row by row: everything (a full run, `since_seq` 0), or what events
    after an anchor's event wrote (an incremental run)."""

    since_seq: int
    progress: Progress

    @property
    def full(self) -> bool:
        return self.since_seq == 0


_WRITES = frozenset(
    {
        "review_started",
        "review_saved",
        "review_withdrawn",
        "signed_off",
        "decided",
        "exception_requested",
        "exception_granted",
        "exception_declined",
        "exception_request_withdrawn",
        "review_disposed",
    }
)
"""The events that write a review, a decision or an outcome (a view or a search does not)."""


def _is_store(db: Db, report: IntegrityReport) -> bool:
    if is_postgres(db):
        return _pg_is_store(db, report)
    db = _sqlite(db)
    try:
        if db.table("audit_events").exists() and db.table("decisions").exists():
            return True
    except sqlite3.DatabaseError as error:
        report.problems.append(f"the file is not a readable database ({error})")
        return False
    report.problems.append("the file is not a Closure Readiness database (no audit trail)")
    return False


def _pg_is_store(db: Db, report: IntegrityReport) -> bool:
    """Whether a PostgreSQL database holds this system's tables (in its current schema)."""
    if {"audit_events", "decisions"} <= set(db.table_names()):  # type: ignore[attr-defined]
        return True
    report.problems.append("the database is not a Closure Readiness database (no audit trail)")
    return False


def _readable(db: Db, report: IntegrityReport) -> bool:
    """SQLite's own check of the file first: nothing else is trusted on a damaged file.

    PostgreSQL has no counterpart that any account may run (amcheck's functions need a
    superuser or a grant of each one): in its place the server checks each page as it reads it
    (a page whose checksum fails, with data checksums on, is an error), and an error met while
    reading is reported as a problem, as a damaged SQLite file is."""
    if is_postgres(db):
        return _pg_is_store(db, report)
    db = _sqlite(db)
    try:
        results = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as error:
        report.problems.append(f"the file is not a readable database ({error})")
        return False
    if results != ["ok"]:
        report.problems.append(
            "the file is damaged: SQLite's own check failed (" + "; ".join(results[:3]) + ")"
        )
        return False
    if not db.table("audit_events").exists() or not db.table("decisions").exists():
        report.problems.append("the file is not a Closure Readiness database (no audit trail)")
        return False
    return True


def _verify(db: Db, report: IntegrityReport, scope: _Scope) -> None:
    report.problems += _schema_problems(db)
    chain = _ChainState()
    gone = _Disposed.read(db)
    written = _Written()
    expected_seq, prev_hash = 1, GENESIS_HASH
    for event in db.query("SELECT * FROM audit_events ORDER BY seq"):
        report.events_checked += 1
        if event["seq"] != expected_seq:
            report.problems.append(
                f"audit chain: event {expected_seq} is missing (next is {event['seq']})"
            )
        if event["prev_hash"] != prev_hash:
            report.problems.append(f"audit event {event['seq']}: not linked to the event before it")
        redacted = gone.events.get(event["seq"])
        if redacted is None:
            report.problems += _event_problems(event)
        else:
            report.problems += _redacted_event_problems(event, redacted)
        chain.read(event)
        if event["seq"] > scope.since_seq and event["action"] in _WRITES:
            written.note(event)
        expected_seq, prev_hash = event["seq"] + 1, event["hash"]
    written.resolve(chain)
    report.problems += _sealed_problems(db, report, chain, gone, written, scope)
    report.problems += _review_problems(db, chain)
    reviews = None if scope.full else written.reviews
    report.problems += _working_review_problems(db, chain, gone.review_rows, reviews, scope)
    report.problems += gone.problems(db)
    report.problems += _request_problems(db, chain)
    report.problems += _staff_problems(db, chain)
    if scope.full:
        report.problems += _search_index_problems(db)
    report.problems += _tally_problems(db)


@dataclass
class _Written:
    """The decisions and reviews that events after the anchor wrote (an incremental run)."""

    decisions: set[int] = field(default_factory=set)
    reviews: set[int] = field(default_factory=set)

    def note(self, event: dict[str, Any]) -> None:
        if isinstance(event["decision_id"], int):
            self.decisions.add(event["decision_id"])
        if isinstance(event["review_id"], int):
            self.reviews.add(event["review_id"])

    def resolve(self, chain: _ChainState) -> None:
        """An outcome names its decision only: its review is written too (a status)."""
        self.reviews |= {chain.review_of[d] for d in self.decisions if d in chain.review_of}


def _sealed_problems(
    db: Db,
    report: IntegrityReport,
    chain: _ChainState,
    gone: _Disposed,
    written: _Written,
    scope: _Scope,
) -> list[str]:
    """Every decision's and outcome's hash against the chain; their seals, columns and
    findings in full for every one (a full run) or those written since the anchor."""
    problems: list[str] = []
    total = db.execute("SELECT count(*) FROM decisions").fetchone()[0]
    disposed = "disposed_on" if gone.disposable else "NULL AS disposed_on"
    for row in db.query(f"SELECT id, content_hash, {disposed} FROM decisions ORDER BY id"):
        report.decisions_checked += 1
        wanted = scope.full or row["id"] in written.decisions
        if row.get("disposed_on") is None and wanted:
            full = next(db.query("SELECT * FROM decisions WHERE id = ?", [row["id"]]))
            problems += _decision_problems(db, full)[1]
        if chain.sealed_hashes.pop(row["id"], None) != row["content_hash"]:
            problems.append(
                f"decision {row['id']}: its hash is not the one the audit chain recorded"
            )
        if report.decisions_checked % PROGRESS_EVERY == 0:
            scope.progress("decisions", report.decisions_checked, total)
    problems += [
        f"decision {decision_id}: findings in the learning figures for a decision that does "
        "not exist"
        for (decision_id,) in db.execute(
            "SELECT DISTINCT decision_id FROM decision_findings "
            "WHERE decision_id NOT IN (SELECT id FROM decisions) ORDER BY decision_id"
        ).fetchall()
    ]
    for row in db.query("SELECT decision_id, outcome_hash FROM outcomes ORDER BY decision_id"):
        report.outcomes_checked += 1
        decision_id = row["decision_id"]
        wanted = scope.full or decision_id in written.decisions
        if decision_id not in gone.decision_rows and wanted:
            full = next(db.query("SELECT * FROM outcomes WHERE decision_id = ?", [decision_id]))
            problems += _outcome_problems(full)[1]
        if chain.outcome_hashes.pop(decision_id, None) != row["outcome_hash"]:
            problems.append(
                f"decision {decision_id} outcome: its hash is not the one the audit chain recorded"
            )
    # What the chain recorded but the tables no longer hold: a deleted decision or outcome.
    problems += [
        f"decision {decision_id}: missing, though the audit chain records its sign-off"
        for decision_id in sorted(chain.sealed_hashes)
    ]
    problems += [
        f"decision {decision_id} outcome: missing, though the audit chain records it"
        for decision_id in sorted(chain.outcome_hashes)
    ]
    return problems


# Anchors ---------------------------------------------------------------------------------------


def _anchor_problems(db: Db, anchor: dict[str, Any], key: bytes | None = None) -> list[str]:
    if anchor.get("format") != ANCHOR_FORMAT:
        return ["anchor: not an anchor file of this system"]
    problems = [] if key is None else _signature_problems(anchor, key)
    seq, expected = anchor.get("seq"), anchor.get("hash")
    if seq == 0:
        return problems
    row = db.execute("SELECT hash FROM audit_events WHERE seq = ?", [seq]).fetchone()
    if row is None:
        last, _ = head(db)
        problems.append(
            f"anchor: the chain ends at event {last}, before the anchored event {seq} (truncated)"
        )
    elif row[0] != expected:
        problems.append(
            f"anchor: event {seq} differs from the anchored head (the chain was rewritten)"
        )
    return problems


def _signature_problems(anchor: dict[str, Any], key: bytes) -> list[str]:
    signature = anchor.get(ANCHOR_SIGNATURE)
    if not isinstance(signature, str):
        return ["anchor: it is not signed (written without a key), so this key cannot confirm it"]
    if not hmac.compare_digest(signature, anchor_signature(anchor, key)):
        return ["anchor: the anchor's signature does not match: it was not written with this key"]
    return []


def anchor_signature(anchor: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256, under the operator's key, of the anchor's fields (format, event, hash and
    time) as canonical JSON: whoever lacks the key can neither forge nor edit an anchor."""
    fields = {name: anchor.get(name) for name in ("format", "seq", "hash", "exported_at")}
    message = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def anchor_document(db: Db, *, now: dt.datetime, key: bytes | None = None) -> dict[str, Any]:
    """The chain's head as an anchor; signed with `key` (a keyed anchor) if given."""
    seq, digest = head(db)
    document: dict[str, Any] = {
        "format": ANCHOR_FORMAT,
        "seq": seq,
        "hash": digest,
        "exported_at": now.astimezone(dt.UTC).isoformat(),
    }
    if key is not None:
        document[ANCHOR_SIGNATURE] = anchor_signature(document, key)
    return document


def read_anchor_key(path: Path) -> bytes:
    """The operator's anchor key: a regular file only its owner may read or change, of at
    least 32 bytes (a final line break is not part of the key). ValueError, in plain words,
    for anything else."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise ValueError("not a key file (give the file holding the key)")
        if status.st_mode & 0o077:
            raise ValueError(
                "other accounts can read or change this key file; make it its owner's only "
                f"(chmod 600 {path}), and make a new key if it may have been copied"
            )
        key = path.read_bytes().rstrip(b"\r\n")
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except PermissionError:
        raise ValueError("permission denied") from None
    if len(key) < ANCHOR_KEY_MIN_BYTES:
        raise ValueError(
            f"the key is shorter than {ANCHOR_KEY_MIN_BYTES} bytes; make one as "
            "docs/operations.md says"
        )
    return key


def read_anchor(path: Path) -> dict[str, Any]:
    """An anchor file written by `anchor_document`; ValueError for anything else. An anchor
    of event 0 (an empty chain) or with a malformed field would check nothing: refused."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not an anchor file (not UTF-8 text)") from None
    except json.JSONDecodeError:
        raise ValueError("not an anchor file (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != ANCHOR_FORMAT:
        raise ValueError("not an anchor file of this system")
    seq, digest, exported = document.get("seq"), document.get("hash"), document.get("exported_at")
    if type(seq) is not int or seq < 1:
        raise ValueError("the anchored event must be a whole number from 1")
    if not (
        isinstance(digest, str) and len(digest) == 64 and set(digest) <= set("0123456789abcdef")
    ):
        raise ValueError("the anchored hash must be 64 hexadecimal characters")
    try:
        dated = isinstance(exported, str) and bool(dt.datetime.fromisoformat(exported))
    except ValueError:
        dated = False
    if not dated:
        raise ValueError("the anchor's export time is missing or not a date and time")
    signature = document.get(ANCHOR_SIGNATURE)
    if signature is not None and not (
        isinstance(signature, str)
        and len(signature) == 64
        and set(signature) <= set("0123456789abcdef")
    ):
        raise ValueError("the anchor's signature must be 64 hexadecimal characters")
    return document
