"""The benchmark command keeps working (a smoke run; no timing is asserted here), and the store
benchmark's bulk builder writes exactly what the service would have written."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.checks import REGISTRY
from closure_readiness.core.review import Review
from closure_readiness.service import reviews
from closure_readiness.service.context import Context, Principal
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import verify

ROOT = Path(__file__).resolve().parents[1]
# The benchmarks live beside the package, not in it (`python -m bench` from the repository).
sys.path.insert(0, str(ROOT))
from bench import store_bench  # noqa: E402
from bench.checks_bench import BASE  # noqa: E402


def test_checks_benchmark_prints_a_table_row_with_a_ratio() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "checks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    row = next(
        line
        for line in result.stdout.splitlines()
        if line.startswith(f"| all {len(REGISTRY)} checks")
    )
    assert row.count("|") == 8
    assert "x |" in row


def test_benchmark_refuses_an_unknown_suite() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "nonsense"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown suite nonsense" in result.stderr


@pytest.mark.slow  # about 90 seconds: 10,000 decisions are built, signed off and verified
def test_store_benchmark_signs_off_and_verifies_a_bulk_built_store() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "store"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    sign_off = next(row for row in rows if row.startswith("| sign-off, 30 evidence items"))
    alone = next(row for row in rows if row.startswith("| the same, no other connection"))
    verify = next(row for row in rows if row.startswith("| verify 10,000 decisions"))
    assert "| <= 3x |" in sign_off
    assert "decisions/s" in verify
    assert all(row.count("|") == 8 and "x |" in row for row in (sign_off, alone, verify))


# The store benchmark's bulk builder ------------------------------------------------------------

SMALL = 200
"""Every kind of end (approved, returned, waiting), both template reviews, several batches'
worth of interleaved events when BATCH is small."""


@pytest.fixture(scope="module")
def templates() -> dict[tuple[int, str], store_bench.Template]:
    return store_bench._templates()


def _built(
    folder: Path, templates: dict[tuple[int, str], store_bench.Template], decisions: int
) -> Path:
    path = folder / "store.db"
    store_bench.build_store(path, decisions, templates=templates)
    return path


def test_a_small_bulk_built_store_verifies_intact(
    tmp_path: Path,
    templates: dict[tuple[int, str], store_bench.Template],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store_bench, "BATCH", 64)  # several batches: events chained across them
    path = _built(tmp_path, templates, SMALL)
    with reading(path) as db:
        report = verify(db)
        events = db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        ats = [row[0] for row in db.execute("SELECT at FROM audit_events ORDER BY seq")]
    assert report.problems == []
    assert report.decisions_checked == SMALL
    assert report.outcomes_checked == SMALL * 8 // 10
    # Staff, then every event of each review's template: started, each save, signed off, and
    # for 8 in 10 the manager's views and outcome and an auditor's view and export.
    kinds = [(i % 2, store_bench._kind(i)) for i in range(1, SMALL + 1)]
    assert events == len(store_bench.staff_list()) + sum(len(templates[k].events) for k in kinds)
    assert events / SMALL > 30, "a review's life, not a handful of events"
    assert ats == sorted(ats), "events are chained in the order of their times"


def _without_action(action: str) -> Callable[..., list[tuple[Any, ...]]]:
    filled = store_bench.Template.filled_events

    def events(self: store_bench.Template, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [event for event in filled(self, values) if event[2] != action]

    return events


def _staff_without_events(path: Path) -> dict[str, str]:
    """The staff inserted as rows only (as the builder did before): no staff_added events."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO staff (id, issuer, subject, display_name, role, team, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, '2023-05-02T09:00:00+00:00')",
            [
                (p.staff_id, store_bench.ISSUER, p.staff_id.lower(), p.name, p.role, p.team)
                for p in store_bench.staff_list()
            ],
        )
    conn.close()
    return {p.staff_id: p.name for p in store_bench.staff_list()}


