"""Writers queue promptly (decision #76; `storage.database._writer_turn`).

The threads of one server process take turns on a lock of their own before they ask SQLite
for its write lock, so a writer waiting for another in its process holds no connection and is
woken as soon as that one finishes; the one whose turn it is asks SQLite again every
millisecond while another process holds the lock. The busy timeout still bounds the whole wait
(then the app's "busy, try again" line), and a forked child never waits for a turn its parent's
threads held. SQLite only: PostgreSQL's writers queue on the server's advisory lock.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.storage import database
from closure_readiness.storage.database import reading, writing


@pytest.fixture
def path(tmp_path: Path) -> Iterator[Path]:
    db_path = tmp_path / "turns.db"
    with writing(db_path) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    database.release(db_path)
    yield db_path
    database.release(db_path)


@contextlib.contextmanager
def _held_by_another_thread(
    enter: Callable[[], AbstractContextManager[Any]],
    inside: Callable[[Any], object] = lambda _: None,
) -> Iterator[None]:
    """`enter()` entered by another thread (which then runs `inside` on what it gave) and held
    there until the block ends."""
    entered, go_on = threading.Event(), threading.Event()

    def hold() -> None:
        with enter() as held:
            inside(held)
            entered.set()
            go_on.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert entered.wait(10)
        yield
    finally:
        go_on.set()
        thread.join(10)


def _notes(path: Path) -> list[str]:
    with reading(path) as db:
        return [row[0] for row in db.execute("SELECT text FROM notes ORDER BY id").fetchall()]


def test_writers_of_one_process_waiting_for_their_turn_hold_no_connection(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    real: Callable[..., Any] = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        opened.append(str(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    failures: list[BaseException] = []

    def another(n: int) -> None:
        try:
            with writing(path) as db:
                db.execute("INSERT INTO notes (text) VALUES (?)", [f"writer {n}"])
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    others = [threading.Thread(target=another, args=(n,)) for n in range(7)]
    first = "INSERT INTO notes (text) VALUES ('first')"
    with _held_by_another_thread(lambda: writing(path), lambda db: db.execute(first)):
        for thread in others:
            thread.start()
        # Seven writers are waiting while the first holds the lock: none of them has opened
        # a connection to wait on SQLite's lock with.
        for thread in others:
            thread.join(0.05)
        assert len(opened) == 1, opened
    for thread in others:
        thread.join(10)
    assert not failures
    notes = _notes(path)
    assert notes[0] == "first"
    assert sorted(notes[1:]) == [f"writer {n}" for n in range(7)]


def test_a_writer_that_does_not_get_its_turn_in_time_is_told_busy_and_stores_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    held = "INSERT INTO notes (text) VALUES ('held')"
    with _held_by_another_thread(lambda: writing(path), lambda db: db.execute(held)):
        with pytest.raises(sqlite3.OperationalError) as raised, writing(path) as db:
            db.execute("INSERT INTO notes (text) VALUES ('too late')")
        assert database.database_fault(raised.value) == database.BUSY
    assert _notes(path) == ["held"]


def test_a_writer_waiting_for_another_process_writes_once_it_lets_go(path: Path) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    done = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            with writing(path) as db:
                db.execute("INSERT INTO notes (text) VALUES ('after the other')")
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert not done.wait(0.3)  # still waiting: the other connection holds the lock
        other.execute("INSERT INTO notes (text) VALUES ('the other')")
        other.execute("COMMIT")
        thread.join(10)
        assert done.is_set()
    finally:
        other.close()
    assert not failures
    assert _notes(path) == ["the other", "after the other"]
    with reading(path) as db:  # a reader still waits out the busy timeout for a lock
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == database.BUSY_TIMEOUT_MS


def _child_writes(path: str) -> None:
    with writing(Path(path)) as db:
        db.execute("INSERT INTO notes (text) VALUES ('child')")


def test_a_forked_child_does_not_wait_for_a_turn_its_parent_held(path: Path) -> None:
    with _held_by_another_thread(lambda: database._writer_turn(path)):
        child = multiprocessing.get_context("fork").Process(target=_child_writes, args=(path,))
        child.start()
        child.join(20)
        assert child.exitcode == 0
    assert _notes(path) == ["child"]
