"""Connections and transactions: a unit of work borrows a connection kept for its database.

Every write runs in `BEGIN IMMEDIATE` so concurrent writers queue on the busy timeout instead
of failing with "database is locked" when a deferred transaction tries to upgrade its lock.
Writers queue promptly (`_writer_turn`): the threads of one process on a lock of their own,
woken as soon as the writer before them finishes, so only one of them at a time asks SQLite;
that one asks again every millisecond while another process holds the lock, where SQLite's own
wait sleeps up to 100 ms between tries (and a writer that keeps losing can wait for many).

Opening a connection costs more than most units of work (setting the pragmas, then SQLite
reading the schema again on the first statement), so each process keeps the connections it has
opened, idle, per database file (`_Pool`). A connection is used by one thread at a time (a
Streamlit session borrows it for one unit of work and gives it back), goes back only with no
transaction open and no SQLite error met, and is taken again only while the path still names
the same file (device and inode): a database replaced, moved aside or restored underneath is
opened afresh, never read or written through an old connection. After a fork the child never
touches its parent's connections.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlite_utils import Database
from sqlite_utils.utils import dedupe_keys

from closure_readiness.core.location import PostgresURL, Store, resolved

BUSY_TIMEOUT_MS = 30_000
MAX_IDLE = 16
"""Idle connections kept in a process over every database (the least recently used go first)."""
MAX_IDLE_PER_DATABASE = 8
"""Idle connections kept per database: as many as there are sessions at work at one moment."""

_migrated: set[str] = set()


class ConstraintRefused(Exception):
    """The database refused a change: a constraint or a workflow trigger said no."""


class DatabaseProblem(Exception):
    """A database file that cannot be used as it is: the message is one line for the operator."""


class NoSuchDatabase(DatabaseProblem):
    """No file at the path: a command that only reads never creates one."""


class NotAStore(DatabaseProblem):
    """An empty file, or a database without this system's tables."""


class SchemaOutOfDate(DatabaseProblem):
    """The schema is older than this version: `closure-readiness migrate` first."""


_migrate_lock = threading.Lock()


class Db(Protocol):
    """What the repositories call on a connection: sqlite-utils' `Database` on SQLite,
    `postgres.PgDatabase` on PostgreSQL (which takes the same SQL: see its docstring)."""

    def execute(self, sql: str, parameters: Any = None, /) -> Any: ...

    def query(self, sql: str, params: Any = None, /) -> Iterator[dict[str, Any]]: ...


def execute_many(db: Db, sql: str, rows: list[Any]) -> None:
    """One statement over many rows, on either engine."""
    many = getattr(db, "executemany", None)
    if many is not None:
        many(sql, rows)
    else:
        db.conn.executemany(sql, rows)  # type: ignore[attr-defined]


def is_postgres(db: Db) -> bool:
    """Whether this connection is PostgreSQL's (for the few statements written per engine)."""
    return not isinstance(db, Database)


