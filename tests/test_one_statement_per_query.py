"""A query is one statement (decision #77; `storage.database._Database`).

sqlite-utils 4 runs each `query` inside a savepoint: three statements where one does, and on a
busy server each gives up the GIL and waits to get it back. Our connections run a query as it
is, with the same rows and column names, and still refuse a statement that returns no rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from closure_readiness.storage import database
from closure_readiness.storage.database import reading, writing


@pytest.fixture
def path(tmp_path: Path) -> Iterator[Path]:
    db_path = tmp_path / "statements.db"
    with writing(db_path) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
        db.execute("INSERT INTO notes (text) VALUES ('first'), ('second')")
    yield db_path
    database.release(db_path)


def test_a_query_runs_one_statement_and_gives_the_rows_by_column_name(path: Path) -> None:
    with reading(path) as db:
        ran: list[str] = []
        db.conn.set_trace_callback(ran.append)
        try:
            rows = list(
                db.query("SELECT n.id, m.id, n.text FROM notes n JOIN notes m ON m.id = n.id")
            )
        finally:
            db.conn.set_trace_callback(None)
    assert ran == ["SELECT n.id, m.id, n.text FROM notes n JOIN notes m ON m.id = n.id"]
    assert rows == [{"id": 1, "id_2": 1, "text": "first"}, {"id": 2, "id_2": 2, "text": "second"}]


def test_a_statement_without_rows_is_refused_and_undone_with_its_transaction(path: Path) -> None:
    with pytest.raises(ValueError, match="returns rows"), writing(path) as db:
        db.query("UPDATE notes SET text = 'changed'")
    with reading(path) as db:
        assert [row["text"] for row in db.query("SELECT text FROM notes ORDER BY id")] == [
            "first",
            "second",
        ]


def test_a_pragma_still_answers_through_query(path: Path) -> None:
    with reading(path) as db:
        assert next(db.query("PRAGMA journal_mode"))["journal_mode"] == "wal"
