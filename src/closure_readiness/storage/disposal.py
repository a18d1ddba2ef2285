"""Disposal: a review's records past their retention date become a tombstone (decision #54).

What goes: the review's content, case reference and every saved version's content; its
evidence rows; each decision's sealed document, case reference and search text (and its
entries in the search index); each outcome's sealed document and reasons; the reasons of its
exception requests; and, in each audit event about the review or its decisions, every detail
but the hashes, numbers and outcomes the chain is checked with.

What stays: that there was a review and a decision, the team, who signed and decided and when,
the outcome, the hashes, and the findings (check, level, resolution) the learning figures
count. No names were ever stored; with the case reference gone, nothing left identifies the
young person.

The disposal is one audit event (`review_disposed`) appended before anything is changed: it
records the hash of every event it redacts, the digest of each redacted detail and the digest
of the rows as left, so `verify` checks a tombstone as strictly as a seal. The triggers of
migration m006 allow exactly this change and nothing after it. Old content is overwritten in
the file (`secure_delete`), not merely unlinked.

On PostgreSQL the same rows are written the same way, and its triggers (`schema_postgres`)
allow the same change. Two steps have no counterpart there. `secure_delete`: an UPDATE leaves
the old row version in the table until VACUUM (run by the server's autovacuum) reclaims its
space, and the write-ahead log holds it until the log is recycled; backups and log archives
hold it for as long as they are kept. And merging the search index: it is an index on an
expression of the decision's own columns, updated with the row itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from closure_readiness.core.canonical import canonical_json
from closure_readiness.storage import audit
from closure_readiness.storage.database import Db, is_postgres
from closure_readiness.storage.repositories import DECISION_COLUMNS

DISPOSAL_ACTION = "review_disposed"

KEPT_DETAIL = frozenset(
    {
        "version",
        "content_hash",
        "re_referral_of",
        "team",
        "follows_return_of",
        "request_id",
        "finding",
        "outcome",
        "outcome_hash",
        "checks_version",
        "via",
    }
)
"""The keys of an audit event's detail kept at disposal: hashes, numbers, the team, the check a
request concerned and the outcome; never free text or the case reference."""


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def redacted_detail(detail_text: str) -> str:
    """An event's detail with only the kept keys (canonical JSON)."""
    try:
        detail = json.loads(detail_text)
    except ValueError:
        detail = {}
    if not isinstance(detail, dict):
        detail = {}
    return canonical_json({key: value for key, value in detail.items() if key in KEPT_DETAIL})


