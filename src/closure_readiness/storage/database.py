"""Connections and transactions: one short-lived connection per unit of work.

Every write runs in `BEGIN IMMEDIATE` so concurrent writers queue on the busy timeout instead
of failing with "database is locked" when a deferred transaction tries to upgrade its lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlite_utils import Database

BUSY_TIMEOUT_MS = 30_000

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


def _open(path: Path) -> Database:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    # recursive_triggers on: INSERT OR REPLACE then fires DELETE triggers as well.
    return Database(conn, recursive_triggers=True, execute_plugins=False)


def ensure_migrated(path: Path) -> None:
    """Create or upgrade the schema once per process and path."""
    key = str(path.resolve())
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
def writing(path: Path) -> Iterator[Database]:
    """A write transaction (BEGIN IMMEDIATE): committed on success, rolled back on any error."""
    ensure_migrated(path)
    db = _open(path)
    try:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.conn.execute("COMMIT")
        except sqlite3.IntegrityError as error:
            db.rollback()
            raise ConstraintRefused(str(error)) from error
        except BaseException:
            db.rollback()
            raise
    finally:
        db.close()


@contextmanager
def reading(path: Path) -> Iterator[Database]:
    """A read transaction: every query inside sees one consistent snapshot."""
    ensure_migrated(path)
    db = _open(path)
    try:
        db.conn.execute("BEGIN")
        try:
            yield db
        finally:
            db.rollback()
    finally:
        db.close()


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
        return None
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
def read_only(path: Path) -> Iterator[Database]:
    """A read transaction on a connection opened read-only (verify, anchor, backup, lists).

    Never creates, migrates or locks the file for writing, so it works on a backup on
    read-only storage and never waits for a writer (WAL readers do not). Raises
    NoSuchDatabase for a missing path and NotAStore for an empty file."""
    conn = _open_read_only(path)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db = Database(conn, execute_plugins=False)
        conn.execute("BEGIN")
        try:
            yield db
        finally:
            conn.rollback()
    finally:
        conn.close()


def require_store(db: Database, path: Path, *, current: bool) -> None:
    """Refuse a file that is not this system's database, or (with `current`) one whose schema
    is older than this version, rather than migrating it from a command that only reads."""
    from closure_readiness.storage.schema import MIGRATIONS

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


def use_as_is(path: Path) -> None:
    """Check, reading only, that `path` is this system's database at this version, then let
    this process write to it without migrating it or switching its journal mode (an export
    appends its audit event; it never upgrades the schema)."""
    with read_only(path) as db:
        require_store(db, path, current=True)
    _migrated.add(str(path.resolve()))


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


def checkpoint(path: Path) -> None:
    """Copy the write-ahead log into the database file and empty it (after a disposal, so
    the disposed content's old pages leave the log as well as the file)."""
    db = _open(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        db.close()
