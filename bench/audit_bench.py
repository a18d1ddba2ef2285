"""The auditor's reads at 100k decisions: the filtered list, full-text search, the learning
figures, each through the service (audit event included) against the bare SQL it runs."""

from __future__ import annotations

import functools
import shutil
import sqlite3
import statistics
import tempfile
from pathlib import Path

from bench.harness import Measurement, compare, median_ms
from bench.store_bench import FULL_DECISIONS, QUICK_DECISIONS, TEAMS, cached_store
from closure_readiness.service import auditing
from closure_readiness.service.context import Context, Principal, Role
from closure_readiness.storage.queries import DecisionQuery, fts_expression

AUDITOR = Principal("AU-BENCH", "Benchmark auditor", Role.AUDITOR, "")
SEARCH_WORDS = ("attendance", "police", "boxing", "college", "missing", "youth", "aunt", "CR")


def _with_auditor(path: Path) -> Context:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT OR IGNORE INTO staff (id, issuer, subject, display_name, role, team, "
            "active, created_at) VALUES (?, 'bench', 'auditor', ?, 'auditor', '', 1, "
            "'2026-01-01T00:00:00+00:00')",
            [AUDITOR.staff_id, AUDITOR.display_name],
        )
    conn.close()
    return Context(path)


def run(repeat: int, *, quick: bool = False) -> list[Measurement]:
    size = QUICK_DECISIONS if quick else FULL_DECISIONS
    folder = Path(tempfile.mkdtemp(prefix="closure-bench-audit-"))
    path = folder / "store.db"
    shutil.copyfile(cached_store(size), path)
    ctx = _with_auditor(path)
    raw = sqlite3.connect(path)
    rounds = max(5, repeat // 4)
    filtered = DecisionQuery(team=TEAMS[1], status="approved", has_exceptions=False, limit=50)

    def bare_list() -> object:
        return raw.execute(
            "SELECT d.id, d.case_reference FROM decisions d LEFT JOIN outcomes o "
            "ON o.decision_id = d.id WHERE d.team = ? AND o.outcome = 'approved' "
            "AND d.exceptions = 0 ORDER BY d.signed_at DESC LIMIT 50",
            [TEAMS[1]],
        ).fetchall()

    rows = [
        compare(
            f"auditor's filtered list, {size:,} decisions (service call)",
            lambda: auditing.list_decisions(ctx, AUDITOR, filtered),
            "bare SQL of the same page",
            bare_list,
            repeat=rounds,
            target=None,
            limit_ms=50,
        )
    ]
    per_word = {
        word: median_ms(
            functools.partial(auditing.list_decisions, ctx, AUDITOR, DecisionQuery(text=word)),
            repeat=rounds,
            warmup=1,
        )
        for word in SEARCH_WORDS
    }
    worst_word = max(per_word, key=lambda w: per_word[w])

    def bare_search() -> object:
        return raw.execute(
            "SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH ? "
            "ORDER BY rowid DESC LIMIT 50",
            [fts_expression("attendance")],
        ).fetchall()

    floor = median_ms(bare_search, repeat=rounds)
    rows.append(
        Measurement(
            name=f"full-text search, median of {len(SEARCH_WORDS)} words (service call)",
            subject_ms=statistics.median(per_word.values()),
            floor_name="bare FTS match, newest 50",
            floor_ms=floor,
            target=None,
            limit_ms=100,
        )
    )
    rows.append(
        Measurement(
            name=f"full-text search, worst single word ('{worst_word}')",
            subject_ms=per_word[worst_word],
            floor_name="bare FTS match, newest 50",
            floor_ms=floor,
            target=None,
            limit_ms=500,
        )
    )

    def learning_first_time() -> object:
        auditing.clear_learning_cache()
        return auditing.learning(ctx, AUDITOR)

    rows.append(
        compare(
            f"learning figures, {size:,} decisions, first computation",
            learning_first_time,
            "bare SQL: closures per month",
            lambda: raw.execute(
                "SELECT substr(decided_at, 1, 7), count(*) FROM outcomes "
                "WHERE outcome = 'approved' GROUP BY 1"
            ).fetchall(),
            repeat=max(5, rounds // 2),
            target=None,
            limit_ms=300,
        )
    )
    rows.append(
        compare(
            f"learning figures, {size:,} decisions, data unchanged since (cached)",
            lambda: auditing.learning(ctx, AUDITOR),
            "bare SQL: closures per month",
            lambda: raw.execute(
                "SELECT substr(decided_at, 1, 7), count(*) FROM outcomes "
                "WHERE outcome = 'approved' GROUP BY 1"
            ).fetchall(),
            repeat=max(5, rounds // 2),
            target=None,
            limit_ms=300,
        )
    )
    raw.close()
    return rows
