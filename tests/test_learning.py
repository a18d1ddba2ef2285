"""The learning figures: what they count, and that a cached copy never outlives new data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from closure_readiness.demo.seed import seed
from closure_readiness.service import auditing, decisions, staff
from closure_readiness.service.context import Context

ISSUER = "http://127.0.0.1:9400"
TODAY = dt.date(2025, 6, 2)


def _context(tmp_path: Path) -> tuple[Context, dict[str, int]]:
    path = tmp_path / "learning.db"
    ids = seed(path, issuer=ISSUER, today=TODAY)
    clock = dt.datetime.combine(TODAY, dt.time(12), dt.UTC)
    return Context(path, clock=lambda: clock), ids


def _closures(figures: auditing.LearningFigures) -> int:
    return sum(row["closures"] for row in figures.closures_per_month)


def test_learning_figures_count_the_seeded_exception_and_return(tmp_path: Path) -> None:
    ctx, _ = _context(tmp_path)
    auditor = staff.identify(ctx, issuer=ISSUER, subject="auditor")
    figures = auditing.learning(ctx, auditor)
    assert {row["check_id"]: row["exceptions"] for row in figures.exceptions_by_check} == {
        "exit.E003": 1
    }
    assert [row["manager"] for row in figures.exceptions_by_manager] == ["TM-201"]
    assert sum(row["returns"] for row in figures.returns_by_month) == 1
    assert {row["re_referred"] for row in figures.re_referral_comparison} == {0, 1}


def test_learning_figures_include_an_approval_made_after_they_were_first_read(
    tmp_path: Path,
) -> None:
    ctx, _ = _context(tmp_path)
    auditor = staff.identify(ctx, issuer=ISSUER, subject="auditor")
    manager = staff.identify(ctx, issuer=ISSUER, subject="manager")
    before = _closures(auditing.learning(ctx, auditor))
    waiting = decisions.queue(ctx, manager).submitted[0]
    sealed = decisions.get_decision(ctx, manager, waiting.decision_id)
    decisions.countersign(ctx, manager, waiting.decision_id, hash_seen=sealed.content_hash)
    assert _closures(auditing.learning(ctx, auditor)) == before + 1
