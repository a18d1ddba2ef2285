"""Read-side queries for auditors: the decision list with filters and search, and the
learning figures. Every query is served by an index (see schema.py, schema_postgres.py).

Both engines take the same SQL but for the search itself (FTS5's index and its facets on
SQLite, an expression index and a tsquery on PostgreSQL: `_plan`) and a few spellings
PostgreSQL asks for: a boolean cast to 0 or 1 as SQLite gives it, a derived table's name,
and every column of a grouped query grouped.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from closure_readiness.core.words import start_of_day_utc
from closure_readiness.core.workflow import DECISION_STATUSES, Outcome, ReviewStatus
from closure_readiness.storage.database import Db, is_postgres
from closure_readiness.storage.schema_postgres import STORED_WORDS

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


def tsquery_expression(text: str) -> str | None:
    """Words to a PostgreSQL tsquery, as `fts_expression` makes FTS5's: the same words, each a
    quoted lexeme (never an operator: a quote or a backslash in one is escaped), all
    required, the last a prefix. Given to `to_tsquery('simple', ...)` as a bound value.

    Both engines split text into words alike (`schema_postgres.SEARCH_WORDS`) and fold case
    (PostgreSQL by the database's locale), but FTS5's tokenizer folds diacritics too
    ("equipe" finds "Équipe") and PostgreSQL's 'simple' configuration does not. We leave it
    so: folding needs the `unaccent` extension in the index's expression, so on the server
    (contrib) and created in the database by whoever makes the schema (a trusted extension
    since PostgreSQL 13: the database's owner can, a role with only a schema's rights
    cannot). The schema keeps to PostgreSQL's core, and a reader types the accent."""
    words = _WORD.findall(text)[:12]
    if not words:
        return None
    quoted = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in words]
    quoted[-1] += ":*"
    return " & ".join(quoted)


COUNT_CAP = 1000
"""Counting every match of a common word over 100k decisions is slow: we say 'over 1,000'."""

TEXT_COLUMNS = "{case_reference search_text}"
"""The columns search words are looked for in (never the facets: `facet_expression`)."""


def _facet_word(prefix: str, value: str) -> str:
    """A team, status or closure reason as the index holds it (schema `_facets`): the hex of
    its UTF-8 text, as SQLite's hex() writes it, so any value is one exact, quotable word."""
    return prefix + value.encode("utf-8", "surrogatepass").hex().upper()


_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ON_THE_HOUR = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):00:00\+00:00")
"""A bound as `start_of_day_utc` writes it: England's midnight is always a UTC hour."""


def _days(year: int, month: int, first: int, last: int) -> list[str]:
    if first == 1 and last >= calendar.monthrange(year, month)[1]:
        return [f"m{year:04d}{month:02d}"]
    return [f"d{year:04d}{month:02d}{day:02d}" for day in range(first, last + 1)]


def _months(year: int, first: int, last: int) -> list[str]:
    if (first, last) == (1, 12):
        return [f"y{year:04d}"]
    return [f"m{year:04d}{month:02d}" for month in range(first, last + 1)]


def date_words(first: str, last: str) -> list[str] | None:
    """The facet words (years, months, days: schema `_facets`) that together cover every day
    from `first` to `last` (ISO dates, inclusive), whole years and months as one word each:
    at most ~70 words for any span. None when a day is not a date."""
    try:
        start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    except ValueError:
        return None
    if not (_DAY.fullmatch(first) and _DAY.fullmatch(last)):
        return None
    (y1, m1, d1), (y2, m2, d2) = (
        (start.year, start.month, start.day),
        (end.year, end.month, end.day),
    )
    if start > end:
        return []
    if (y1, m1) == (y2, m2):
        return _days(y1, m1, d1, d2)
    words = _days(y1, m1, d1, 31)
    if y1 == y2:
        words += _months(y1, m1 + 1, m2 - 1) if m1 + 1 <= m2 - 1 else []
    else:
        words += _months(y1, m1 + 1, 12) if m1 < 12 else []
        words += [f"y{year:04d}" for year in range(y1 + 1, y2)]
        words += _months(y2, 1, m2 - 1) if m2 > 1 else []
    return words + _days(y2, m2, 1, d2)


