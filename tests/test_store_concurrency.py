"""Concurrent writers on one real database: separate processes, no lost or refused commits.

Every worker is a spawned process with its own connections, as Streamlit sessions and the
command line are in production. Workers wait on a barrier so their transactions overlap.
Both engines: an SQLite file, and a database in the test run's PostgreSQL cluster.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import multiprocessing.synchronize
import os
import queue
import sqlite3
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.core.location import PostgresURL, Store, parse_store
from closure_readiness.core.review import Review
from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import SYSTEM, Context, Principal, Refused, Role
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import verify
from workflow_fixtures import forget, make_engine_context

pytestmark = pytest.mark.both_engines

ROOT = Path(__file__).resolve().parents[1]
READY = ROOT / "examples" / "ready-three-agencies-sustained-change.json"
TEAM = "North Adolescent Team"
ISSUER = "http://127.0.0.1:9400"
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(autouse=True)
def _plain_main_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spawned children re-run the parent's __main__ file. After an AppTest in the same
    pytest worker that is the Streamlit app script, so give the children a bare one."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


SIGN_OFF_PROCESSES = 4
SIGN_OFFS_PER_PROCESS = int(os.environ.get("SIGN_OFFS_PER_PROCESS", "500"))
COUNTERSIGNERS = 8
COUNTERSIGN_ROUNDS = 5
DEADLINE_S = 600.0


def _clock(start: dt.datetime) -> Any:
    """A clock a step ahead on every reading: stored times read as a plausible history."""
    ticks = iter(range(10**9))
    return lambda: start + dt.timedelta(milliseconds=next(ticks))


def _ready_document(case_reference: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(READY.read_text(encoding="utf-8"))
    document["case"]["case_reference"] = case_reference
    return document


def _add(ctx: Context, staff_id: str, role: Role) -> Principal:
    return staff.add_staff(
        ctx,
        SYSTEM,
        staff_id=staff_id,
        issuer=ISSUER,
        subject=staff_id.lower(),
        display_name=f"Synthetic {role.label} {staff_id}",
        role=role,
        team=TEAM,
    ).principal()


def _collect(
    results: Any, processes: list[Any], expected: int, deadline: float
) -> list[dict[str, Any]]:
    """Every worker's report, failing fast when one dies without reporting."""
    collected: list[dict[str, Any]] = []
    while len(collected) < expected:
        assert time.monotonic() < deadline, f"workers did not report in time: {collected}"
        try:
            collected.append(results.get(timeout=1.0))
        except queue.Empty:
            dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            assert not dead, f"a worker died without reporting (exit codes {dead})"
    for process in processes:
        process.join(timeout=max(1.0, deadline - time.monotonic()))
        assert process.exitcode == 0, f"worker exit code {process.exitcode}"
    return collected


# Worker processes (module-level so that a spawned process can import them) -----------------


def sign_off_worker(
    db_path: str,
    number: int,
    count: int,
    barrier: multiprocessing.synchronize.Barrier,
    results: Any,
) -> None:
    """Prepare and sign off `count` reviews as caseworker SW-P{number}; report every decision id."""
    worker = Principal(f"SW-P{number}", f"Synthetic caseworker {number}", Role.CASEWORKER, TEAM)
    ctx = Context(
        parse_store(db_path), clock=_clock(dt.datetime(2025, 5, 30, 9, number, tzinfo=dt.UTC))
    )
    template = _ready_document("CR-P0-0000")
    acknowledged: list[int] = []
    errors: list[str] = []
    barrier.wait(timeout=120)
    started = time.perf_counter()
    for index in range(count):
        template["case"]["case_reference"] = f"CR-P{number}-{index:04d}"
        try:
            review = Review.model_validate(template)
            review_id = reviews.start_review(ctx, worker, review.case)
            reviews.save_review(ctx, worker, review_id, review, expected_version=1)
            record = reviews.get_review(ctx, worker, review_id)
            acknowledged.append(
                reviews.sign_off(
                    ctx, worker, review_id, seen_hash=record.content_hash, attested=True
                )
            )
        except Exception:
            errors.append(traceback.format_exc())
    results.put(
        {
            "number": number,
            "acknowledged": acknowledged,
            "errors": errors,
            "seconds": time.perf_counter() - started,
        }
    )


def countersign_worker(
    db_path: str,
    manager_id: str,
    decision_ids: list[int],
    hashes: list[str],
    barrier: multiprocessing.synchronize.Barrier,
    results: Any,
) -> None:
    """For each decision in turn: wait for every manager, then all try to countersign it."""
    manager = Principal(manager_id, f"Synthetic manager {manager_id}", Role.TEAM_MANAGER, TEAM)
    ctx = Context(parse_store(db_path), clock=_clock(dt.datetime(2025, 6, 2, 10, tzinfo=dt.UTC)))
    for round_number, (decision_id, content_hash) in enumerate(
        zip(decision_ids, hashes, strict=True)
    ):
        barrier.wait(timeout=120)
        try:
            decisions.countersign(ctx, manager, decision_id, hash_seen=content_hash)
            outcome, message = "countersigned", ""
        except Refused as refusal:
            outcome, message = "refused", refusal.message
        except Exception:
            outcome, message = "error", traceback.format_exc()
        results.put(
            {
                "round": round_number,
                "manager": manager_id,
                "outcome": outcome,
                "message": message,
            }
        )


# Tests -----------------------------------------------------------------------------------------


