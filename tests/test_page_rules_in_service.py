"""Decisions the auditor's and manager's pages used to make themselves, now made by the service:
whether the decision list is filtered, whether a next page exists, the overall reason of a
return, and that a reason left blank for a step or finding was not given."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from closure_readiness.demo.seed import seed
from closure_readiness.service import auditing, decisions, staff
from closure_readiness.service.auditing import DecisionPage, DecisionQuery
from closure_readiness.service.context import Context

ISSUER = "http://127.0.0.1:9400"
TODAY = dt.date(2025, 6, 2)


def _context(tmp_path: Path) -> Context:
    path = tmp_path / "rules.db"
    seed(path, issuer=ISSUER, today=TODAY)
    clock = dt.datetime.combine(TODAY, dt.time(12), dt.UTC)
    return Context(path, clock=lambda: clock)


def test_a_query_with_only_a_page_has_no_filters() -> None:
    assert not auditing.has_filters(DecisionQuery())
    assert not auditing.has_filters(DecisionQuery(limit=50, offset=100))
    assert auditing.has_filters(DecisionQuery(text="transfer"))
    assert auditing.has_filters(DecisionQuery(team="North", offset=50))
    assert auditing.has_filters(DecisionQuery(has_exceptions=False))


def test_a_next_page_exists_while_matches_remain_or_counting_stopped() -> None:
    def page(total: int, offset: int, *, more: bool = False) -> DecisionPage:
        query = DecisionQuery(limit=50, offset=offset)
        return DecisionPage(rows=[], total=total, query=query, more_than_total=more)

    assert page(51, 0).has_next_page
    assert not page(50, 0).has_next_page
    assert not page(0, 0).has_next_page
    assert not page(120, 100).has_next_page
    assert page(1000, 950, more=True).has_next_page


def test_learning_gives_each_return_its_overall_reason(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    auditor = staff.identify(ctx, issuer=ISSUER, subject="auditor")
    rows = auditing.learning(ctx, auditor).return_reasons
    assert rows
    for row in rows:
        assert row["overall"] == json.loads(row["reasons"])["overall"]
        assert row["overall"]


def test_a_step_or_finding_reason_of_only_spaces_is_left_out_of_a_return(
    tmp_path: Path,
) -> None:
    ctx = _context(tmp_path)
    manager = staff.identify(ctx, issuer=ISSUER, subject="manager")
    waiting = decisions.queue(ctx, manager).submitted[0]
    decisions.return_review(
        ctx,
        manager,
        waiting.decision_id,
        overall="Record the youth work start date.",
        themes={"case": "   ", "exit": "Say who holds the plan."},
        findings={"exit.E003": " \n "},
    )
    with sqlite3.connect(ctx.db_path) as conn:
        (stored,) = conn.execute(
            "SELECT reasons FROM outcomes WHERE decision_id = ? AND outcome = 'returned'",
            [waiting.decision_id],
        ).fetchone()
    assert json.loads(stored) == {
        "overall": "Record the youth work start date.",
        "findings": {},
        "themes": {"exit": "Say who holds the plan."},
    }