def _range_words(low: str | None, high: str | None, oldest: str, newest: str) -> list[str] | None:
    """Facet words covering the stored times from `low` (inclusive) to `high` (exclusive),
    within the days decisions were signed on (`oldest`, `newest`): the hours of a first day
    that starts before midnight UTC (England in summer), then whole days. A last day ending
    after midnight UTC is taken whole (at most 23 hours more, which SQL leaves out). [] when
    nothing is in range; None when a bound is not a stored time (SQL alone then)."""
    words: list[str] = []
    first, last = oldest[:10], newest[:10]
    if low is not None:
        start = _ON_THE_HOUR.fullmatch(low)
        if start is None:
            return [] if low > newest else None
        day, hour = start.group(1), int(start.group(2))
        if hour == 0:
            first = max(first, day)
        else:
            if first <= day <= last:
                words += [f"h{day.replace('-', '')}{h:02d}" for h in range(hour, 24)]
            following = dt.date.fromisoformat(day) + dt.timedelta(days=1)
            first = max(first, following.isoformat())
    if high is not None:
        end = _ON_THE_HOUR.fullmatch(high)
        if end is None:
            return [] if high <= oldest else None
        day, hour = end.group(1), int(end.group(2))
        if hour == 0:
            before = dt.date.fromisoformat(day) - dt.timedelta(days=1)
            last = min(last, before.isoformat())
        else:
            last = min(last, day)
            if low is not None and low[:10] == day:  # from and to on the same UTC day
                return [word for word in words if int(word[-2:]) < hour]
    days = date_words(first, last)
    return None if days is None else words + days


def _bounds(query: DecisionQuery) -> tuple[str | None, str | None]:
    """The signed-off range as stored times: from (inclusive), to (exclusive). Days are days
    in England, as the lists show them: a sign-off at 23:30 UTC on 30 June is on 1 July. A
    bound that is not a date matches nothing."""
    low = high = None
    if query.signed_from:
        low = start_of_day_utc(query.signed_from) or "\uffff"
    if query.signed_to:
        following = _next_day(query.signed_to)
        high = start_of_day_utc(following) if following else ""
    return low, high


def facet_expression(db: Db, query: DecisionQuery) -> str | None:
    """The filters as an FTS5 expression over the facets column (words the code makes, each
    quoted; never the reader's text), "" for no filter, None when nothing can match.

    The date range is the days, months and years it covers within the days decisions were
    signed on (`date_words`), and the hours of a first day that starts at 23:00 UTC (England
    in summer); a last day that ends at 23:00 UTC is taken whole and SQL leaves out its last
    hour. Exact for times as the service stores them (`YYYY-MM-DDTHH:MM:SS...+00:00`).

    SQLite's only: PostgreSQL's index holds words alone, its filters are SQL (`_postgres_plan`)."""
    words = []
    if query.team is not None:
        words.append(_facet_word("t", query.team))
    if query.status:
        words.append(_facet_word("s", query.status))
    if query.closure_reason:
        words.append(_facet_word("c", query.closure_reason))
    if query.has_exceptions is not None:
        words.append("x1" if query.has_exceptions else "x0")
    if query.has_re_referral is not None:
        words.append("r1" if query.has_re_referral else "r0")
    terms = [f'"{word}"' for word in words]
    low, high = _bounds(query)
    if low is not None or high is not None:
        # Apart: together, min() and max() would scan the index instead of reading its ends.
        oldest = db.execute("SELECT min(signed_at) FROM decisions").fetchone()[0]
        newest = db.execute("SELECT max(signed_at) FROM decisions").fetchone()[0]
        if oldest is None:
            return None
        covering = _range_words(low, high, oldest, newest)
        if covering == []:
            return None
        if covering is not None:
            terms.append("(" + " OR ".join(f'"{word}"' for word in covering) + ")")
    return f"facets : ({' AND '.join(terms)})" if terms else ""


@dataclass(frozen=True)
class _Plan:
    joins: str
    where: str
    params: list[Any]
    order: str
    nothing: bool = False
    """No decision can match (an empty date range): no query at all."""


def _plan(db: Db, query: DecisionQuery, *, counting: bool = False) -> _Plan:
    """The SQL of a list or count. With search words, the full-text index drives the query:
    it intersects the words with the filters (its facets column), yields matches newest
    first (rowid = decision id) and stops at the limit; each match is then read and checked
    again in SQL. Without words, the decisions' own indexes serve the filters.

    A count with words leaves out the check for disposal: the index holds no disposed
    decision (a disposal takes it out in its own transaction; `verify` compares the index
    with the rows), and the check reads past the sealed document of every match, ~25 KB.

    PostgreSQL: `_postgres_plan`."""
    if is_postgres(db):
        return _postgres_plan(query)
    joins = "LEFT JOIN outcomes o ON o.decision_id = d.id"
    clauses: list[str] = []
    params: list[Any] = []
    source, order = "decisions d", "d.id"
    words = fts_expression(query.text or "")
    if words is not None:
        facets = facet_expression(db, query)
        if facets is None:
            return _Plan("", "", [], "", nothing=True)
        # CROSS JOIN: the index first, always, whatever the planner would guess.
        source = "decisions_fts CROSS JOIN decisions d ON d.id = decisions_fts.rowid"
        order = "decisions_fts.rowid"
        clauses.append("decisions_fts MATCH ?")
        params.append(f"{TEXT_COLUMNS} : ({words})" + (f" AND {facets}" if facets else ""))
    filters, filtered = _filter_clauses(query)
    clauses += filters
    params += filtered
    if words is None or not counting:  # a disposed decision is a tombstone, not a record
        clauses.append("d.disposed_on IS NULL")
    return _Plan(f"{source} {joins}", " AND ".join(clauses), params, order)