def _integrity_check(path: Store) -> list[tuple[Any, ...]]:
    """SQLite's check of the file's pages. PostgreSQL: nothing to check from here (the
    server's pages are its own; what was stored is checked by verify on both engines)."""
    if not isinstance(path, Path):
        return [("ok",)]
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()


def _location(store: Store) -> str:
    """The database as a worker process is told it (a path, or the whole URL)."""
    return store.url if isinstance(store, PostgresURL) else str(store)


@pytest.fixture
def store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Context]:
    """A new, empty database for the test, with a clock a step ahead on every reading."""
    ctx = make_engine_context(engine, tmp_path, request)
    yield Context(ctx.db_path, clock=_clock(dt.datetime(2025, 5, 29, 9, tzinfo=dt.UTC)))
    forget(ctx)


@pytest.mark.slow
def test_four_processes_sign_off_two_thousand_reviews_without_a_lock_error(
    store: Context, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = store
    path = ctx.db_path
    for number in range(SIGN_OFF_PROCESSES):
        _add(ctx, f"SW-P{number}", Role.CASEWORKER)
    barrier = SPAWN.Barrier(SIGN_OFF_PROCESSES)
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=sign_off_worker,
            args=(_location(path), number, SIGN_OFFS_PER_PROCESS, barrier, results),
        )
        for number in range(SIGN_OFF_PROCESSES)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    reports = _collect(results, processes, SIGN_OFF_PROCESSES, time.monotonic() + DEADLINE_S)
    wall = time.perf_counter() - started

    errors = [error for report in reports for error in report["errors"]]
    assert errors == [], errors[:3]
    acknowledged = [decision for report in reports for decision in report["acknowledged"]]
    total = SIGN_OFF_PROCESSES * SIGN_OFFS_PER_PROCESS
    assert len(acknowledged) == total
    with reading(path) as db:
        stored = {row["id"] for row in db.query("SELECT id FROM decisions")}
        statuses = dict(db.execute("SELECT status, count(*) FROM reviews GROUP BY status"))
        report = verify(db)
    assert stored == set(acknowledged)
    assert statuses == {"submitted": total}
    assert report.intact, report.problems[:5]
    assert report.decisions_checked == total
    # staff_added, then review_started + review_saved + signed_off for each review
    assert report.events_checked == SIGN_OFF_PROCESSES + 3 * total
    assert _integrity_check(path) == [("ok",)]
    slowest = max(r["seconds"] for r in reports)
    with capsys.disabled():
        print(
            f"\n{engine}: {total} sign-offs (each with start and save: {3 * total} write "
            f"transactions) by {SIGN_OFF_PROCESSES} processes in {slowest:.1f} s of work, "
            f"{wall:.1f} s with "
            f"process start-up: {total / slowest:.0f} sign-offs/s, {3 * total / slowest:.0f} "
            "writes/s"
        )


@pytest.mark.slow
def test_eight_managers_countersigning_at_once_one_wins_and_the_rest_are_refused(
    store: Context,
) -> None:
    ctx = store
    path = ctx.db_path
    worker = _add(ctx, "SW-1", Role.CASEWORKER)
    managers = [f"TM-{n}" for n in range(1, COUNTERSIGNERS + 1)]
    for manager_id in managers:
        _add(ctx, manager_id, Role.TEAM_MANAGER)
    decision_ids = []
    for index in range(COUNTERSIGN_ROUNDS):
        review = Review.model_validate(_ready_document(f"CR-CS-{index:04d}"))
        review_id = reviews.start_review(ctx, worker, review.case)
        reviews.save_review(ctx, worker, review_id, review, expected_version=1)
        record = reviews.get_review(ctx, worker, review_id)
        decision_ids.append(
            reviews.sign_off(ctx, worker, review_id, seen_hash=record.content_hash, attested=True)
        )
    with reading(path) as db:
        hashes = [
            db.execute("SELECT content_hash FROM decisions WHERE id = ?", [d]).fetchone()[0]
            for d in decision_ids
        ]

    barrier = SPAWN.Barrier(COUNTERSIGNERS)
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=countersign_worker,
            args=(_location(path), manager_id, decision_ids, hashes, barrier, results),
        )
        for manager_id in managers
    ]
    for process in processes:
        process.start()
    attempts = _collect(
        results, processes, COUNTERSIGNERS * COUNTERSIGN_ROUNDS, time.monotonic() + DEADLINE_S
    )

    assert [a for a in attempts if a["outcome"] == "error"] == []
    for round_number, decision_id in enumerate(decision_ids):
        this_round = [a for a in attempts if a["round"] == round_number]
        winners = [a["manager"] for a in this_round if a["outcome"] == "countersigned"]
        refusals = [a["message"] for a in this_round if a["outcome"] == "refused"]
        assert len(winners) == 1, this_round
        assert len(refusals) == COUNTERSIGNERS - 1
        assert all("already been countersigned" in message for message in refusals), refusals
        with reading(path) as db:
            outcomes = list(db.query("SELECT * FROM outcomes WHERE decision_id = ?", [decision_id]))
            status = db.execute(
                "SELECT r.status FROM reviews r JOIN decisions d ON d.review_id = r.id "
                "WHERE d.id = ?",
                [decision_id],
            ).fetchone()[0]
        assert len(outcomes) == 1
        assert outcomes[0]["outcome"] == "approved"
        assert outcomes[0]["decided_by"] == winners[0]
        assert status == "approved"
    with reading(path) as db:
        report = verify(db)
        decided_events = db.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'decided'"
        ).fetchone()[0]
    assert report.intact, report.problems
    assert decided_events == COUNTERSIGN_ROUNDS
    assert _integrity_check(path) == [("ok",)]
