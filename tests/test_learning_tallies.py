"""The learning figures' tallies (issue 12, item 3; migration m007).

The figures are kept as counts that triggers update in the sign-off's, the outcome's and the
re-referral's own transaction. Whatever the workflow did, they must equal the figures worked out
from the rows the way they were before (REFERENCE, the queries this replaced); `verify` reports
a tally that does not; and the migration fills them from what a database already holds.

On both engines (issue 12, item 10), but the migration: PostgreSQL's schema has the tallies
from its first step (`schema_postgres.p009_schema`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from closure_readiness.core.location import PostgresURL, Store
from closure_readiness.service import decisions, reviews
from closure_readiness.service.context import Context
from closure_readiness.storage import queries
from closure_readiness.storage.database import read_only, reading
from closure_readiness.storage.integrity import verify
from closure_readiness.storage.schema import MIGRATIONS
from tamper_support import tamper
from workflow_fixtures import (
    Clock,
    Team,
    add_team,
    approve,
    caution_review,
    clock_of,
    copy_context,
    grant,
    make_context,
    make_postgres_context,
    prepare,
    prepare_ready,
    ready_review,
    sign,
    unnotified_review,
)

pytestmark = pytest.mark.both_engines

REFERENCE = {
    "closures_per_month": (
        "SELECT substr(o.decided_at, 1, 7) AS month, d.team, count(*) AS closures "
        "FROM outcomes o JOIN decisions d ON d.id = o.decision_id "
        "WHERE o.outcome = 'approved' GROUP BY month, d.team"
    ),
    "returns_by_month": (
        "SELECT substr(o.decided_at, 1, 7) AS month, d.team, count(*) AS returns "
        "FROM outcomes o JOIN decisions d ON d.id = o.decision_id "
        "WHERE o.outcome = 'returned' GROUP BY month, d.team"
    ),
    "gaps_at_first_sign_off": (
        "SELECT f.check_id, count(DISTINCT f.decision_id) AS reviews, "
        "sum(f.resolution = 'rationale') AS rationales, "
        "sum(f.resolution = 'exception') AS exceptions "
        "FROM decision_findings f "
        "WHERE f.decision_id IN (SELECT min(id) FROM decisions GROUP BY review_id) "
        "AND f.level != 'note' GROUP BY f.check_id"
    ),
    "re_referral_comparison": (
        "WITH approved AS ("
        "  SELECT d.id, d.review_id, d.cautions, d.exceptions, "
        "  EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id) "
        "  AS re_referred FROM decisions d "
        "  JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved')"
        " SELECT re_referred, count(*) AS closures, "
        " round(avg(cautions), 2) AS cautions_per_closure, "
        " round(avg(exceptions), 2) AS exceptions_per_closure, "
        " round(100.0 * avg(exceptions > 0), 1) AS percent_with_exception "
        " FROM approved GROUP BY re_referred"
    ),
    "re_referral_checks": (
        "SELECT f.check_id, "
        "EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id) AS re_referred, "
        "count(*) AS findings FROM decision_findings f "
        "JOIN decisions d ON d.id = f.decision_id "
        "JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved' "
        "WHERE f.resolution IN ('rationale', 'exception') "
        "GROUP BY f.check_id, re_referred"
    ),
}
"""The figures as they were computed before the tallies, from every row each time."""

REFERENCE_POSTGRES = {
    **REFERENCE,
    "gaps_at_first_sign_off": (
        "SELECT f.check_id, count(DISTINCT f.decision_id) AS reviews, "
        "sum((f.resolution = 'rationale')::int) AS rationales, "
        "sum((f.resolution = 'exception')::int) AS exceptions "
        "FROM decision_findings f "
        "WHERE f.decision_id IN (SELECT min(id) FROM decisions GROUP BY review_id) "
        "AND f.level != 'note' GROUP BY f.check_id"
    ),
    "re_referral_comparison": (
        "WITH approved AS ("
        "  SELECT d.id, d.review_id, d.cautions, d.exceptions, "
        "  (EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id))::int "
        "  AS re_referred FROM decisions d "
        "  JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved')"
        " SELECT re_referred, count(*) AS closures, "
        " round(avg(cautions), 2) AS cautions_per_closure, "
        " round(avg(exceptions), 2) AS exceptions_per_closure, "
        " round(100.0 * avg((exceptions > 0)::int), 1) AS percent_with_exception "
        " FROM approved GROUP BY re_referred"
    ),
    "re_referral_checks": (
        "SELECT f.check_id, "
        "(EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id))::int "
        "AS re_referred, count(*) AS findings FROM decision_findings f "
        "JOIN decisions d ON d.id = f.decision_id "
        "JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved' "
        "WHERE f.resolution IN ('rationale', 'exception') "
        "GROUP BY f.check_id, 2"
    ),
}
"""The same on PostgreSQL: a comparison is a boolean there, counted as 0 or 1."""

START = dt.datetime(2025, 5, 30, 9, tzinfo=dt.UTC)


def _sorted(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(sorted(row.items())) for row in rows)


def figures_agree(path: Store) -> None:
    reference = REFERENCE_POSTGRES if isinstance(path, PostgresURL) else REFERENCE
    with reading(path) as db:
        for name, sql in reference.items():
            assert _sorted(getattr(queries, name)(db)) == _sorted(list(db.query(sql))), name


def problems(path: Store) -> list[str]:
    with read_only(path) as db:
        return verify(db).problems


def later(ctx: Context, days: int) -> Context:
    return dataclasses.replace(ctx, clock=Clock(START + dt.timedelta(days=days)))


def workflow(ctx: Context, team: Team) -> None:
    """Approvals over two months, returns, an exception, a caution, withdrawals and
    re-referrals (the same closure re-referred twice)."""
    worker, manager = team.worker, team.manager
    first = prepare_ready(ctx, worker, "CR-7001")
    approve(ctx, manager, sign(ctx, worker, first))
    caution = prepare(ctx, worker, caution_review("CR-7002", rationale="Agreed with family."))
    returned = sign(ctx, worker, caution)
    decisions.return_review(ctx, manager, returned, overall="More on the plan, please.")
    clock_of(ctx).advance(hours=2)  # the second sign-off is a new seal, not the same one
    record = reviews.get_review(ctx, worker, caution)
    reviews.save_review(ctx, worker, caution, record.review, expected_version=record.version)
    approve(ctx, manager, sign(ctx, worker, caution))
    excepted = prepare(ctx, worker, unnotified_review("CR-7003"))
    grant(ctx, worker, manager, excepted, "exit.E003")
    one_manager = dataclasses.replace(ctx, separate_exception_and_countersign=False)
    approve(one_manager, manager, sign(ctx, worker, excepted))
    withdrawn = prepare_ready(ctx, worker, "CR-7004")
    sign(ctx, worker, withdrawn)
    reviews.withdraw(ctx, worker, withdrawn, reason="Moved to another area.")
    month_on = later(ctx, 35)
    again = prepare(month_on, worker, ready_review("CR-7001"))  # a re-referral of `first`
    reviews.withdraw(month_on, worker, again, reason="Opened by mistake.")
    third = prepare(month_on, worker, ready_review("CR-7001"))  # the same closure again
    approve(month_on, manager, sign(month_on, worker, third))
    re_excepted = prepare(month_on, worker, ready_review("CR-7003"))  # re-refers `excepted`
    approve(month_on, manager, sign(month_on, worker, re_excepted))


def _worked(ctx: Context) -> Context:
    workflow(ctx, add_team(ctx))
    return ctx


@pytest.fixture(scope="module")
def worked(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Context:
    """The workflow's store on each engine, made once per module (each test changes a copy)."""
    if engine == "postgresql":
        return _worked(make_postgres_context(request.getfixturevalue("postgres_cluster"), START))
    return _worked(make_context(tmp_path_factory.mktemp("tallies"), START))


