"""A connection per database per process (issue 12, item 4).

Every unit of work (`writing`, `reading`, `checkpoint`) borrows a connection this process keeps
for the database, instead of opening one (pragmas, then SQLite reading the schema again). The
pool must never cost correctness: a connection goes back only with no transaction open and no
SQLite error met; a file replaced underneath (moved aside and a backup installed, as the
restore in docs/operations.md does) is read and written at once, never through an old
connection; two threads never hold one connection at once; a forked child never touches its
parent's connections; and the pool is bounded.

Both engines where the rule means something on a server database too (PostgreSQL keeps its
connections in a pool of its own, `storage.postgres._Pool`): the tests that take `store`. Those
about the file itself (a file replaced underneath, the write-ahead log) take `path`: SQLite only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from closure_readiness.core.location import PostgresURL, Store
from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import Context
from closure_readiness.storage import database, postgres
from closure_readiness.storage.database import reading, writing
from workflow_fixtures import (
    ISSUER,
    Team,
    forget,
    make_engine_context,
    prepare_ready,
    subject_of,
    submit,
)

pytestmark = pytest.mark.both_engines


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every connection opened from here on (`sqlite3.connect`, `psycopg.connect`), by the
    path or URL it was opened on."""
    made: list[str] = []

    def counted(real: Callable[..., Any]) -> Callable[..., Any]:
        def connect(*args: Any, **kwargs: Any) -> Any:
            made.append(str(args[0]))
            return real(*args, **kwargs)

        return connect

    monkeypatch.setattr(sqlite3, "connect", counted(sqlite3.connect))
    monkeypatch.setattr(psycopg, "connect", counted(psycopg.connect))
    return made


def _with_notes(db_path: Store, engine: str) -> None:
    key = "INTEGER PRIMARY KEY" if engine == "sqlite" else "bigint GENERATED ALWAYS AS IDENTITY"
    with writing(db_path) as db:
        db.execute(f"CREATE TABLE notes (id {key}, text TEXT NOT NULL)")
        db.execute("INSERT INTO notes (text) VALUES ('first')")


@pytest.fixture
def path(tmp_path: Path) -> Iterator[Path]:
    """A migrated database file with a table of notes, no connection kept to it afterwards
    (for the rules about the file itself: SQLite only)."""
    db_path = tmp_path / "pool.db"
    _with_notes(db_path, "sqlite")
    yield db_path
    database.release()


@pytest.fixture
def store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """`path` on either engine: a migrated database with a table of notes."""
    ctx = make_engine_context(engine, tmp_path, request)
    _with_notes(ctx.db_path, engine)
    database.release()
    yield ctx.db_path
    database.release()
    forget(ctx)


def notes(db_path: Store) -> list[str]:
    with reading(db_path) as db:
        return [row[0] for row in db.execute("SELECT text FROM notes ORDER BY id")]


def raw_notes(db_path: Store) -> list[str]:
    """The notes as a connection of its own, opened now, sees them."""
    if isinstance(db_path, PostgresURL):
        with psycopg.connect(db_path.url) as pg:
            return [row[0] for row in pg.execute("SELECT text FROM notes ORDER BY id")]
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT text FROM notes ORDER BY id")]
    finally:
        conn.close()


def add_note(db_path: Store, text: str) -> None:
    with writing(db_path) as db:
        db.execute("INSERT INTO notes (text) VALUES (?)", [text])


def write_lock_free(db_path: Store) -> bool:
    """Whether another connection can take the write lock at once (no transaction is left
    open on a kept connection)."""
    if isinstance(db_path, PostgresURL):
        with psycopg.connect(db_path.url, autocommit=True) as pg:
            row = pg.execute("SELECT pg_try_advisory_lock(%s)", (postgres.WRITE_LOCK,)).fetchone()
            return bool(row and row[0])  # the session's end lets it go
    conn = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


CLOSED = (sqlite3.ProgrammingError, psycopg.OperationalError)
"""What a closed connection raises when used (sqlite3's, psycopg's)."""


# Reuse ----------------------------------------------------------------------------------------


def test_units_of_work_reuse_one_connection(store: Store, connects: list[str]) -> None:
    add_note(store, "opens the one connection")
    connects.clear()
    seen: set[int] = set()
    for n in range(20):
        with writing(store) as db:
            seen.add(id(db.conn))
            db.execute("INSERT INTO notes (text) VALUES (?)", [f"note {n}"])
        with reading(store) as db:
            seen.add(id(db.conn))
            db.execute("SELECT count(*) FROM notes").fetchone()
    database.checkpoint(store)

    assert connects == []  # the connection opened first served all 41
    assert len(seen) == 1
    assert len(raw_notes(store)) == 22


