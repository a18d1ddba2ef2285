"""PostgreSQL, the second storage engine (issue 12, item 10; decision #72).

The repositories' SQL is written once, for both engines. This module gives PostgreSQL the
same small surface sqlite-utils gives SQLite (`execute` returning a cursor, `query` yielding
dicts), translating on the way in what differs only in spelling:

- placeholders: `?` and `:name` become `%s` and `%(name)s` (outside quoted text);
- `CROSS JOIN t ON ...` (SQLite's way of fixing the join order) becomes `JOIN t ON ...`;
- Python booleans are written as 0 and 1, as SQLite stores them.

What differs in meaning is written per engine where it is used: the schema and its triggers
(`schema_postgres`), full-text search (`queries`), and the checks `verify` makes.

Transactions keep SQLite's model, so the service layer cannot tell the engines apart:

- a write takes one transaction-scoped advisory lock first (`WRITE_LOCK`), as SQLite's
  `BEGIN IMMEDIATE` takes the write lock: writers queue, and the audit chain is extended
  by one writer at a time, on every machine sharing the database;
- a read is a REPEATABLE READ, READ ONLY transaction: one snapshot, never blocked by a writer;
- waiting longer than the busy timeout for a lock fails with a lock timeout, which the
  views turn into "busy, try again" (`database_fault`). The timeout is the one setting both
  engines share, `database.BUSY_TIMEOUT_MS`, read at each borrowing: a changed value
  reaches the connections already kept, as it does on SQLite.

Statements ride together (psycopg's pipeline mode; decision #80). Inside a transaction each
statement is sent at once and the client waits only for a result it reads: a write's inserts
and updates go on with the next query that returns rows, or with the `COMMIT`, and a
transaction's `BEGIN` goes with its first query. Under load every wait for the server gives up
the GIL and waits to get it back, and a write holds the write lock through all of them. So an
error a statement meets (a constraint, a trigger's refusal, the lock timeout) is raised where
the transaction next waits, and ends the whole transaction as before; a `rowcount` is read
once the statements before it are done (`_Sent`).

Connections are kept per URL per process, as for SQLite (`_Pool`): at most
`MAX_IDLE_PER_DATABASE` per database and `MAX_IDLE` in all (the least recently used go
first: each is a server process and one of its `max_connections`), and never used across a
fork. More are kept than SQLite keeps (decision #83): a new connection is a new server process,
which took 72 ms (p95 159 ms) under the load benchmark's 50 sessions, and the request that
waited for it paid all of it.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import errors
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.numeric import FloatLoader

from closure_readiness.core.location import PostgresURL
from closure_readiness.storage.database import BUSY_TIMEOUT_MS as BUSY_TIMEOUT_MS

WRITE_LOCK = 0x436C6F7375726552
"""The advisory lock every write transaction takes first ("ClosureR" in ASCII)."""
_TAKE_WRITE_LOCK = f"SELECT pg_advisory_xact_lock({WRITE_LOCK})"
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
MIGRATE_LOCK = WRITE_LOCK + 1
MAX_IDLE_PER_DATABASE = 32
"""Idle connections kept per database: as many as a busy process has at work at once (50
sessions had up to 46 in the warm-up and never needed a new one after it)."""
MAX_IDLE = 64
"""Idle connections kept in a process over every database (the least recently used go first)."""

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|\?|:(\w+)|%|\bCROSS JOIN\b")


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """SQLite's spelling of a statement in PostgreSQL's (see the module's docstring)."""

    def swap(match: re.Match[str]) -> str:
        found = match.group(0)
        if found.startswith(("'", '"')):
            return found.replace("%", "%%")  # psycopg reads % in quoted text too
        if found == "::":
            return found
        if match.group(1) is not None:
            return f"%({match.group(1)})s"
        return {"?": "%s", "%": "%%", "CROSS JOIN": "JOIN"}[found]

    return _TOKEN.sub(swap, sql)


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _parameters(parameters: Sequence[Any] | Mapping[str, Any] | None) -> Any:
    if parameters is None:
        return ()
    if isinstance(parameters, Mapping):
        return {name: _plain(value) for name, value in parameters.items()}
    return [_plain(value) for value in parameters]


class _Sent:
    """A statement sent in a pipeline: rows are read as from psycopg's cursor (which waits
    for them), and its `rowcount` once the server has answered it (the cursor's own is not
    set until then)."""

    def __init__(self, cursor: psycopg.Cursor[Any], pipeline: psycopg.Pipeline) -> None:
        self._cursor = cursor
        self._pipeline = pipeline

    @property
    def rowcount(self) -> int:
        self._pipeline.sync()
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class PgDatabase:
    """A PostgreSQL connection with the calls the storage layer makes on sqlite-utils'
    `Database`."""

    def __init__(
        self, conn: psycopg.Connection[Any], url: PostgresURL, lock_timeout_ms: int = -1
    ) -> None:
        self.conn = conn
        self.url = url
        self.lock_timeout_ms = lock_timeout_ms
        """The lock timeout the session has (-1: not known, set at the next borrowing)."""
        self.pipeline: psycopg.Pipeline | None = None
        """The pipeline of the transaction under way (`writing`, `reading`), if any."""

    def execute(
        self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> psycopg.Cursor[Any] | _Sent:
        cursor = self.conn.cursor()
        cursor.execute(translate(sql), _parameters(parameters))
        return cursor if self.pipeline is None else _Sent(cursor, self.pipeline)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any] | Mapping[str, Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(translate(sql), [_parameters(row) for row in rows])

    def query(
        self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(translate(sql), _parameters(parameters))
            yield from cursor

    def table_names(self) -> list[str]:
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY table_name"
            )
        ]

    def rollback(self) -> None:
        if self.conn.info.transaction_status != TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.conn.close()


def busy_timeout_ms() -> int:
    """The busy timeout now: one setting for both engines, read at each use (a test changes
    it; `BUSY_TIMEOUT_MS` here is its default, for a connection made outside the pool)."""
    from closure_readiness.storage import database

    return database.BUSY_TIMEOUT_MS


def _connect(url: PostgresURL) -> PgDatabase:
    timeout = busy_timeout_ms()
    conn = psycopg.connect(
        url.url,
        autocommit=True,  # transactions are begun and ended here, as for SQLite
        application_name="closure-readiness",
        options=f"-c lock_timeout={timeout} -c TimeZone=UTC",
    )
    # Averages come back as numbers, not Decimals, as SQLite gives them.
    conn.adapters.register_loader("numeric", FloatLoader)
    return PgDatabase(conn, url, timeout)


class _Pool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: OrderedDict[str, list[PgDatabase]] = OrderedDict()
        self.pid = os.getpid()

    def _forked(self) -> None:
        # The parent's connections are the parent's: never used, and never closed here (a
        # close would end the parent's session with the server).
        self.lock = threading.Lock()
        self.idle = OrderedDict()
        self.pid = os.getpid()

    def take(self, url: PostgresURL) -> PgDatabase:
        found = None
        with self.lock:
            if self.pid != os.getpid():
                self._forked()
            idle = self.idle.get(url.url)
            if idle:
                found = idle.pop()
                if not idle:
                    del self.idle[url.url]
        if found is None:
            return _connect(url)
        timeout = busy_timeout_ms()
        if found.lock_timeout_ms != timeout:
            try:
                found.conn.execute("SELECT set_config('lock_timeout', %s, false)", (str(timeout),))
            except BaseException:
                with suppress(psycopg.Error):
                    found.close()
                raise
            found.lock_timeout_ms = timeout
        return found

    def give_back(self, db: PgDatabase, *, reusable: bool) -> None:
        if os.getpid() != self.pid or db.conn.closed:
            return
        if not reusable or db.in_transaction:
            with suppress(psycopg.Error):
                db.close()
            return
        evicted: list[PgDatabase] = []
        with self.lock:
            idle = self.idle.setdefault(db.url.url, [])
            self.idle.move_to_end(db.url.url)
            if len(idle) < MAX_IDLE_PER_DATABASE:
                idle.append(db)
            else:
                evicted.append(db)
            while sum(len(kept) for kept in self.idle.values()) > MAX_IDLE:
                oldest_url, oldest = next(iter(self.idle.items()))
                evicted.append(oldest.pop(0))
                if not oldest:
                    del self.idle[oldest_url]
        for old in evicted:
            with suppress(psycopg.Error):
                old.close()

    def release(self, url: PostgresURL | None = None) -> None:
        with self.lock:
            if os.getpid() != self.pid:
                self._forked()
            if url is None:
                closing = [db for idle in self.idle.values() for db in idle]
                self.idle.clear()
            else:
                closing = self.idle.pop(url.url, [])
        for db in closing:
            with suppress(psycopg.Error):
                db.close()

    def idle_count(self, url: PostgresURL | None = None) -> int:
        with self.lock:
            if url is None:
                return sum(len(idle) for idle in self.idle.values())
            return len(self.idle.get(url.url, []))


_POOL = _Pool()
if hasattr(os, "register_at_fork"):
    # At once in the child, as for SQLite: a lock held by another thread at the fork would
    # otherwise be held for ever in the child.
    os.register_at_fork(after_in_child=lambda: _POOL._forked())
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def release(url: PostgresURL | None = None) -> None:
    _POOL.release(url)


def idle_connections(url: PostgresURL | None = None) -> int:
    return _POOL.idle_count(url)


@contextmanager
def _borrowed(url: PostgresURL) -> Iterator[PgDatabase]:
    db = _POOL.take(url)
    reusable = False
    try:
        yield db
        reusable = True
    except BaseException as error:
        # A refusal leaves the session sound; a server or network error may not have.
        reusable = not isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)
        raise
    finally:
        _POOL.give_back(db, reusable=reusable)


