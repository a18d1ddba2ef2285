"""Connections and transactions: one short-lived connection per unit of work.

Every write runs in `BEGIN IMMEDIATE` so concurrent writers queue on the busy timeout instead
of failing with "database is locked" when a deferred transaction tries to upgrade its lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

BUSY_TIMEOUT_MS = 30_000

_migrated: set[str] = set()


class ConstraintRefused(Exception):
    """The database refused a change: a constraint or a workflow trigger said no."""


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


def backup(path: Path, out: Path) -> None:
    """An online, consistent copy while writers run (SQLite's backup API).

    Refuses (FileExistsError) to write over an existing file: it may be an earlier backup."""
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose a new file for the backup.")
    ensure_migrated(path)
    source = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    target = sqlite3.connect(str(out))
    try:
        source.backup(target, pages=1024)
    finally:
        target.close()
        source.close()