RE_REFERRED = "EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id)"


def _filter_clauses(query: DecisionQuery) -> tuple[list[str], list[Any]]:
    """The filters as SQL predicates on `decisions d LEFT JOIN outcomes o`."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.team is not None:  # an empty team is a team no decision has, never every team
        clauses.append("d.team = ?")
        params.append(query.team)
    if query.status == ReviewStatus.SUBMITTED:
        clauses.append("o.decision_id IS NULL")
    elif query.status:
        clauses.append("o.outcome = ?")
        params.append(query.status)
    low, high = _bounds(query)
    if low is not None:
        clauses.append("d.signed_at >= ?")
        params.append(low)
    if high is not None:
        clauses.append("d.signed_at < ?")
        params.append(high)
    if query.closure_reason:
        clauses.append("d.closure_reason = ?")
        params.append(query.closure_reason)
    if query.has_exceptions is not None:
        clauses.append("d.exceptions > 0" if query.has_exceptions else "d.exceptions = 0")
    if query.has_re_referral is not None:
        clauses.append(RE_REFERRED if query.has_re_referral else f"NOT {RE_REFERRED}")
    return clauses, params


def _postgres_plan(query: DecisionQuery) -> _Plan:
    """The SQL of a list or count on PostgreSQL: the words matched in their stored column
    (`STORED_WORDS`, p010) beside the filters, as plain predicates, and the planner left to
    choose (decision #81). Checking a row's stored words takes microseconds, so every way in
    is bounded by what it reads: for words most decisions hold, the decisions newest first (or
    by a filter's index) until the page is full; for rare words, their GIN index, which reads
    only where they are. No plan works a decision's words out again from its text.

    PostgreSQL text holds no NUL character, so a filter with one matches nothing (and is
    never sent: the driver refuses it)."""
    if any("\x00" in (value or "") for value in (query.team, query.status, query.closure_reason)):
        return _Plan("", "", [], "", nothing=True)
    clauses, params = _filter_clauses(query)
    clauses.append("d.disposed_on IS NULL")  # a disposed decision is a tombstone, not a record
    words = tsquery_expression(query.text or "")
    if words is not None:
        clauses.insert(0, f"d.{STORED_WORDS} @@ to_tsquery('simple', ?)")
        params.insert(0, words)
    outcomes = "LEFT JOIN outcomes o ON o.decision_id = d.id"
    return _Plan(f"decisions d {outcomes}", " AND ".join(clauses), params, "d.id")


def list_decisions(db: Db, query: DecisionQuery) -> list[Row]:
    plan = _plan(db, query)
    if plan.nothing:
        return []
    # 0 or 1 on both engines: the pages and exports show it. Asked once per decision shown:
    # as an EXISTS, PostgreSQL may answer it for the whole page by hashing every re-referral
    # (it read all the reviews for each page of a list).
    re_referred = (
        "coalesce((SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id LIMIT 1), 0)"
    )
    sql = (
        "SELECT d.id, d.review_id, d.case_reference, d.team, d.closure_reason, d.signed_by, "
        "d.signed_at, d.as_of, d.checks_version, d.exceptions, d.cautions, d.content_hash, "
        "coalesce(o.outcome, 'submitted') AS status, o.decided_by, o.decided_at, "
        f"{re_referred} AS re_referred "
        f"FROM {plan.joins} WHERE {plan.where} "
        f"ORDER BY {plan.order} DESC LIMIT ? OFFSET ?"
    )
    return list(db.query(sql, [*plan.params, query.limit, query.offset]))


def count_decisions(db: Db, query: DecisionQuery, *, cap: int = COUNT_CAP) -> int:
    """How many match, counting no further than `cap` + 1 (the caller says "over cap")."""
    plan = _plan(db, query, counting=True)
    if plan.nothing:
        return 0
    named = " AS counted" if is_postgres(db) else ""  # PostgreSQL names every derived table
    row = db.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {plan.joins} WHERE {plan.where} LIMIT ?){named}",
        [*plan.params, cap + 1],
    ).fetchone()
    return int(row[0])


def teams(db: Db) -> list[str]:
    return [row["team"] for row in db.query("SELECT DISTINCT team FROM decisions ORDER BY team")]


# Learning figures ----------------------------------------------------------------------------


def decisions_version(db: Db) -> tuple[Any, ...]:
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


def closures_per_month(db: Db) -> list[Row]:
    return _per_month(db, "closures")


def gaps_at_first_sign_off(db: Db) -> list[Row]:
    """Checks that failed in the report sealed at each review's first sign-off (tallied at
    sign-off: m007)."""
    return list(
        db.query(
            "SELECT check_id, n AS reviews, rationales, exceptions FROM learning_tally "
            "WHERE figure = 'gaps' ORDER BY reviews DESC, check_id"
        )
    )


def returns_by_month(db: Db) -> list[Row]:
    return _per_month(db, "returns")


def _per_month(db: Db, figure: str) -> list[Row]:
    """Approvals or returns per month and team (tallied as they are decided: m007)."""
    return list(
        db.query(
            f"SELECT month, team, n AS {figure} FROM learning_tally WHERE figure = ? "
            "ORDER BY month, team",
            [figure],
        )
    )


def recent_return_reasons(db: Db, limit: int = 50) -> list[Row]:
    return list(
        db.query(
            "SELECT d.id AS decision_id, d.case_reference, d.team, o.decided_at, o.reasons "
            "FROM outcomes o JOIN decisions d ON d.id = o.decision_id "
            "WHERE o.outcome = 'returned' AND d.disposed_on IS NULL "
            "ORDER BY o.decided_at DESC LIMIT ?",
            [limit],
        )
    )


def exceptions_by(db: Db, column: str) -> list[Row]:
    """Exceptions counted by check_id, team or manager (resolved_by, with manager_name)."""
    source = {"check_id": "f.check_id", "team": "d.team", "manager": "f.resolved_by"}[column]
    named = ", s.display_name AS manager_name" if column == "manager" else ""
    staff = "LEFT JOIN staff s ON s.id = f.resolved_by " if column == "manager" else ""
    # PostgreSQL groups by the name as well (one name per manager: staff's key).
    grouped = f"{source}, s.display_name" if named and is_postgres(db) else source
    return list(
        db.query(
            f"SELECT {source} AS {column}{named}, count(*) AS exceptions "
            "FROM decision_findings f JOIN decisions d ON d.id = f.decision_id "
            f"{staff}WHERE f.resolution = 'exception' "
            f"GROUP BY {grouped} ORDER BY exceptions DESC, {source}"
        )
    )


def re_referral_comparison(db: Db) -> list[Row]:
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


def re_referral_checks(db: Db) -> list[Row]:
    """For approved closures: which cautions and exceptions they carried, by re-referral."""
    return list(
        db.query(
            "SELECT check_id, re_referred, n AS findings FROM learning_tally "
            "WHERE figure = 're_referral_check' AND n > 0 "
            "ORDER BY findings DESC, check_id, re_referred"
        )
    )


def withdrawn_returns_before(db: Db, wanted: Sequence[tuple[str, int]]) -> dict[int, Row]:
    """For each (case reference, review id): the latest return of a review of that case that
    was then withdrawn, among the reviews started before it and after the case's last approved
    closure (a review started again after a withdrawal carries its returns with it). By review
    id; a review with none is left out.

    Each is the returned decision's row (id, review_id, sealed) with its outcome (decided_by,
    decided_at, reasons). Earlier reviews are final once a later one is started (one open
    review per case), so an answer never changes. Two queries however many are asked (a queue
    asked one per row, and each query waited its turn for the server and the GIL)."""
    if not wanted:
        return {}
    references = sorted({reference for reference, _ in wanted})
    marks = ", ".join("?" * len(references))
    by_case: dict[str, list[Row]] = {}
    for review in db.query(
        f"SELECT id, case_reference, status FROM reviews WHERE case_reference IN ({marks}) "
        "ORDER BY id DESC",
        references,
    ):
        by_case.setdefault(review["case_reference"], []).append(review)
    withdrawn = sorted(
        {
            review["id"]
            for reviews in by_case.values()
            for review in reviews
            if review["status"] == ReviewStatus.WITHDRAWN
        }
    )
    returns: dict[int, Row] = {}
    if withdrawn:
        marks = ", ".join("?" * len(withdrawn))
        for row in db.query(
            "SELECT d.id, d.review_id, d.sealed, o.decided_by, o.decided_at, o.reasons "
            "FROM decisions d JOIN outcomes o ON o.decision_id = d.id "
            f"WHERE d.review_id IN ({marks}) AND o.outcome = ? ORDER BY d.id DESC",
            [*withdrawn, Outcome.RETURNED.value],
        ):
            returns.setdefault(row["review_id"], row)  # the latest return of each review
    found: dict[int, Row] = {}
    for reference, review_id in wanted:
        for review in by_case.get(reference, []):
            if review["id"] >= review_id:
                continue
            if review["status"] == ReviewStatus.APPROVED:
                break
            if review["id"] in returns:
                found[review_id] = returns[review["id"]]
                break
    return found
