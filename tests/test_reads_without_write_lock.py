"""Audited reads (a decision view, a search, an export, a PDF) never take the write lock to read.

They read, check the seal and build what is shown in a read transaction (WAL readers do not
wait for a writer; PostgreSQL's readers take no lock a writer holds), then append their audit
event in a short write of its own and return only once it is committed. Nothing here is timed:
each test shows an ordering (the read finished while another connection held the write lock;
thirty reads were inside their read at once). Both engines: the write lock is SQLite's
`BEGIN IMMEDIATE` or PostgreSQL's advisory lock (`workflow_fixtures.write_lock_held`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.service import auditing, decisions
from closure_readiness.service.context import Context, NotAllowed
from closure_readiness.storage import queries, repositories
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import verify
from closure_readiness.storage.queries import DecisionQuery
from workflow_fixtures import (
    Team,
    add_team,
    approve,
    busy_errors,
    disable,
    forget,
    held_open,
    make_engine_context,
    private_copy,
    submit,
    write_lock_held,
)

pytestmark = pytest.mark.both_engines

WAIT_S = 20.0
"""How long a helper thread waits for the other side before giving up (never reached when the
reads do not take the write lock; reached, and the test fails, when they do)."""
HOLD_S = 10.0
"""How long the lock holder waits for a view to read before it gives up and lets it write."""


@dataclass(frozen=True)
class Store:
    ctx: Context
    team: Team
    approved: int
    pending: int


@pytest.fixture(scope="module")
def template(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Store]:
    ctx = make_engine_context(engine, tmp_path_factory.mktemp("reads"), request)
    team = add_team(ctx)
    _, approved = submit(ctx, team.worker, "CR-2025-0701")
    approve(ctx, team.manager, approved)
    _, pending = submit(ctx, team.worker, "CR-2025-0702")
    yield Store(ctx, team, approved, pending)
    forget(ctx)


@pytest.fixture
def store(template: Store, tmp_path: Path) -> Iterator[Store]:
    with private_copy(template.ctx, tmp_path) as ctx, held_open(ctx):
        yield Store(ctx, template.team, template.approved, template.pending)


def _events(ctx: Context) -> list[dict[str, Any]]:
    with reading(ctx.db_path) as db:
        return list(db.query("SELECT * FROM audit_events ORDER BY seq"))


def _reads(store: Store) -> dict[str, Callable[[], object]]:
    """Every audited read, as the views call it."""
    ctx, team = store.ctx, store.team
    return {
        "decision_viewed": lambda: auditing.decision_detail(ctx, team.auditor, store.approved),
        "manager_view": lambda: decisions.get_decision(ctx, team.manager, store.pending),
        "decisions_listed": lambda: auditing.list_decisions(
            ctx, team.auditor, DecisionQuery(text="attendance")
        ),
        "decisions_exported": lambda: auditing.export_decisions(
            ctx, team.auditor, DecisionQuery(), fmt="csv"
        ),
        "decision_record_exported": lambda: auditing.decision_record_pdf(
            ctx, team.auditor, store.approved
        ),
    }


def _on_first_read(monkeypatch: pytest.MonkeyPatch, after: Callable[[], None]) -> None:
    """Call `after` in each thread just after its first read of a decision or a list (the rows
    every audited read starts from)."""
    local = threading.local()

    def wrap(real: Callable[..., Any]) -> Callable[..., Any]:
        def read(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            if not getattr(local, "done", False):
                local.done = True
                after()
            return result

        return read

    monkeypatch.setattr(repositories, "get_decision", wrap(repositories.get_decision))
    monkeypatch.setattr(queries, "list_decisions", wrap(queries.list_decisions))


@pytest.mark.parametrize(
    "kind",
    [
        "decision_viewed",
        "manager_view",
        "decisions_listed",
        "decisions_exported",
        "decision_record_exported",
    ],
)
def test_a_read_runs_while_another_connection_holds_the_write_lock(
    store: Store, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    locked, read_done, released = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def after_read() -> None:
        seen["lock held while reading"] = locked.is_set() and not released.is_set()
        read_done.set()

    def hold_the_lock() -> None:
        with write_lock_held(store.ctx):
            locked.set()
            read_done.wait(HOLD_S)  # until the view has read (never, if it needs the lock)
            read_done.wait(0.3)  # and a moment more: its audit write must wait for this
            released.set()

    _on_first_read(monkeypatch, after_read)
    before = len(_events(store.ctx))
    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert locked.wait(WAIT_S)
    result = _reads(store)[kind]()
    returned_after_release = released.is_set()
    holder.join()

    assert result
    assert seen == {"lock held while reading": True}
    assert returned_after_release  # its audit event was written once the lock was free
    added = _events(store.ctx)[before:]
    assert len(added) == 1
    assert added[0]["action"] == ("decision_viewed" if kind == "manager_view" else kind)


READERS = 30


def test_thirty_readers_read_at_once_and_each_leaves_one_event(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every reader waits at a barrier inside its read: the barrier opens only if all thirty
    are reading at the same time, which a read holding the write lock would prevent."""
    barrier = threading.Barrier(READERS, timeout=WAIT_S)

    def wait_for_the_others() -> None:
        barrier.wait()

    _on_first_read(monkeypatch, wait_for_the_others)
    ctx, team = store.ctx, store.team
    calls: list[tuple[str, Callable[[], object]]] = []
    for i in range(READERS):
        kind = ("decision_viewed", "manager_view", "decisions_listed", "decisions_exported")[i % 4]
        calls.append((kind, _reads(store)[kind]))
    before = len(_events(ctx))
    failures: list[BaseException] = []
    results: list[object] = []
    lock = threading.Lock()

    def run(call: Callable[[], object]) -> None:
        try:
            result = call()
        except BaseException as error:  # reported below, with the others
            with lock:
                failures.append(error)
            return
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for _, call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(results) == READERS
    added = _events(ctx)[before:]
    wanted: dict[tuple[str, str], int] = {}
    for kind, _ in calls:
        actor = team.manager.staff_id if kind == "manager_view" else team.auditor.staff_id
        action = "decision_viewed" if kind == "manager_view" else kind
        wanted[(actor, action)] = wanted.get((actor, action), 0) + 1
    got: dict[tuple[str, str], int] = {}
    for event in added:
        got[(event["actor"], event["action"])] = got.get((event["actor"], event["action"]), 0) + 1
    assert got == wanted
    with reading(ctx.db_path) as db:
        assert verify(db).intact