def kept_rows(db: Db, review_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row a disposal leaves about one review, as `verify` compares them."""
    where_decisions = "SELECT id FROM decisions WHERE review_id = ?"
    queries = {
        "reviews": ("SELECT * FROM reviews WHERE id = ?", "id"),
        "review_versions": ("SELECT * FROM review_versions WHERE review_id = ?", "version"),
        "evidence": ("SELECT * FROM evidence WHERE review_id = ?", "evidence_id"),
        # The columns both engines hold: PostgreSQL's stored words follow the text (p010).
        "decisions": (
            f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions WHERE review_id = ?",
            "id",
        ),
        "decision_findings": (
            f"SELECT * FROM decision_findings WHERE decision_id IN ({where_decisions})",
            "decision_id, finding_key",
        ),
        "outcomes": (
            f"SELECT * FROM outcomes WHERE decision_id IN ({where_decisions})",
            "decision_id",
        ),
        "exception_requests": ("SELECT * FROM exception_requests WHERE review_id = ?", "id"),
    }
    return {
        table: list(db.query(f"{sql} ORDER BY {order}", [review_id]))
        for table, (sql, order) in queries.items()
    }


def tombstone(rows: dict[str, list[dict[str, Any]]], on: str) -> dict[str, list[dict[str, Any]]]:
    """The same rows once disposed of on `on` (an ISO date)."""
    blank = {
        "reviews": {"content": "", "case_reference": "", "disposed_on": on},
        "review_versions": {"content": ""},
        "decisions": {"sealed": "", "case_reference": "", "search_text": "", "disposed_on": on},
        "outcomes": {"sealed": "", "reasons": ""},
        "exception_requests": {"worker_reason": "", "manager_reason": ""},
    }
    left = {
        table: [{**row, **blank.get(table, {})} for row in held] for table, held in rows.items()
    }
    left["evidence"] = []
    return left


def events_about(db: Db, review_id: int) -> list[dict[str, Any]]:
    """The audit events naming the review or one of its decisions (not a disposal)."""
    return list(
        db.query(
            "SELECT seq, hash, detail FROM audit_events WHERE action != ? AND ("
            "review_id = ? OR decision_id IN (SELECT id FROM decisions WHERE review_id = ?)) "
            "ORDER BY seq",
            [DISPOSAL_ACTION, review_id, review_id],
        )
    )


@dataclass(frozen=True)
class Disposal:
    """What the disposal event records (its detail)."""

    review_id: int
    on: str
    dispose_on: str
    decisions: list[int]
    events: dict[str, list[str]]
    """Each redacted event: seq -> [its hash, the digest of its redacted detail]."""
    kept: str
    """The digest of the rows as left (`kept_rows` after `tombstone`)."""

    def detail(self) -> dict[str, Any]:
        return {
            "on": self.on,
            "dispose_on": self.dispose_on,
            "decisions": self.decisions,
            "events": self.events,
            "kept": self.kept,
        }


class DisposalFailed(RuntimeError):
    """The rows as written are not the tombstone recorded: the transaction must roll back."""


def dispose_review(
    db: Db, review_id: int, *, at: dt.datetime, actor: str, dispose_on: dt.date
) -> Disposal:
    """Turn one review's records into a tombstone. Call inside a write transaction; the
    caller has checked the review is final, due and intact."""
    on = at.astimezone(dt.UTC).date().isoformat()
    rows = kept_rows(db, review_id)
    left = tombstone(rows, on)
    events = events_about(db, review_id)
    disposal = Disposal(
        review_id=review_id,
        on=on,
        dispose_on=dispose_on.isoformat(),
        decisions=[row["id"] for row in rows["decisions"]],
        events={str(e["seq"]): [e["hash"], digest(redacted_detail(e["detail"]))] for e in events},
        kept=digest(left),
    )
    if not is_postgres(db):  # PostgreSQL: no counterpart (the module's docstring)
        db.execute("PRAGMA secure_delete = ON")
    audit.append(
        db,
        at=at,
        actor=actor,
        action=DISPOSAL_ACTION,
        review_id=review_id,
        detail=disposal.detail(),
    )
    _write_tombstone(db, rows, on)
    for event in events:
        db.execute(
            "UPDATE audit_events SET detail = ? WHERE seq = ?",
            [redacted_detail(event["detail"]), event["seq"]],
        )
    if digest(kept_rows(db, review_id)) != disposal.kept:
        raise DisposalFailed(f"review {review_id}: the rows left are not the tombstone recorded")
    return disposal


def _write_tombstone(db: Db, rows: dict[str, list[dict[str, Any]]], on: str) -> None:
    for decision in rows["decisions"]:
        if not is_postgres(db):  # PostgreSQL's index follows the row (the module's docstring)
            db.execute(  # out of the index with the words and facets it holds (schema m008)
                "INSERT INTO decisions_fts (decisions_fts, rowid, case_reference, search_text, "
                "facets) SELECT 'delete', id, case_reference, search_text, facets "
                "FROM decisions_search WHERE id = ? AND facets != ''",
                [decision["id"]],
            )
        db.execute(
            "UPDATE decisions SET sealed = '', case_reference = '', search_text = '', "
            "disposed_on = ? WHERE id = ?",
            [on, decision["id"]],
        )
        db.execute(
            "UPDATE outcomes SET sealed = '', reasons = '' WHERE decision_id = ?",
            [decision["id"]],
        )
    review_id = rows["reviews"][0]["id"]
    db.execute(
        "UPDATE reviews SET content = '', case_reference = '', disposed_on = ? WHERE id = ?",
        [on, review_id],
    )
    db.execute("UPDATE review_versions SET content = '' WHERE review_id = ?", [review_id])
    db.execute("DELETE FROM evidence WHERE review_id = ?", [review_id])
    db.execute(
        "UPDATE exception_requests SET worker_reason = '', manager_reason = '' WHERE review_id = ?",
        [review_id],
    )


def compact_search_index(db: Db) -> None:
    """Merge the search index so the terms of disposed decisions leave it (a delete in FTS5
    only marks them until segments merge). Inside the disposal's transaction. PostgreSQL:
    nothing to merge (the module's docstring)."""
    if not is_postgres(db):
        db.execute("INSERT INTO decisions_fts (decisions_fts) VALUES ('optimize')")


def _json_field(db: Db, column: str, path: str) -> str:
    """SQL reading one field of a JSON column, as text: `$.case.birth_month` is
    json_extract's on SQLite, and the same path through `#>>` on PostgreSQL."""
    if not is_postgres(db):
        return f"json_extract({column}, '$.{path}')"
    return f"({column}::json #>> '{{{','.join(path.split('.'))}}}')"


def undisposed_reviews(db: Db, final: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every review not disposed of, with the case fields a disposal date needs read out of
    its content in SQL (for the `final` statuses only), never the content itself."""
    marks = ", ".join("?" for _ in final)

    def extract(field: str) -> str:
        return (
            f"CASE WHEN status IN ({marks}) THEN {_json_field(db, 'content', 'case.' + field)} "
            f"END AS {field}"
        )

    return list(
        db.query(
            "SELECT id, case_reference, status, proposed_closure_on, updated_at, "
            + extract("birth_month")
            + ", "
            + extract("involvement")
            + " FROM reviews WHERE disposed_on IS NULL ORDER BY id",
            [*final, *final],
        )
    )


def undisposed_seals(db: Db) -> list[dict[str, Any]]:
    """Every decision not disposed of, oldest first, with its sealed disposal date (if any)
    and the sealed case fields, read out of the seal in SQL."""
    return list(
        db.query(
            "SELECT id, review_id, as_of, "
            f"{_json_field(db, 'sealed', 'retention.dispose_on')} AS sealed_on, "
            f"{_json_field(db, 'sealed', 'review.case.birth_month')} AS birth_month, "
            f"{_json_field(db, 'sealed', 'review.case.involvement')} AS involvement "
            "FROM decisions WHERE disposed_on IS NULL ORDER BY id"
        )
    )


def disposals(db: Db) -> dict[int, dict[str, Any]]:
    """The disposal events' details by review id, as recorded (for `verify`)."""
    found: dict[int, dict[str, Any]] = {}
    for row in db.query(
        "SELECT review_id, detail FROM audit_events WHERE action = ? ORDER BY seq",
        [DISPOSAL_ACTION],
    ):
        try:
            detail = json.loads(row["detail"])
        except ValueError:
            detail = {}
        if isinstance(row["review_id"], int):
            found[row["review_id"]] = detail if isinstance(detail, dict) else {}
    return found