@pytest.fixture
def store(worked: Context, tmp_path: Path) -> Context:
    return copy_context(worked, tmp_path)


def test_the_tallies_equal_the_figures_counted_from_every_row(store: Context) -> None:
    figures_agree(store.db_path)
    assert problems(store.db_path) == []
    with reading(store.db_path) as db:
        comparison = {row["re_referred"]: row for row in queries.re_referral_comparison(db)}
        closures = sum(row["closures"] for row in queries.closures_per_month(db))
    assert closures == 5
    assert comparison[1]["closures"] == 2  # CR-7001's and CR-7003's first closures
    assert comparison[1]["percent_with_exception"] == 50.0


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE learning_tally SET n = n + 1 WHERE figure = 'closures'",
        "DELETE FROM learning_tally WHERE figure = 'gaps'",
        "UPDATE learning_tally SET exceptions = exceptions + 1 WHERE figure = 're_referral'",
        "INSERT INTO learning_tally (figure, check_id, n) VALUES ('gaps', 'made.UP1', 3)",
    ],
)
def test_verify_reports_a_tally_that_does_not_match_the_rows(store: Context, change: str) -> None:
    tamper(store.db_path, change)

    assert problems(store.db_path) == [
        "learning figures: their counts do not match the decisions, outcomes and findings "
        "they count"
    ]


def test_the_migration_fills_the_tallies_from_what_is_stored(tmp_path: Path) -> None:
    """SQLite's migration m007 (PostgreSQL's schema never lacked the tallies)."""
    store = _worked(make_context(tmp_path, START))
    assert isinstance(store.db_path, Path)
    with reading(store.db_path) as db:
        kept = _sorted(list(db.query("SELECT * FROM learning_tally")))
    conn = sqlite3.connect(store.db_path)
    for trigger in ("learning_outcome", "learning_first_sign_off", "learning_re_referral"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE learning_tally")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm007_learning_tallies'")
    conn.commit()
    conn.close()

    MIGRATIONS.apply(Database(sqlite3.connect(store.db_path)))

    with reading(store.db_path) as db:
        assert _sorted(list(db.query("SELECT * FROM learning_tally"))) == kept
    assert problems(store.db_path) == []
