"""Rows in and out: every SQL statement the service layer needs, and nothing else.

Functions take an open connection (`Db`: SQLite or PostgreSQL) inside a transaction from
`storage.database`; they never commit. Rows come back as plain dicts; the service layer turns
them into domain objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from closure_readiness.core.seal import SealedDecisionDoc
from closure_readiness.storage.database import Db, execute_many

Row = dict[str, Any]


def _one(db: Db, sql: str, params: Sequence[Any]) -> Row | None:
    return next(db.query(sql, params), None)


# Staff ---------------------------------------------------------------------------------------


def insert_staff(db: Db, row: Row) -> None:
    db.execute(
        "INSERT INTO staff (id, issuer, subject, display_name, role, team, active, created_at) "
        "VALUES (:id, :issuer, :subject, :display_name, :role, :team, :active, :created_at)",
        row,
    )


def get_staff(db: Db, staff_id: str) -> Row | None:
    return _one(db, "SELECT * FROM staff WHERE id = ?", [staff_id])


def staff_by_identity(db: Db, issuer: str, subject: str) -> Row | None:
    return _one(db, "SELECT * FROM staff WHERE issuer = ? AND subject = ?", [issuer, subject])


def list_staff(db: Db) -> list[Row]:
    return list(db.query("SELECT * FROM staff ORDER BY team, role, id"))


def staff_names(db: Db) -> dict[str, str]:
    """Display names by staff id, for showing who signed and decided."""
    return {
        row["id"]: row["display_name"] for row in db.query("SELECT id, display_name FROM staff")
    }


def update_staff(db: Db, staff_id: str, **fields: Any) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in fields)
    db.execute(f"UPDATE staff SET {assignments} WHERE id = :id", {**fields, "id": staff_id})


# Reviews -------------------------------------------------------------------------------------


def insert_review(db: Db, row: Row) -> int:
    row_id = db.execute(
        "INSERT INTO reviews (case_reference, team, worker_id, status, version, content, "
        "content_hash, proposed_closure_on, re_referral_of, created_at, updated_at) VALUES "
        "(:case_reference, :team, :worker_id, 'draft', 1, :content, :content_hash, "
        ":proposed_closure_on, :re_referral_of, :created_at, :created_at) RETURNING id",
        row,
    ).fetchall()[0][0]
    return int(row_id)


def get_review(db: Db, review_id: int) -> Row | None:
    return _one(db, "SELECT * FROM reviews WHERE id = ?", [review_id])


def update_review_content(
    db: Db,
    review_id: int,
    *,
    expected_version: int,
    content: str,
    content_hash: str,
    proposed_closure_on: str,
    case_reference: str,
    at: str,
) -> bool:
    """Save new content if nobody saved since `expected_version`; False when they did."""
    cursor = db.execute(
        "UPDATE reviews SET content = ?, content_hash = ?, proposed_closure_on = ?, "
        "case_reference = ?, version = version + 1, updated_at = ? "
        "WHERE id = ? AND version = ?",
        [
            content,
            content_hash,
            proposed_closure_on,
            case_reference,
            at,
            review_id,
            expected_version,
        ],
    )
    return bool(cursor.rowcount == 1)


def insert_review_version(db: Db, row: Row) -> None:
    db.execute(
        "INSERT INTO review_versions (review_id, version, content, content_hash, saved_by, "
        "saved_at) VALUES (:review_id, :version, :content, :content_hash, :saved_by, :saved_at)",
        row,
    )


def set_review_status(db: Db, review_id: int, status: str, at: str) -> None:
    db.execute(
        "UPDATE reviews SET status = ?, updated_at = ? WHERE id = ?", [status, at, review_id]
    )


_EVIDENCE_FIELDS = ("agency", "kind", "observed_on", "direction", "shows", "record_ref")


def replace_evidence(db: Db, review_id: int, items: Iterable[Row]) -> None:
    """Make the review's evidence rows `items`, writing only the rows that differ: a saved
    step changes one item, and rewriting every row cost a delete and an insert per item.
    The rows held are read, not assumed from the content being replaced."""
    wanted = {str(item["evidence_id"]): {**item, "review_id": review_id} for item in items}
    held = {
        str(row[0]): row
        for row in db.execute(
            "SELECT evidence_id, " + ", ".join(_EVIDENCE_FIELDS) + " FROM evidence "
            "WHERE review_id = ?",
            [review_id],
        ).fetchall()
    }
    gone = [(review_id, key) for key in held if key not in wanted]
    added = [row for key, row in wanted.items() if key not in held]
    changed = [
        row
        for key, row in wanted.items()
        if key in held
        and any(held[key][i + 1] != row[name] for i, name in enumerate(_EVIDENCE_FIELDS))
    ]
    if gone:
        execute_many(db, "DELETE FROM evidence WHERE review_id = ? AND evidence_id = ?", gone)
    if changed:
        execute_many(
            db,
            "UPDATE evidence SET agency = :agency, kind = :kind, observed_on = :observed_on, "
            "direction = :direction, shows = :shows, record_ref = :record_ref "
            "WHERE review_id = :review_id AND evidence_id = :evidence_id",
            changed,
        )
    if added:
        execute_many(
            db,
            "INSERT INTO evidence (review_id, evidence_id, agency, kind, observed_on, "
            "direction, shows, record_ref) VALUES (:review_id, :evidence_id, :agency, :kind, "
            ":observed_on, :direction, :shows, :record_ref)",
            added,
        )


def list_reviews(
    db: Db,
    *,
    worker_id: str | None = None,
    team: str | None = None,
    statuses: Sequence[str] | None = None,
) -> list[Row]:
    where, params = ["1 = 1"], []
    if worker_id is not None:
        where.append("worker_id = ?")
        params.append(worker_id)
    if team is not None:
        where.append("team = ?")
        params.append(team)
    if statuses:
        where.append(f"status IN ({', '.join('?' for _ in statuses)})")
        params.extend(statuses)
    sql = (
        "SELECT id, case_reference, team, worker_id, status, version, content, content_hash, "
        "proposed_closure_on, re_referral_of, created_at, updated_at FROM reviews WHERE "
        + " AND ".join(where)
        + " ORDER BY updated_at DESC"
    )
    return list(db.query(sql, params))


def open_review_for_case(db: Db, case_reference: str) -> Row | None:
    return _one(
        db,
        "SELECT * FROM reviews WHERE case_reference = ? "
        "AND status IN ('draft', 'submitted', 'returned')",
        [case_reference],
    )


def last_approval_for_case(db: Db, case_reference: str) -> Row | None:
    """The most recent approved closure of a case: review id and when it was countersigned."""
    # CROSS JOIN keeps the case's decisions as the outer loop: with a plain JOIN the planner
    # walked every approved outcome (~0.25 s per started review at 100k decisions).
    return _one(
        db,
        "SELECT d.review_id, o.decided_at FROM decisions d "
        "CROSS JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved' "
        "WHERE d.case_reference = ? ORDER BY o.decided_at DESC LIMIT 1",
        [case_reference],
    )


# Decisions and outcomes ----------------------------------------------------------------------


def insert_decision(db: Db, row: Row) -> int:
    row_id = db.execute(
        "INSERT INTO decisions (review_id, case_reference, team, closure_reason, signed_by, "
        "signed_at, as_of, checks_version, sign_off_possible, exceptions, cautions, sealed, "
        "content_hash, search_text) VALUES (:review_id, :case_reference, :team, "
        ":closure_reason, :signed_by, :signed_at, :as_of, :checks_version, :sign_off_possible, "
        ":exceptions, :cautions, :sealed, :content_hash, :search_text) RETURNING id",
        row,
    ).fetchall()[0][0]
    return int(row_id)


def insert_decision_findings(db: Db, decision_id: int, findings: Iterable[Row]) -> None:
    """The findings of a sealed report, one row each, for the learning figures."""
    execute_many(
        db,
        "INSERT INTO decision_findings (decision_id, finding_key, check_id, level, resolution, "
        "resolved_by) VALUES (:decision_id, :finding_key, :check_id, :level, :resolution, "
        ":resolved_by)",
        [{**finding, "decision_id": decision_id} for finding in findings],
    )


DECISION_COLUMNS = (
    *SealedDecisionDoc.STORAGE_COLUMNS,
    *SealedDecisionDoc.SEALED_COLUMNS,
    *SealedDecisionDoc.DERIVED_COLUMNS,
)
"""A decision row as both engines hold it: not PostgreSQL's stored words (p010), which only
its search reads. `verify` reads every column (`SELECT *`), to find any column added."""
_DECISION = ", ".join(f"d.{column}" for column in DECISION_COLUMNS)


def get_decision(db: Db, decision_id: int) -> Row | None:
    return _one(db, f"SELECT {_DECISION} FROM decisions d WHERE d.id = ?", [decision_id])


def pending_decision(db: Db, review_id: int) -> Row | None:
    """The sign-off of a review that has no outcome yet."""
    return _one(
        db,
        f"SELECT {_DECISION} FROM decisions d WHERE d.review_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM outcomes o WHERE o.decision_id = d.id) ORDER BY d.id DESC LIMIT 1",
        [review_id],
    )


def decisions_for_review(db: Db, review_id: int) -> list[Row]:
    return list(
        db.query(
            f"SELECT {_DECISION}, o.outcome, o.decided_by, o.decided_at, o.reasons "
            "FROM decisions d "
            "LEFT JOIN outcomes o ON o.decision_id = d.id WHERE d.review_id = ? ORDER BY d.id",
            [review_id],
        )
    )


def insert_outcome(db: Db, row: Row) -> None:
    db.execute(
        "INSERT INTO outcomes (decision_id, outcome, decided_by, decided_at, hash_seen, "
        "reasons, sealed, outcome_hash) VALUES (:decision_id, :outcome, :decided_by, "
        ":decided_at, :hash_seen, :reasons, :sealed, :outcome_hash)",
        row,
    )


def get_outcome(db: Db, decision_id: int) -> Row | None:
    return _one(db, "SELECT * FROM outcomes WHERE decision_id = ?", [decision_id])


def submitted_for_team(db: Db, team: str) -> list[Row]:
    """Reviews waiting for a countersignature, oldest sign-off first."""
    return list(
        db.query(
            "SELECT d.id AS decision_id, d.review_id, d.case_reference, d.signed_by, "
            "d.signed_at, d.exceptions, d.cautions, d.content_hash FROM decisions d "
            "JOIN reviews r ON r.id = d.review_id AND r.status = 'submitted' "
            "WHERE d.team = ? AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.decision_id = d.id) "
            "ORDER BY d.signed_at",
            [team],
        )
    )


# Exception requests --------------------------------------------------------------------------


def insert_exception_request(db: Db, row: Row) -> int:
    row_id = db.execute(
        "INSERT INTO exception_requests (review_id, finding_key, check_id, requested_by, "
        "requested_at, worker_reason, status) VALUES (:review_id, :finding_key, :check_id, "
        ":requested_by, :requested_at, :worker_reason, 'pending') RETURNING id",
        row,
    ).fetchall()[0][0]
    return int(row_id)


def get_exception_request(db: Db, request_id: int) -> Row | None:
    return _one(db, "SELECT * FROM exception_requests WHERE id = ?", [request_id])


def decide_exception_request(
    db: Db, request_id: int, *, status: str, decided_by: str, decided_at: str, reason: str
) -> bool:
    cursor = db.execute(
        "UPDATE exception_requests SET status = ?, decided_by = ?, decided_at = ?, "
        "manager_reason = ? WHERE id = ? AND status = 'pending'",
        [status, decided_by, decided_at, reason, request_id],
    )
    return bool(cursor.rowcount == 1)


def exception_requests_for_review(db: Db, review_id: int) -> list[Row]:
    return list(
        db.query("SELECT * FROM exception_requests WHERE review_id = ? ORDER BY id", [review_id])
    )


def pending_exception_requests_for_team(db: Db, team: str) -> list[Row]:
    return list(
        db.query(
            "SELECT x.*, r.case_reference FROM exception_requests x "
            "JOIN reviews r ON r.id = x.review_id "
            "WHERE r.team = ? AND x.status = 'pending' ORDER BY x.requested_at",
            [team],
        )
    )