@pytest.mark.parametrize(
    ("left_out", "problem"),
    [
        ("staff_added", "member of staff SW-00-0: not recorded in the audit trail"),
        ("review_started", "review 1: not recorded in the audit trail"),
        ("signed_off", "decision 1: its hash is not the one the audit chain recorded"),
        ("decided", "decision 1 outcome: its hash is not the one the audit chain recorded"),
    ],
)
def test_verify_fails_a_bulk_store_missing_one_kind_of_event(
    tmp_path: Path,
    templates: dict[tuple[int, str], store_bench.Template],
    monkeypatch: pytest.MonkeyPatch,
    left_out: str,
    problem: str,
) -> None:
    """The builder's events are needed: leave one kind out and verify says so."""
    if left_out == "staff_added":
        monkeypatch.setattr(store_bench, "_add_staff", _staff_without_events)
    else:
        monkeypatch.setattr(store_bench.Template, "filled_events", _without_action(left_out))
    path = _built(tmp_path, templates, 20)
    with reading(path) as db:
        report = verify(db)
    assert not report.intact
    assert problem in report.problems


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlite_%' "
                "AND name NOT LIKE 'decisions_fts%'"
            )
        ]
        dump = {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables}
        dump["decisions_fts"] = conn.execute("SELECT rowid, * FROM decisions_fts").fetchall()
        # Rows as a set: the order rows were inserted in (versions of one review and the next
        # interleave in time) is not something anyone reads; every key is in the rows.
        return {table: sorted(rows, key=repr) for table, rows in dump.items()}
    finally:
        conn.close()


def _through_the_service(path: Path, decisions: int) -> None:
    """The same reviews as `build_store` writes, each step through the service at its time."""
    names = store_bench._add_staff(path)
    people = {p.staff_id: p for p in store_bench.staff_list()}
    now = {"at": store_bench.FIRST_SIGN_OFF}
    ctx = Context(path, clock=lambda: now["at"])
    sources = (
        store_bench.signable_review_with_evidence(30),
        Review.model_validate_json(BASE.read_text(encoding="utf-8")),
    )

    def principal(staff_id: str) -> Principal:
        person = people[staff_id]
        return Principal(staff_id, names[staff_id], person.role, person.team)

    auditor = principal("AU-1")

    steps: list[tuple[dt.datetime, int, Callable[[], object]]] = []
    for i in range(1, decisions + 1):
        t = i % len(store_bench.TEAMS)
        team = store_bench.TEAMS[t]
        worker = principal(f"SW-{t:02d}-{(i // len(store_bench.TEAMS)) % 8}")
        manager = principal(f"TM-{t:02d}-{i % 2}")
        source = sources[i % 2]
        case = source.case.model_copy(
            update={
                "case_reference": f"CR-B{i:07d}",
                "team": team,
                "allocated_worker": worker.staff_id,
            }
        )
        review = source.model_copy(update={"case": case})
        signed = store_bench.FIRST_SIGN_OFF + i * store_bench.BETWEEN_SIGN_OFFS
        kind = store_bench._kind(i)

        def start(case: Any = case, worker: Principal = worker) -> object:
            return reviews.start_review(ctx, worker, case)

        def save(i: int = i, review: Review = review, worker: Principal = worker) -> object:
            version = 1
            for step in store_bench._editing_history(review):
                version = reviews.save_review(ctx, worker, i, step, expected_version=version)
            return version

        def sign(i: int = i, worker: Principal = worker) -> object:
            seen = reviews.get_review(ctx, worker, i).content_hash
            return reviews.sign_off(ctx, worker, i, seen_hash=seen, attested=True)

        def decide(i: int = i, manager: Principal = manager, kind: str = kind) -> None:
            store_bench.decide(ctx, manager, auditor, i, kind)

        steps += [
            (signed - store_bench.STARTED_BEFORE, i, start),
            (signed - store_bench.SAVED_BEFORE, i, save),
            (signed, i, sign),
        ]
        if kind != "submitted":
            steps.append((signed + store_bench.DECIDED_AFTER, i, decide))
    for at, _, step in sorted(steps, key=lambda s: (s[0], s[1])):
        now["at"] = at
        step()


def test_the_bulk_builder_writes_exactly_what_the_service_writes(
    tmp_path: Path, templates: dict[tuple[int, str], store_bench.Template]
) -> None:
    """Every table and every audit event, byte for byte: the same reviews started, saved,
    signed off and decided through the service at the same times (the search index itself
    is compared by verify, above)."""
    decisions = 24  # every kind of end for both template reviews, events interleaved
    built = _built(tmp_path, templates, decisions)
    (tmp_path / "service").mkdir()
    service = tmp_path / "service" / "store.db"
    _through_the_service(service, decisions)
    expected, actual = _dump(service), _dump(built)
    assert expected.keys() == actual.keys()
    for table, rows in expected.items():
        assert actual[table] == rows, table