def _in_another_thread_after_read(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[], None]
) -> dict[str, bool]:
    """Make `change` (another person's write) land after the view's read and before its audit
    write: it runs in a thread of its own, and the view goes on once it is committed (or after
    WAIT_S, if it is stuck behind the view's own write lock)."""
    state: dict[str, bool] = {}

    def after_read() -> None:
        if "changed in between" in state:
            return  # the change's own reads, in its thread
        state["changed in between"] = False

        def run() -> None:
            change()
            state["changed"] = True

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(WAIT_S / 4)
        state["changed in between"] = state.get("changed", False)
        _THREADS.append(thread)

    _on_first_read(monkeypatch, after_read)
    return state


_THREADS: list[threading.Thread] = []


@pytest.fixture(autouse=True)
def _join_threads() -> Iterator[None]:
    yield
    while _THREADS:
        _THREADS.pop().join()


def test_an_account_disabled_between_read_and_audit_gets_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, team = store.ctx, store.team
    state = _in_another_thread_after_read(monkeypatch, lambda: disable(ctx, team.auditor))
    before = _events(ctx)

    with pytest.raises(NotAllowed, match="disabled"):
        auditing.decision_detail(ctx, team.auditor, store.approved)

    assert state["changed in between"]
    added = _events(ctx)[len(before) :]
    assert [event["action"] for event in added] == ["staff_changed"]  # no view was recorded


def test_a_view_records_what_it_showed_when_the_decision_changes_before_its_audit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manager countersigns between an auditor's read and the audit write: the auditor was
    shown the decision awaiting countersignature, and the event says so (seal and outcome)."""
    ctx, team = store.ctx, store.team
    sealed = decisions.get_decision(ctx, team.manager, store.pending)
    state = _in_another_thread_after_read(
        monkeypatch,
        lambda: decisions.countersign(
            ctx, team.manager, store.pending, hash_seen=sealed.content_hash
        ),
    )
    before = len(_events(ctx))

    detail = auditing.decision_detail(ctx, team.auditor, store.pending)

    assert state["changed in between"]
    assert detail.decision.outcome is ReviewStatus.SUBMITTED  # as read: not yet countersigned
    added = _events(ctx)[before:]
    assert [event["action"] for event in added] == ["decided", "decision_viewed"]
    viewed = json.loads(added[1]["detail"])
    assert viewed["content_hash"] == sealed.content_hash
    assert viewed["status"] == ReviewStatus.SUBMITTED
    assert "outcome_hash" not in viewed
    assert viewed["as_of_event"] == added[0]["seq"] - 1  # the state before the countersignature
    assert detail.trail[-1].action == "decision_viewed"  # the trail shown ends with this view
    with reading(ctx.db_path) as db:
        assert verify(db).intact


def test_a_view_whose_audit_write_finds_the_database_busy_says_busy_and_records_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read goes ahead; the audit write waits out the busy timeout and fails as any
    writer's does, which the app shows as its plain "busy, try again" line."""
    from closure_readiness.service import faults
    from closure_readiness.storage import database

    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    before = len(_events(store.ctx))
    with write_lock_held(store.ctx), pytest.raises(busy_errors()) as raised:
        auditing.decision_detail(store.ctx, store.team.auditor, store.approved)

    line = faults.fault_line(raised.value)
    assert line is not None
    assert line.startswith(database.BUSY)
    assert len(_events(store.ctx)) == before


def test_a_countersign_checks_the_seal_chain_and_checks_before_it_takes_the_write_lock(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sealed decision and its events never change, so the countersign reads and checks
    them in a snapshot while another writer holds the lock, and writes once it is free."""
    locked, checked, released = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}
    checks = decisions.recheck

    def recheck(decision: Any) -> Any:
        seen["lock held while checking"] = locked.is_set() and not released.is_set()
        checked.set()
        return checks(decision)

    def hold_the_lock() -> None:
        with write_lock_held(store.ctx):
            locked.set()
            checked.wait(HOLD_S)  # until the countersign has checked (never, if it needs the lock)
            checked.wait(0.3)  # and a moment more: its write must wait for this
            released.set()

    monkeypatch.setattr(decisions, "recheck", recheck)
    with reading(store.ctx.db_path) as db:
        sealed = repositories.get_decision(db, store.pending)
    assert sealed is not None
    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert locked.wait(WAIT_S)
    decisions.countersign(
        store.ctx, store.team.manager, store.pending, hash_seen=sealed["content_hash"]
    )
    returned_after_release = released.is_set()
    holder.join()

    assert seen == {"lock held while checking": True}
    assert returned_after_release
    with reading(store.ctx.db_path) as db:
        outcome = repositories.get_outcome(db, store.pending)
    assert outcome is not None
    assert outcome["outcome"] == "approved"