def test_the_service_opens_no_connection_per_call(
    ctx: Context, team: Team, connects: list[str]
) -> None:
    """Sign-off, the reads around it and the audited view of the decision, as the app makes
    them: a connection or two for the whole run, not one (or two) per call."""
    review_id = prepare_ready(ctx, team.worker, "CR-2025-0901")
    connects.clear()
    for n in range(5):
        _, decision_id = submit(ctx, team.worker, f"CR-2025-09{10 + n}")
        reviews.get_review(ctx, team.worker, review_id)
        staff.identify(ctx, issuer=ISSUER, subject=subject_of(team.worker.staff_id))
        decisions.get_decision(ctx, team.manager, decision_id)

    assert len(connects) <= 1, connects


# A transaction or an error never goes back into the pool ---------------------------------------


class Refusal(Exception):
    """A refusal above the database (a service rule said no) in the middle of a write."""


def write_then(store: Store, error: BaseException) -> Any:
    """A write transaction that inserts a note, then fails with `error`; its connection."""
    used: list[Any] = []
    with contextlib.suppress(type(error)), writing(store) as db:
        used.append(db.conn)  # type: ignore[attr-defined]
        db.execute("INSERT INTO notes (text) VALUES ('half done')")
        raise error
    return used[0]


def test_a_refused_unit_of_work_rolls_back_and_its_sound_connection_is_kept(
    store: Store,
) -> None:
    used = write_then(store, Refusal("refused"))

    assert notes(store) == ["first"]
    assert write_lock_free(store)
    with reading(store) as db:
        assert db.conn is used  # type: ignore[attr-defined]


def test_a_connection_left_in_a_transaction_is_closed_not_kept(store: Store) -> None:
    if isinstance(store, PostgresURL):
        with postgres._borrowed(store) as pg:
            pg.conn.execute("BEGIN")
            pg.conn.execute("SELECT pg_advisory_xact_lock(%s)", (postgres.WRITE_LOCK,))
            pg.conn.execute("INSERT INTO notes (text) VALUES ('never committed')")
            left: Any = pg.conn
    else:
        with database._borrowed(store) as db:
            db.conn.execute("BEGIN IMMEDIATE")
            db.conn.execute("INSERT INTO notes (text) VALUES ('never committed')")
            left = db.conn

    with pytest.raises(CLOSED):  # closed, its transaction with it
        left.execute("SELECT 1")
    assert write_lock_free(store)
    assert notes(store) == ["first"]
    with reading(store) as db:
        assert db.conn is not left  # type: ignore[attr-defined]


def test_a_connection_that_met_a_database_error_is_not_reused(store: Store) -> None:
    error: Exception = (
        psycopg.OperationalError("server closed the connection unexpectedly")
        if isinstance(store, PostgresURL)
        else sqlite3.OperationalError("disk I/O error")
    )
    failed = write_then(store, error)

    with pytest.raises(CLOSED):
        failed.execute("SELECT 1")
    add_note(store, "after")
    assert notes(store) == ["first", "after"]


# The file underneath (SQLite only: a server's database is not a file replaced underneath) ----


def restore(backup: Path, live: Path, aside: Path) -> None:
    """docs/operations.md's restore: the live database and its -wal and -shm moved aside, the
    backup installed in its place (while this process keeps connections to the old file)."""
    aside.mkdir()
    for part in live.parent.glob(live.name + "*"):
        shutil.move(part, aside / part.name)
    shutil.copyfile(backup, live)


def test_a_database_restored_underneath_is_read_and_written_at_once(
    path: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    database.backup(path, backup)
    add_note(path, "after the backup")
    assert notes(path) == ["first", "after the backup"]
    assert database.idle_connections(path) >= 1

    restore(backup, path, tmp_path / "damaged")

    assert notes(path) == ["first"]  # the restored file, not the old one's cached pages
    add_note(path, "after the restore")
    assert raw_notes(path) == ["first", "after the restore"]
    # Nothing was written to the file moved aside.
    assert raw_notes(tmp_path / "damaged" / path.name) == ["first", "after the backup"]


def test_a_database_deleted_and_made_again_is_never_reached_through_an_old_connection(
    path: Path,
) -> None:
    add_note(path, "old file")
    for part in path.parent.glob(path.name + "*"):
        part.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    conn.execute("INSERT INTO notes (text) VALUES ('new file')")
    conn.commit()
    conn.close()

    assert notes(path) == ["new file"]
    add_note(path, "written")
    assert raw_notes(path) == ["new file", "written"]


# SQLite only: the write-ahead log is a file beside the database's.
def test_release_leaves_the_file_whole_for_a_plain_copy(path: Path, tmp_path: Path) -> None:
    add_note(path, "in the log")
    database.release(path)

    assert database.idle_connections(path) == 0
    assert not Path(f"{path}-wal").exists()
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)
    assert raw_notes(copy) == ["first", "in the log"]


# Threads, processes, bounds --------------------------------------------------------------------


