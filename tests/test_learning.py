"""The learning figures: what they count, and that a cached copy never outlives new data.
On both engines: the demo seeded into an SQLite file or a PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from closure_readiness.core.location import PostgresURL, Store
from closure_readiness.demo.seed import seed
from closure_readiness.service import auditing, decisions, staff
from closure_readiness.service.context import Context

pytestmark = pytest.mark.both_engines

ISSUER = "http://127.0.0.1:9400"
TODAY = dt.date(2025, 6, 2)


@pytest.fixture
def store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    """A new store for the demo: a file, or a database in the test run's cluster."""
    if engine == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        return PostgresURL(cluster.create_database(f"learning{uuid.uuid4().hex[:12]}"))
    return tmp_path / "learning.db"


def _context(path: Store) -> tuple[Context, dict[str, int]]:
    ids = seed(path, issuer=ISSUER, today=TODAY)
    clock = dt.datetime.combine(TODAY, dt.time(12), dt.UTC)
    return Context(path, clock=lambda: clock), ids


def _closures(figures: auditing.LearningFigures) -> int:
    return sum(row["closures"] for row in figures.closures_per_month)


def test_learning_figures_count_the_seeded_exception_and_return(store: Store) -> None:
    ctx, _ = _context(store)
    auditor = staff.identify(ctx, issuer=ISSUER, subject="auditor")
    figures = auditing.learning(ctx, auditor)
    assert {row["check_id"]: row["exceptions"] for row in figures.exceptions_by_check} == {
        "exit.E003": 1
    }
    assert [row["manager"] for row in figures.exceptions_by_manager] == ["TM-201"]
    assert sum(row["returns"] for row in figures.returns_by_month) == 1
    assert {row["re_referred"] for row in figures.re_referral_comparison} == {0, 1}


def test_learning_figures_include_an_approval_made_after_they_were_first_read(
    store: Store,
) -> None:
    ctx, _ = _context(store)
    auditor = staff.identify(ctx, issuer=ISSUER, subject="auditor")
    manager = staff.identify(ctx, issuer=ISSUER, subject="manager")
    before = _closures(auditing.learning(ctx, auditor))
    waiting = decisions.queue(ctx, manager).submitted[0]
    sealed = decisions.get_decision(ctx, manager, waiting.decision_id)
    decisions.countersign(ctx, manager, waiting.decision_id, hash_seen=sealed.content_hash)
    assert _closures(auditing.learning(ctx, auditor)) == before + 1