def _refusal(error: psycopg.Error) -> str:
    return (error.diag.message_primary if error.diag else None) or str(error)


def ensure_migrated(url: PostgresURL) -> None:
    """Create or upgrade the schema once per process and database (one migrator at a time
    over every process and machine: an advisory lock)."""
    if url.url in _migrated:
        return
    with _migrate_lock:
        if url.url in _migrated:
            return
        from closure_readiness.storage import schema_postgres

        db = _connect(url)
        try:
            db.conn.execute("BEGIN")
            try:
                db.conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
                schema_postgres.apply(db)
                db.conn.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise
        finally:
            db.close()
        _migrated.add(url.url)


def mark_migrated(url: PostgresURL) -> None:
    _migrated.add(url.url)


@contextmanager
def _pipelined(db: PgDatabase) -> Iterator[None]:
    """The statements inside sent in a pipeline (see the module's docstring); on leaving,
    everything sent has been answered, and any error among it raised."""
    with db.conn.pipeline() as pipeline:
        db.pipeline = pipeline
        try:
            yield
        except BaseException:
            # Brought to rest here: leaving an aborted pipeline logs the error raised again.
            with suppress(psycopg.Error):
                pipeline.sync()
            raise
        finally:
            db.pipeline = None


@contextmanager
def writing(url: PostgresURL) -> Iterator[PgDatabase]:
    """A write transaction holding the write lock: committed on success, rolled back on any
    error; a constraint or a trigger's refusal raises ConstraintRefused.

    The `BEGIN` and the lock go with the first query that returns rows, and the inserts and
    updates before the `COMMIT` with it: a write waits for the server only where it reads."""
    from closure_readiness.storage.database import ConstraintRefused

    ensure_migrated(url)
    with _borrowed(url) as db:
        try:
            with _pipelined(db):
                db.conn.execute("BEGIN")
                db.conn.execute(_TAKE_WRITE_LOCK)
                yield db
                db.conn.execute("COMMIT")
        except errors.IntegrityError as error:
            db.rollback()
            raise ConstraintRefused(_refusal(error)) from error
        except BaseException:
            db.rollback()
            raise