def test_threads_never_share_a_connection_at_once(store: Store) -> None:
    in_use: set[int] = set()
    used: set[int] = set()
    lock = threading.Lock()
    problems: list[str] = []

    def work(number: int) -> None:
        try:
            for n in range(15):
                unit = writing if n % 3 == 0 else reading
                with unit(store) as db:
                    key = id(db.conn)  # type: ignore[attr-defined]
                    with lock:
                        if key in in_use:
                            problems.append(f"connection {key} used by two threads at once")
                        in_use.add(key)
                        used.add(key)
                    db.execute("SELECT count(*) FROM notes").fetchone()
                    if unit is writing:
                        db.execute("INSERT INTO notes (text) VALUES (?)", [f"{number}-{n}"])
                    time.sleep(0.002)
                    with lock:
                        in_use.discard(key)
        except Exception as error:  # reported below
            problems.append(repr(error))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert problems == []
    assert len(raw_notes(store)) == 1 + 6 * 5
    assert len(used) <= 6  # kept and reused, not one per unit of work
    assert database.idle_connections(store) <= database.MAX_IDLE_PER_DATABASE


def test_a_warm_postgresql_process_opens_no_new_connection_for_twenty_at_once(
    store: Store, connects: list[str]
) -> None:
    """Decision #83: a new PostgreSQL connection is a new server process (72 ms under the
    load benchmark, paid by the request waiting for it), so a process keeps as many idle as it
    has at work at once. Twenty units of work at once, twice: the second time, none is new
    (with eight kept, twelve were opened again every time)."""
    if not isinstance(store, PostgresURL):
        pytest.skip("SQLite opens a file, not a server process")
    together = threading.Barrier(20)

    def work() -> None:
        with reading(store) as db:
            together.wait(timeout=60)  # twenty connections at work at the same moment
            db.execute("SELECT count(*) FROM notes").fetchone()

    for _ in range(2):
        opened = len(connects)
        threads = [threading.Thread(target=work) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert len(connects) - opened == 0
    assert database.idle_connections(store) == 20


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_never_uses_its_parents_connections(store: Store) -> None:
    path = store
    with reading(path) as db:
        parents = id(db.conn)  # type: ignore[attr-defined]
    assert database.idle_connections(path) == 1
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's clean-up
        code = 1
        with contextlib.suppress(BaseException):
            add_note(path, "from the child")
            with reading(path) as db:
                fresh = id(db.conn) != parents  # type: ignore[attr-defined]
            kept = database.idle_connections(path)
            os.write(write, f"{fresh} {kept}".encode())
            code = 0
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as answer:
        said = answer.read()
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0, said
    assert said == "True 1"
    # The parent's kept connection still works and sees the child's write.
    assert notes(path) == ["first", "from the child"]
    with reading(path) as db:
        assert id(db.conn) == parents  # type: ignore[attr-defined]


def test_a_forked_child_sets_the_parents_connections_aside(store: Store) -> None:
    with reading(store) as db:
        parents: Any = db.conn  # type: ignore[attr-defined]
    pool: Any = postgres._POOL if isinstance(store, PostgresURL) else database._POOL
    pool.pid = -1  # as the child of a fork sees it: the pool was made by another process
    try:
        with reading(store) as db:
            assert db.conn is not parents  # type: ignore[attr-defined]
        if isinstance(store, Path):
            assert parents in [kept.db.conn for kept in pool.inherited]
        assert database.idle_connections(store) == 1  # the child's own, not the parent's
        parents.execute("SELECT 1")  # set aside, not closed
    finally:
        if isinstance(store, Path):
            pool.inherited.clear()
        parents.close()


def _databases(store: Store, tmp_path: Path, count: int) -> list[Store]:
    """`count` databases to keep connections to: new files, or on PostgreSQL one database
    under as many URLs (the pool keeps connections by URL; a URL is a database to it)."""
    if isinstance(store, PostgresURL):
        return [
            PostgresURL(f"{store.url}?fallback_application_name=pool-{n}") for n in range(count)
        ]
    return [tmp_path / f"db-{n}.db" for n in range(count)]


def test_the_pool_is_bounded(store: Store, tmp_path: Path) -> None:
    bound = postgres.MAX_IDLE if isinstance(store, PostgresURL) else database.MAX_IDLE
    database.release()
    paths = _databases(store, tmp_path, bound + 4)
    for each in paths:
        with reading(each) as db:
            db.execute("SELECT 1").fetchone()

    assert database.idle_connections(None) == bound
    assert database.idle_connections(paths[0]) == 0  # the least recently used went first
    assert database.idle_connections(paths[-1]) == 1
    database.release()
    assert database.idle_connections(None) == 0
    assert database.idle_connections(paths[-1]) == 0


def _busy_timeout(db: Any) -> int:
    if database.is_postgres(db):
        (seconds,) = db.execute(
            "SELECT extract(epoch FROM current_setting('lock_timeout')::interval)"
        ).fetchone()
        return round(float(seconds) * 1000)
    return int(db.execute("PRAGMA busy_timeout").fetchone()[0])


def test_a_changed_busy_timeout_reaches_a_kept_connection(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with reading(store) as db:
        assert _busy_timeout(db) == database.BUSY_TIMEOUT_MS
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    with reading(store) as db:
        assert _busy_timeout(db) == 200
    assert database.idle_connections(store) == 1  # the one kept, not a new one


# Sign-off does each piece of work once -----------------------------------------------------------


def test_a_sign_off_checks_the_review_the_worker_was_shown_no_more(
    ctx: Context, team: Team, evaluations: list[Any]
) -> None:
    """The report the worker saw (the same content, the same thresholds) is the one sealed:
    the checks ran for the page and do not run again inside the sign-off's transaction."""
    review_id = prepare_ready(ctx, team.worker, "CR-2025-0931")
    evaluations.clear()
    shown = reviews.get_review(ctx, team.worker, review_id)
    assert len(evaluations) == 1

    decision_id = reviews.sign_off(
        ctx, team.worker, review_id, seen_hash=shown.content_hash, attested=True
    )

    assert len(evaluations) == 1
    sealed = decisions.get_decision(ctx, team.manager, decision_id)
    assert sealed.report == shown.report


def test_a_sign_off_serialises_its_seal_once(
    ctx: Context, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sealed text is made once: the text stored is the text hashed."""
    from closure_readiness.core.seal import SealedDecisionDoc, seal_hash

    review_id = prepare_ready(ctx, team.worker, "CR-2025-0932")
    made: list[str] = []
    real = SealedDecisionDoc.text

    def text(self: SealedDecisionDoc) -> str:
        made.append(real(self))
        return made[-1]

    monkeypatch.setattr(SealedDecisionDoc, "text", text)
    shown = reviews.get_review(ctx, team.worker, review_id)
    decision_id = reviews.sign_off(
        ctx, team.worker, review_id, seen_hash=shown.content_hash, attested=True
    )

    assert len(made) == 1
    with reading(ctx.db_path) as db:
        stored, digest = db.execute(
            "SELECT sealed, content_hash FROM decisions WHERE id = ?", [decision_id]
        ).fetchone()
    assert stored == made[0]
    assert digest == seal_hash(made[0])


def _unsafe_one_by_one(value: str, *, multiline: bool) -> tuple[str, str] | None:
    """The text rule as it was written, a character at a time: the reference."""
    from closure_readiness.core import text

    for char in value:
        code = f"{ord(char):04X}"
        if char in text._BIDI_CONTROLS:
            return text._BIDI_MESSAGE, code
        if 0xD800 <= ord(char) <= 0xDFFF:
            return text._SURROGATE_MESSAGE, code
        if unicodedata.category(char) == "Cc" and not (
            multiline and char in text._ALLOWED_CONTROLS
        ):
            return text._CONTROL_MESSAGE, code
    return None


@pytest.mark.parametrize("multiline", [True, False])
def test_the_fast_text_rule_refuses_exactly_what_the_rule_refuses(multiline: bool) -> None:
    """Validating stored content (a sign-off parses it) scans text in one pass: every code
    point, alone and inside safe text, is judged as the rule written a character at a time
    judges it, with the same message and code."""
    from closure_readiness.core.text import _first_unsafe

    def judged_alike(value: str) -> bool:
        return _first_unsafe(value, multiline=multiline) == _unsafe_one_by_one(
            value, multiline=multiline
        )

    differ = [point for point in range(0x110000) if not judged_alike(chr(point))]
    assert differ == []
    refused = [p for p in range(0x110000) if _unsafe_one_by_one(chr(p), multiline=multiline)]
    assert 70 <= len(refused) <= 2200  # the controls, direction marks and surrogates
    for point in [*refused, *range(0, 0x110000, 997)]:
        char = chr(point)
        for value in (f"Safe words{char} then more", f"{char}\u202e after", f"\x01 {char}"):
            assert judged_alike(value), f"U+{point:04X} in {value!r}"


def test_a_relative_path_names_one_database_per_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pools and caches key a path by where it leads, worked out once per path: the same
    relative path from another working folder is another database, and a link is followed."""
    from closure_readiness.core.location import resolved

    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "one")
    monkeypatch.chdir(tmp_path / "one")
    first = resolved(Path("data.db"))
    monkeypatch.chdir(tmp_path / "two")
    second = resolved(Path("data.db"))

    assert first == str((tmp_path / "one" / "data.db").resolve())
    assert second == str((tmp_path / "two" / "data.db").resolve())
    assert resolved(tmp_path / "link" / "data.db") == first
