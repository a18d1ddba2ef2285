"""Changing a database as someone holding it would (raw SQL, safeguards dropped or turned off).

On SQLite that is the file: triggers dropped, the rows edited, the triggers put back. On
PostgreSQL it is the owner's (here a superuser's) own means: each trigger turned off with
`ALTER TABLE ... DISABLE TRIGGER` for the edit, and on again after, in one transaction. Either
way `verify` must see the change itself, not only a missing safeguard.

SQL is written as for SQLite (`?` placeholders); on PostgreSQL it goes through the storage's
own translation. Rows read back can be read by position or by column name, as sqlite3.Row.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from closure_readiness.core.location import PostgresURL, Store
from closure_readiness.storage.database import release
from closure_readiness.storage.integrity import _expected_schema


def tamper(path: Store, *statements: str) -> None:
    """Run the statements, then put back every trigger they dropped: `verify` must see the
    change itself, not only a missing safeguard. On PostgreSQL, `DROP TRIGGER name` turns that
    trigger off until the end instead. A trigger's refusal is raised (`refused_errors()`)."""
    if isinstance(path, PostgresURL):
        _pg_tamper(path, statements)
        return
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        held = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        for (kind, name), sql in _expected_schema(None).items():
            if kind == "trigger" and name not in held:
                conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def copy_store(store: Store, folder: Path, name: str = "copy.db") -> Store:
    """An independent copy of the database for one test to change: the file (and its
    write-ahead log) copied, or a new PostgreSQL database made from it as its template."""
    from workflow_fixtures import copy_postgres_database

    release(store)  # no idle connection may hold the source open while it is copied
    if isinstance(store, PostgresURL):
        return PostgresURL(copy_postgres_database(store.url))
    for path in store.parent.glob(store.name + "*"):
        shutil.copy(path, folder / path.name.replace(store.name, name, 1))
    return folder / name


@contextmanager
def tampering(store: Store, triggers: Iterable[str] | None = None) -> Iterator[Any]:
    """A raw connection with the named triggers (every trigger, if None) out of the way while
    the edit is made, then put back as they were; committed on leaving.

    SQLite: dropped and created again from the SQL the file held. PostgreSQL: turned off and
    on (every trigger: `DISABLE TRIGGER ALL`, which also lifts the foreign keys, as a raw
    SQLite connection never enforces them)."""
    if isinstance(store, PostgresURL):
        with _pg_tampering(store, triggers) as pg:
            yield pg
        return
    conn = sqlite3.connect(store)
    conn.row_factory = sqlite3.Row
    try:
        saved = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
        if triggers is not None:
            wanted = set(triggers)
            saved = [row for row in saved if row[0] in wanted]
        for name, _ in saved:
            conn.execute(f"DROP TRIGGER {name}")
        yield conn
        for _, sql in saved:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


@contextmanager
def raw(store: Store) -> Iterator[Any]:
    """A raw connection, nothing out of the way (to drop or change a safeguard itself);
    committed on leaving."""
    if isinstance(store, PostgresURL):
        conn = _PgRaw(store)
    else:
        conn = sqlite3.connect(store)  # type: ignore[assignment]
        conn.row_factory = sqlite3.Row  # type: ignore[attr-defined]
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def table_columns(store: Store, table: str) -> set[str]:
    """The names of a table's columns, as the database holds them."""
    with raw(store) as conn:
        if isinstance(store, PostgresURL):
            rows = conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?",
                [table],
            ).fetchall()
            return {row[0] for row in rows}
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def trigger_names(store: Store) -> list[str]:
    """Every trigger this system installed in the database (not PostgreSQL's own, which keep
    the foreign keys)."""
    with raw(store) as conn:
        if isinstance(store, PostgresURL):
            sql = (
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
            )
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        return [row[0] for row in conn.execute(sql).fetchall()]


def drop_trigger(conn: Any, store: Store, name: str) -> None:
    """Drop one trigger for good (PostgreSQL names its table; its function stays)."""
    if isinstance(store, PostgresURL):
        conn.execute(f"DROP TRIGGER {name} ON {_table_of(conn, name)}")
    else:
        conn.execute(f"DROP TRIGGER {name}")


# PostgreSQL ----------------------------------------------------------------------------------


class _Row(tuple[Any, ...]):
    """A row read by position or by column name, as sqlite3.Row."""

    names: tuple[str, ...] = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self.names.index(key))
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self.names)


def _rows(cursor: Any) -> Any:
    names = tuple(column.name for column in cursor.description or ())

    def make(values: Any) -> _Row:
        row = _Row(values)
        row.names = names
        return row

    return make


class _PgRaw:
    """A psycopg connection taking SQLite-spelt SQL, in one transaction (commit or close)."""

    def __init__(self, store: PostgresURL) -> None:
        import psycopg

        self.conn = psycopg.connect(store.url, row_factory=_rows)

    def execute(self, sql: str, params: Any = ()) -> Any:
        from closure_readiness.storage.postgres import translate

        return self.conn.execute(translate(sql), params)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()  # anything not committed is rolled back


def _table_of(conn: Any, trigger: str) -> str:
    row = conn.execute(
        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgname = ? AND NOT t.tgisinternal "
        "AND c.relnamespace = current_schema()::regnamespace",
        [trigger],
    ).fetchone()
    assert row is not None, f"no trigger {trigger}"
    return str(row[0])


@contextmanager
def _pg_tampering(store: PostgresURL, triggers: Iterable[str] | None) -> Iterator[_PgRaw]:
    conn = _PgRaw(store)
    try:
        if triggers is None:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                ).fetchall()
            ]
            off = [(table, "ALL") for table in tables]
        else:
            names = set(triggers) & set(_pg_trigger_names(conn))  # SQLite has a few more
            off = [(_table_of(conn, name), name) for name in sorted(names)]
        for table, which in off:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {which}")
        yield conn
        for table, which in off:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {which}")
        conn.commit()
    finally:
        conn.close()


def _pg_trigger_names(conn: _PgRaw) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
        ).fetchall()
    ]


def _pg_tamper(store: PostgresURL, statements: Iterable[str]) -> None:
    conn = _PgRaw(store)
    try:
        off: list[tuple[str, str]] = []
        for statement in statements:
            words = statement.split()
            if words[:2] == ["DROP", "TRIGGER"]:
                name = words[2]
                off.append((_table_of(conn, name), name))
                conn.execute(f"ALTER TABLE {off[-1][0]} DISABLE TRIGGER {name}")
            else:
                conn.execute(statement)
        for table, name in off:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
        conn.commit()
    finally:
        conn.close()