@contextmanager
def reading(url: PostgresURL, *, migrate: bool = True) -> Iterator[PgDatabase]:
    """A read-only transaction on one snapshot; never waits for a writer. Its `BEGIN` goes
    with its first query, its `ROLLBACK` alone."""
    if migrate:
        ensure_migrated(url)
    with _borrowed(url) as db:
        try:
            with _pipelined(db):
                db.conn.execute(_BEGIN_READ)
                try:
                    yield db
                finally:
                    # Ended whatever the state the pipeline reports: a ROLLBACK outside a
                    # transaction only warns.
                    db.conn.execute("ROLLBACK")
        finally:
            db.rollback()  # after an error, the pipeline's ROLLBACK was never run


BUSY_ERRORS = (
    errors.LockNotAvailable,
    errors.QueryCanceled,
    errors.SerializationFailure,
    errors.DeadlockDetected,
)


def database_fault(error: BaseException, *, where: str = "") -> str | None:
    """One line saying what a PostgreSQL error means for the person who met it, or None
    when `error` is not one (`storage.database.database_fault` asks here)."""
    from closure_readiness.storage.database import BUSY, DISK_FULL

    if not isinstance(error, psycopg.Error):
        return None
    if isinstance(error, BUSY_ERRORS):
        return BUSY
    if isinstance(error, errors.DiskFull):
        return DISK_FULL
    if isinstance(error, errors.InsufficientPrivilege | errors.ReadOnlySqlTransaction):
        return (
            f"{where}the database cannot be written with these credentials (no permission, or "
            "a read-only server): nothing was changed."
        )
    if isinstance(error, errors.UndefinedTable):
        return f"{where}not a Closure Readiness database (its tables are missing)."
    if isinstance(error, psycopg.OperationalError):
        return (
            f"{where}the database server could not be reached (it may be down, or the address "
            "or credentials in CLOSURE_DB are wrong): nothing was changed."
        )
    # The primary message only: PostgreSQL's detail may quote a row's values.
    detail = " ".join(_refusal(error).split())
    return f"{where}the database could not be used ({detail})."
