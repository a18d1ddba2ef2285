"""Read-side queries for auditors: the decision list with filters and search, and the
learning figures. Every query is served by an index (see schema.py)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from closure_readiness.core.words import start_of_day_utc
from closure_readiness.core.workflow import DECISION_STATUSES, Outcome, ReviewStatus

Row = dict[str, Any]

STATUSES = DECISION_STATUSES
_WORD = re.compile(r"\w+", re.UNICODE)


def _next_day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) + dt.timedelta(days=1)
    except (TypeError, ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class DecisionQuery:
    team: str | None = None
    status: str | None = None
    signed_from: str | None = None
    """ISO date, inclusive."""
    signed_to: str | None = None
    """ISO date, inclusive."""
    closure_reason: str | None = None
    has_exceptions: bool | None = None
    has_re_referral: bool | None = None
    text: str | None = None
    limit: int = 50
    offset: int = 0


def fts_expression(text: str) -> str | None:
    """Words to an FTS5 query: each word quoted (no operators), all required, the last a prefix."""
    words = _WORD.findall(text)[:12]
    if not words:
        return None
    quoted = ['"' + word.replace('"', "") + '"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


COUNT_CAP = 1000
"""Counting every match of a common word over 100k decisions is slow: we say 'over 1,000'."""


def _where(query: DecisionQuery) -> tuple[str, str, list[Any]]:
    joins = "LEFT JOIN outcomes o ON o.decision_id = d.id"
    clauses: list[str] = []
    params: list[Any] = []
    expression = fts_expression(query.text or "")
    if expression is not None:
        # Matches come from the index newest first (rowid = decision id) and stop at the limit.
        joins = "JOIN decisions_fts ON decisions_fts.rowid = d.id " + joins
        clauses.append("decisions_fts MATCH ?")
        params.append(expression)
    if query.team is not None:  # an empty team is a team no decision has, never every team
        clauses.append("d.team = ?")
        params.append(query.team)
    if query.status == ReviewStatus.SUBMITTED:
        clauses.append("o.decision_id IS NULL")
    elif query.status:
        clauses.append("o.outcome = ?")
        params.append(query.status)
    # Days are days in England, as the lists show them: a sign-off at 23:30 UTC on 30 June is
    # on 1 July. A bound that is not a date matches nothing.
    if query.signed_from:
        clauses.append("d.signed_at >= ?")
        params.append(start_of_day_utc(query.signed_from) or "\uffff")
    if query.signed_to:
        following = _next_day(query.signed_to)
        clauses.append("d.signed_at < ?")
        params.append(start_of_day_utc(following) if following else "")
    if query.closure_reason:
        clauses.append("d.closure_reason = ?")
        params.append(query.closure_reason)
    if query.has_exceptions is not None:
        clauses.append("d.exceptions > 0" if query.has_exceptions else "d.exceptions = 0")
    if query.has_re_referral is not None:
        clause = "EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id)"
        clauses.append(clause if query.has_re_referral else f"NOT {clause}")
    clauses.append("d.disposed_on IS NULL")  # a disposed decision is a tombstone, not a record
    where = " AND ".join(clauses)
    return joins, where, params


def list_decisions(db: Database, query: DecisionQuery) -> list[Row]:
    joins, where, params = _where(query)
    # With a search, order by the full-text index's rowid (the decision id): FTS5 then yields
    # matches newest first and stops at the limit instead of sorting every match.
    order = "decisions_fts.rowid" if "decisions_fts" in joins else "d.id"
    sql = (
        "SELECT d.id, d.review_id, d.case_reference, d.team, d.closure_reason, d.signed_by, "
        "d.signed_at, d.as_of, d.checks_version, d.exceptions, d.cautions, d.content_hash, "
        "coalesce(o.outcome, 'submitted') AS status, o.decided_by, o.decided_at, "
        "EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id) AS re_referred "
        f"FROM decisions d {joins} WHERE {where} "
        f"ORDER BY {order} DESC LIMIT ? OFFSET ?"
    )
    return list(db.query(sql, [*params, query.limit, query.offset]))


def count_decisions(db: Database, query: DecisionQuery, *, cap: int = COUNT_CAP) -> int:
    """How many match, counting no further than `cap` + 1 (the caller says "over cap")."""
    joins, where, params = _where(query)
    row = db.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM decisions d {joins} WHERE {where} LIMIT ?)",
        [*params, cap + 1],
    ).fetchone()
    return int(row[0])


def teams(db: Database) -> list[str]:
    return [row["team"] for row in db.query("SELECT DISTINCT team FROM decisions ORDER BY team")]


# Learning figures ----------------------------------------------------------------------------


def decisions_version(db: Database) -> tuple[Any, ...]:
    """Changes whenever a decision or an outcome is written or disposed of: the learning
    figures' cache key.

    Each part is one index lookup (ids only grow; decided_at per outcome is indexed).
    """
    newest = db.execute("SELECT max(id) FROM decisions").fetchone()[0]
    outcomes = tuple(
        db.execute("SELECT max(decided_at) FROM outcomes WHERE outcome = ?", [outcome]).fetchone()[
            0
        ]
        for outcome in Outcome
    )
    disposed = db.execute(
        "SELECT max(seq) FROM audit_events WHERE action = 'review_disposed'"
    ).fetchone()[0]
    return (newest, *outcomes, disposed)


def closures_per_month(db: Database) -> list[Row]:
    return _per_month(db, "closures")


def gaps_at_first_sign_off(db: Database) -> list[Row]:
    """Checks that failed in the report sealed at each review's first sign-off (tallied at
    sign-off: m007)."""
    return list(
        db.query(
            "SELECT check_id, n AS reviews, rationales, exceptions FROM learning_tally "
            "WHERE figure = 'gaps' ORDER BY reviews DESC, check_id"
        )
    )


def returns_by_month(db: Database) -> list[Row]:
    return _per_month(db, "returns")


def _per_month(db: Database, figure: str) -> list[Row]:
    """Approvals or returns per month and team (tallied as they are decided: m007)."""
    return list(
        db.query(
            f"SELECT month, team, n AS {figure} FROM learning_tally WHERE figure = ? "
            "ORDER BY month, team",
            [figure],
        )
    )


def recent_return_reasons(db: Database, limit: int = 50) -> list[Row]:
    return list(
        db.query(
            "SELECT d.id AS decision_id, d.case_reference, d.team, o.decided_at, o.reasons "
            "FROM outcomes o JOIN decisions d ON d.id = o.decision_id "
            "WHERE o.outcome = 'returned' AND d.disposed_on IS NULL "
            "ORDER BY o.decided_at DESC LIMIT ?",
            [limit],
        )
    )


def exceptions_by(db: Database, column: str) -> list[Row]:
    """Exceptions counted by check_id, team or manager (resolved_by, with manager_name)."""
    source = {"check_id": "f.check_id", "team": "d.team", "manager": "f.resolved_by"}[column]
    named = ", s.display_name AS manager_name" if column == "manager" else ""
    staff = "LEFT JOIN staff s ON s.id = f.resolved_by " if column == "manager" else ""
    return list(
        db.query(
            f"SELECT {source} AS {column}{named}, count(*) AS exceptions "
            "FROM decision_findings f JOIN decisions d ON d.id = f.decision_id "
            f"{staff}WHERE f.resolution = 'exception' "
            f"GROUP BY {source} ORDER BY exceptions DESC, {source}"
        )
    )


def re_referral_comparison(db: Database) -> list[Row]:
    """Approved closures, re-referred within the window or not, with what they carried
    (tallied at approval and at the first re-referral: m007)."""
    return list(
        db.query(
            "SELECT re_referred, n AS closures, "
            "round(1.0 * rationales / n, 2) AS cautions_per_closure, "
            "round(1.0 * exceptions / n, 2) AS exceptions_per_closure, "
            "round(100.0 * with_exception / n, 1) AS percent_with_exception "
            "FROM learning_tally WHERE figure = 're_referral' AND n > 0 ORDER BY re_referred"
        )
    )


def re_referral_checks(db: Database) -> list[Row]:
    """For approved closures: which cautions and exceptions they carried, by re-referral."""
    return list(
        db.query(
            "SELECT check_id, re_referred, n AS findings FROM learning_tally "
            "WHERE figure = 're_referral_check' AND n > 0 "
            "ORDER BY findings DESC, check_id, re_referred"
        )
    )


def withdrawn_return_before(db: Database, case_reference: str, review_id: int) -> Row | None:
    """The latest return of a review of this case that was then withdrawn, among the reviews
    started before `review_id` and after the case's last approved closure: a review started
    again after a withdrawal carries its returns with it. None when there is none.

    The returned decision's row (id, review_id, sealed) with its outcome (decided_by,
    decided_at, reasons). Earlier reviews are final once a later one is started (one open
    review per case), so the answer never changes."""
    earlier = db.query(
        "SELECT id, status FROM reviews WHERE case_reference = ? AND id < ? ORDER BY id DESC",
        [case_reference, review_id],
    )
    for review in earlier:
        if review["status"] == ReviewStatus.APPROVED:
            return None
        if review["status"] != ReviewStatus.WITHDRAWN:
            continue
        returned = list(
            db.query(
                "SELECT d.id, d.review_id, d.sealed, o.decided_by, o.decided_at, o.reasons "
                "FROM decisions d JOIN outcomes o ON o.decision_id = d.id "
                "WHERE d.review_id = ? AND o.outcome = ? ORDER BY d.id DESC LIMIT 1",
                [review["id"], Outcome.RETURNED.value],
            )
        )
        if returned:
            return returned[0]
    return None