class _Database(Database):
    """sqlite-utils' Database, its `query` running a SELECT as it is.

    sqlite-utils 4 runs each `query` inside a savepoint, to undo a statement that turns out to
    return no rows: three statements where one does, and each gives up the GIL and, on a busy
    server, waits for it again (a decision view ran 41 statements for 14 queries; decision
    #77). Every query here is a SELECT inside a transaction of ours (writes go through
    `execute`, which `writing` rolls back on any error), so the guard buys nothing. PRAGMAs
    still go through sqlite-utils' own handling."""

    def query(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> Generator[dict[str, Any], None, None]:
        if sql.lstrip()[:6].upper() == "PRAGMA":
            return super().query(sql, params)
        cursor = self.conn.execute(sql, params if params is not None else ())
        if cursor.description is None:
            raise ValueError("query() is for SQL that returns rows: use execute()")
        keys = dedupe_keys(column[0] for column in cursor.description)
        return (dict(zip(keys, row, strict=True)) for row in cursor)


def _open(path: Path) -> Database:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    # recursive_triggers on: INSERT OR REPLACE then fires DELETE triggers as well.
    return _Database(conn, recursive_triggers=True, execute_plugins=False)


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file the path names now (device, inode), None if none. A file held open by a
    pooled connection keeps its inode, so a new file at the path never has the same one."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


@dataclass
class _Kept:
    db: Database
    identity: tuple[int, int] | None
    busy_timeout_ms: int


class _Pool:
    """The idle connections of this process, per resolved database path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: OrderedDict[str, list[_Kept]] = OrderedDict()
        self.pid = os.getpid()
        self.inherited: list[_Kept] = []
        """A parent's connections after a fork: never used, and never closed here either
        (closing could checkpoint or delete the parent's write-ahead log)."""

    def _forked(self) -> None:
        """In a child process: set the parent's connections aside, untouched."""
        self.lock = threading.Lock()
        for kept in self.idle.values():
            self.inherited.extend(kept)
        self.idle = OrderedDict()
        self.pid = os.getpid()

    def take(self, path: Path, busy_timeout_ms: int) -> tuple[str, _Kept]:
        """An idle connection to the file `path` names now, or a new one, waiting
        `busy_timeout_ms` for a lock: one already set so if there is one (writers ask for
        none, readers for BUSY_TIMEOUT_MS, so the writers' connection stays theirs)."""
        key = resolved(path)
        identity = _identity(path)
        stale: list[_Kept] = []
        with self.lock:
            if self.pid != os.getpid():
                self._forked()
            fresh = []
            for candidate in self.idle.pop(key, []):
                if candidate.identity == identity and identity is not None:
                    fresh.append(candidate)
                else:
                    stale.append(candidate)
            # The most recently kept of those already waiting as asked, else of any.
            fresh.sort(key=lambda kept: kept.busy_timeout_ms == busy_timeout_ms)
            found = fresh.pop() if fresh else None
            if fresh:
                self.idle[key] = fresh
        for old in stale:
            _close(old.db)
        if found is None:
            found = _Kept(_open(path), _identity(path), BUSY_TIMEOUT_MS)
        if found.busy_timeout_ms != busy_timeout_ms:
            found.db.conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            found.busy_timeout_ms = busy_timeout_ms
        return key, found

    def give_back(self, key: str, kept: _Kept, *, reusable: bool) -> None:
        if os.getpid() != self.pid:
            self.inherited.append(kept)  # taken before a fork: the parent's
            return
        if not reusable or kept.db.conn.in_transaction or kept.identity is None:
            _close(kept.db)
            return
        evicted: list[_Kept] = []
        with self.lock:
            if os.getpid() != self.pid:
                self._forked()
            idle = self.idle.setdefault(key, [])
            self.idle.move_to_end(key)
            if len(idle) < MAX_IDLE_PER_DATABASE:
                idle.append(kept)
            else:
                evicted.append(kept)
            while sum(len(v) for v in self.idle.values()) > MAX_IDLE:
                oldest_key, oldest = next(iter(self.idle.items()))
                evicted.append(oldest.pop(0))
                if not oldest:
                    del self.idle[oldest_key]
        for old in evicted:
            _close(old.db)

    def release(self, path: Path | None = None) -> None:
        """Close the idle connections (of `path`, or all)."""
        with self.lock:
            if os.getpid() != self.pid:
                self._forked()
            if path is None:
                closing = [kept for idle in self.idle.values() for kept in idle]
                self.idle.clear()
            else:
                closing = self.idle.pop(resolved(path), [])
        for kept in closing:
            _close(kept.db)

    def idle_count(self, path: Path | None = None) -> int:
        with self.lock:
            if path is None:
                return sum(len(idle) for idle in self.idle.values())
            return len(self.idle.get(resolved(path), []))


def _close(db: Database) -> None:
    with suppress(sqlite3.Error):
        db.close()


_POOL = _Pool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _POOL._forked())


def release(path: Store | None = None) -> None:
    """Close this process's idle connections to `path` (all databases if None).

    Closing the last connection to a database copies its write-ahead log into the file and
    removes the log, so afterwards the file alone is the whole database (for a plain file
    copy). Connections in use are left alone; they are closed or kept as they finish."""
    if isinstance(path, PostgresURL) or path is None:
        postgres = _postgres_if_loaded()
        if postgres is not None:
            postgres.release(path if isinstance(path, PostgresURL) else None)
    if not isinstance(path, PostgresURL):
        _POOL.release(path)


def _postgres_if_loaded() -> Any:
    """The PostgreSQL engine's module if this process has used it (importing it loads
    psycopg, which an SQLite deployment never needs)."""
    import sys

    return sys.modules.get("closure_readiness.storage.postgres")


def _postgres() -> Any:
    try:
        from closure_readiness.storage import postgres
    except ImportError as error:  # psycopg is an extra: pip install 'closure-readiness[postgres]'
        raise DatabaseProblem(
            "CLOSURE_DB names a PostgreSQL database, but its driver is not installed: "
            "install closure-readiness[postgres] (psycopg)."
        ) from error
    return postgres


def idle_connections(path: Store | None = None) -> int:
    """How many idle connections this process keeps (to `path`, or in all, on both engines)."""
    if isinstance(path, PostgresURL):
        return int(_postgres().idle_connections(path))
    kept = _POOL.idle_count(path)
    postgres = _postgres_if_loaded()
    if path is None and postgres is not None:
        kept += int(postgres.idle_connections(None))
    return kept


@contextmanager
def _borrowed(path: Path, *, busy_timeout_ms: int | None = None) -> Iterator[Database]:
    """A connection to `path` for one unit of work by one thread, given back afterwards:
    kept only if no transaction is left open and no SQLite error was met on it. It waits
    `busy_timeout_ms` for a lock (BUSY_TIMEOUT_MS if None)."""
    wait = BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms
    key, kept = _POOL.take(path, wait)
    reusable = False
    try:
        yield kept.db
        reusable = True
    except BaseException as error:
        # A refusal or a bug above SQLite leaves the connection sound; an SQLite error (a full
        # or failing disk, a damaged file) may not have.
        reusable = not isinstance(error, sqlite3.Error)
        raise
    finally:
        _POOL.give_back(key, kept, reusable=reusable)


def ensure_migrated(path: Store) -> None:
    """Create or upgrade the schema once per process and path."""
    if isinstance(path, PostgresURL):
        _postgres().ensure_migrated(path)
        return
    key = resolved(path)
    if key in _migrated:
        return
    with _migrate_lock:
        if key in _migrated:
            return
        from closure_readiness.storage.schema import MIGRATIONS

        path.parent.mkdir(parents=True, exist_ok=True)
        db = _open(path)
        try:
            db.conn.execute("PRAGMA journal_mode = WAL")
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                MIGRATIONS.apply(db)
                db.conn.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise
        finally:
            db.close()
        _migrated.add(key)


@contextmanager
def writing(path: Store) -> Iterator[Db]:
    """A write transaction (BEGIN IMMEDIATE): committed on success, rolled back on any error."""
    if isinstance(path, PostgresURL):
        with _postgres().writing(path) as pg:
            yield pg
        return
    ensure_migrated(path)
    with _writer_turn(path) as deadline, _borrowed(path, busy_timeout_ms=0) as db:
        _begin_immediate(db, deadline)
        try:
            yield db
            db.conn.execute("COMMIT")
        except sqlite3.IntegrityError as error:
            db.rollback()
            raise ConstraintRefused(str(error)) from error
        except BaseException:
            db.rollback()
            raise


class _Turns:
    """This process's writers' turns, one lock per database."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.turns: dict[str, threading.Lock] = {}
        self.pid = os.getpid()

    def of(self, path: Path) -> threading.Lock:
        key = resolved(path)
        with self.lock:
            if self.pid != os.getpid():  # after a fork a parent's thread may hold a turn
                self.turns, self.pid = {}, os.getpid()
            return self.turns.setdefault(key, threading.Lock())


_TURNS = _Turns()
POLL_SECONDS = 0.001
"""How often a writer asks for SQLite's write lock again while another process holds it."""


@contextmanager
def _writer_turn(path: Path) -> Iterator[float]:
    """This thread's turn to write to `path` among the process's threads, and the moment
    (time.monotonic) by which it must have SQLite's lock: the busy timeout counts from the
    start of the wait, however it is spent. A turn not had in time is SQLite's own "database
    is locked", which the app shows as its "busy, try again" line."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    turn = _TURNS.of(path)
    if not turn.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise sqlite3.OperationalError("database is locked (by this process's other writers)")
    try:
        yield deadline
    finally:
        turn.release()


def _begin_immediate(db: Database, deadline: float) -> None:
    """BEGIN IMMEDIATE on a connection that does not wait for locks itself, asking again
    every POLL_SECONDS until `deadline` while another process holds the write lock. A refused
    BEGIN leaves no transaction open. Inside the transaction nothing waits for a lock (in WAL
    mode the writer holds the only one a commit needs)."""
    while True:
        try:
            db.conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if database_fault(error) != BUSY or time.monotonic() >= deadline:
                raise
        time.sleep(POLL_SECONDS)


@contextmanager
def reading(path: Store) -> Iterator[Db]:
    """A read transaction: every query inside sees one consistent snapshot."""
    if isinstance(path, PostgresURL):
        with _postgres().reading(path) as pg:
            yield pg
        return
    ensure_migrated(path)
    with _borrowed(path) as db:
        db.conn.execute("BEGIN")
        try:
            yield db
        finally:
            db.rollback()


BUSY = "The database is busy (another program is writing to it): nothing was changed; try again."
DISK_FULL = "The disk is full: nothing was saved. Free some space and try again."
DISK_FAILED = (
    "The disk could not be written (it may be full or failing): nothing was saved. Free some "
    "space, or have the disk checked, and try again."
)


def database_fault(error: BaseException, *, where: str = "") -> str | None:
    """One line saying what an SQLite error means for the person who met it (`where` names the
    file, "PATH: "), or None when `error` is not one."""
    if not isinstance(error, sqlite3.Error):
        postgres = _postgres_if_loaded()
        return None if postgres is None else postgres.database_fault(error, where=where)
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return BUSY
    if "disk is full" in text or "no space" in text:
        return DISK_FULL
    if "disk i/o error" in text:
        return DISK_FAILED
    if "readonly" in text or "read-only" in text:
        return (
            f"{where}the database cannot be written here (read-only storage or no permission): "
            "nothing was changed."
        )
    if "unable to open" in text:
        return (
            f"{where}the database could not be opened (a missing folder, read-only storage or no "
            "permission): nothing was changed."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"{where}the file is not a Closure Readiness database, or it is damaged: nothing was "
            "changed. `closure-readiness verify` says more."
        )
    detail = " ".join(str(error).split())
    return f"{where}the database could not be used ({detail})."


def _read_only_uri(path: Path, *, immutable: bool) -> str:
    return path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")


def _storage_writable(path: Path) -> bool:
    try:
        read_only_mount = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return True
    return not read_only_mount and os.access(path.parent, os.W_OK)


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write: no migration, no journal mode switch, no write lock.

    A database in WAL mode needs its shared-memory file (-shm) beside it, which cannot be
    created on read-only storage (a backup on a write-once volume): there, and only there, the
    file is opened as immutable, since nobody can be writing to it."""
    if not path.exists():
        raise NoSuchDatabase(f"{path}: no such database.")
    if path.is_dir():
        raise NoSuchDatabase(f"{path}: this is a folder, not a database.")
    if path.stat().st_size == 0:
        raise NotAStore(f"{path}: the file is empty; it is not a Closure Readiness database.")
    conn = sqlite3.connect(
        _read_only_uri(path, immutable=False), uri=True, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError:
        if _storage_writable(path):
            conn.close()
            raise
        conn.close()
        conn = sqlite3.connect(_read_only_uri(path, immutable=True), uri=True)
    except sqlite3.DatabaseError:
        pass  # not a database: the caller's first query says so (verify reports it)
    return conn


@contextmanager
def read_only(path: Store) -> Iterator[Db]:
    """A read transaction on a connection opened read-only (verify, anchor, backup, lists).

    Never creates, migrates or locks the file for writing, so it works on a backup on
    read-only storage and never waits for a writer (WAL readers do not). Raises
    NoSuchDatabase for a missing path and NotAStore for an empty file."""
    if isinstance(path, PostgresURL):
        with _postgres().reading(path, migrate=False) as pg:
            yield pg
        return
    conn = _open_read_only(path)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db = _Database(conn, execute_plugins=False)
        conn.execute("BEGIN")
        try:
            yield db
        finally:
            conn.rollback()
    finally:
        conn.close()


def require_store(db: Db, path: Store, *, current: bool) -> None:
    """Refuse a file that is not this system's database, or (with `current`) one whose schema
    is older than this version, rather than migrating it from a command that only reads."""
    from closure_readiness.storage.schema import MIGRATIONS

    if is_postgres(db):
        from closure_readiness.storage import schema_postgres

        if not {"audit_events", "decisions", "staff"} <= set(db.table_names()):  # type: ignore[attr-defined]
            raise NotAStore(f"{path}: not a Closure Readiness database.")
        if current and schema_postgres.pending(db):  # type: ignore[arg-type]
            raise SchemaOutOfDate(
                f"{path}: the database was made by an earlier version; run `closure-readiness "
                "migrate` first."
            )
        return
    assert isinstance(db, Database)
    assert isinstance(path, Path)
    try:
        tables = set(db.table_names())
    except sqlite3.DatabaseError:
        raise NotAStore(
            f"{path}: not a Closure Readiness database, or damaged (`verify` says more)."
        ) from None
    if not {"audit_events", "decisions", "staff"} <= tables:
        raise NotAStore(f"{path}: not a Closure Readiness database.")
    if current and MIGRATIONS.pending(db):
        raise SchemaOutOfDate(
            f"{path}: the database was made by an earlier version; run `closure-readiness "
            "migrate` first."
        )


def use_as_is(path: Store) -> None:
    """Check, reading only, that `path` is this system's database at this version, then let
    this process write to it without migrating it or switching its journal mode (an export
    appends its audit event; it never upgrades the schema)."""
    with read_only(path) as db:
        require_store(db, path, current=True)
    if isinstance(path, PostgresURL):
        _postgres().mark_migrated(path)
        return
    _migrated.add(resolved(path))


def backup(path: Path, out: Path) -> None:
    """An online, consistent copy while writers run (SQLite's backup API).

    Reads the source read-only (never creates, migrates or waits on it). Refuses
    (FileExistsError) to write over an existing file: it may be an earlier backup; and
    (FileNotFoundError) to write into a folder that does not exist. A copy that fails part way
    (a full disk) is removed."""
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose a new file for the backup.")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"{out.parent}: no such folder; nothing was written.")
    source = _open_read_only(path)
    try:
        target = sqlite3.connect(str(out))
        try:
            source.backup(target, pages=1024)
        except BaseException:
            target.close()
            with suppress(OSError):
                out.unlink()
            raise
        target.close()
    finally:
        source.close()


def checkpoint(path: Store) -> None:
    """Copy the write-ahead log into the database file and empty it (after a disposal, so
    the disposed content's old pages leave the log as well as the file). PostgreSQL: nothing
    (its server reclaims dead rows itself)."""
    if isinstance(path, PostgresURL):
        return
    with _borrowed(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
