"""PostgreSQL's statements ride together (decision #80): inside a transaction the client
waits for the server only where it reads a result, and an error is still an error of the
whole transaction. Round trips are counted in libpq's own trace of the protocol."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from bench.postgres_cluster import Cluster
from psycopg import pq

from closure_readiness.core.location import PostgresURL
from closure_readiness.storage import postgres
from closure_readiness.storage.database import ConstraintRefused, reading, writing


@pytest.fixture(scope="module")
def url(postgres_cluster: Cluster) -> Iterator[PostgresURL]:
    url = PostgresURL(postgres_cluster.create_database("pipeline"))
    postgres.ensure_migrated(url)
    with writing(url) as db:
        db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
    yield url
    postgres.release(url)


def _round_trips(url: PostgresURL, work: Callable[[], None], trace: Path) -> int:
    """How many times the client waited for the server during `work`: the times the
    protocol turns from the client's messages to the server's."""
    postgres.release(url)
    with reading(url):
        pass  # one connection kept, the one `work` borrows next
    db = postgres._POOL.take(url)
    postgres._POOL.give_back(db, reusable=True)
    with trace.open("w") as out:
        db.conn.pgconn.trace(out.fileno())
        db.conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            work()
        finally:
            db.conn.pgconn.untrace()
    senders = [line[0] for line in trace.read_text().splitlines() if line[:1] in ("F", "B")]
    return sum(1 for pair in pairwise(senders) if pair == ("F", "B"))


def test_a_write_waits_only_where_it_reads_and_at_its_commit(
    url: PostgresURL, tmp_path: Path
) -> None:
    counted: list[int] = []

    def write() -> None:
        with writing(url) as db:
            db.execute("DELETE FROM notes")
            db.execute("INSERT INTO notes VALUES (1, 'one')")
            db.execute("INSERT INTO notes VALUES (2, 'two')")
            counted.append(db.execute("SELECT count(*) FROM notes").fetchone()[0])
            db.execute("INSERT INTO notes VALUES (3, 'three')")

    # BEGIN, the lock, the delete and two inserts with the count; the last insert with COMMIT.
    # One at a time (BEGIN and the lock together), seven.
    assert _round_trips(url, write, tmp_path / "trace") == 2
    assert counted == [2]
    with reading(url) as db:
        assert [row["id"] for row in db.query("SELECT id FROM notes ORDER BY id")] == [1, 2, 3]


def test_a_read_sends_its_begin_with_its_first_query(url: PostgresURL, tmp_path: Path) -> None:
    seen: list[object] = []

    def read() -> None:
        with reading(url) as db:
            seen.extend(row["id"] for row in db.query("SELECT id FROM notes ORDER BY id"))
            seen.append(db.execute("SELECT count(*) FROM notes").fetchone()[0])

    # BEGIN with the first query, the second query, the ROLLBACK (four one at a time).
    assert _round_trips(url, read, tmp_path / "trace") == 3
    assert seen[-1] == len(seen) - 1


def test_a_row_count_is_the_servers_answer(url: PostgresURL) -> None:
    with writing(url) as db:
        db.execute("DELETE FROM notes")
        db.execute("INSERT INTO notes VALUES (7, 'seven')")
        assert db.execute("UPDATE notes SET body = 'seven!' WHERE id = 7").rowcount == 1
        assert db.execute("UPDATE notes SET body = 'eight' WHERE id = 8").rowcount == 0
    with reading(url) as db:
        assert [row["body"] for row in db.query("SELECT body FROM notes")] == ["seven!"]


def test_a_refused_statement_undoes_the_whole_write_wherever_it_is_raised(
    url: PostgresURL,
) -> None:
    with writing(url) as db:
        db.execute("DELETE FROM notes")
        db.execute("INSERT INTO notes VALUES (1, 'kept')")

    # The duplicate is refused by the server while the client goes on sending: the error is
    # raised where the write next waits (here its COMMIT), and nothing of it is stored.
    def refused() -> None:
        with writing(url) as db:
            db.execute("INSERT INTO notes VALUES (2, 'lost')")
            db.execute("INSERT INTO notes VALUES (1, 'duplicate')")
            db.execute("INSERT INTO notes VALUES (3, 'lost too')")

    with pytest.raises(ConstraintRefused, match="duplicate key"):
        refused()
    with reading(url) as db:
        assert [row["body"] for row in db.query("SELECT body FROM notes")] == ["kept"]
    # The connection went back to the pool sound: the next write on it works.
    with writing(url) as db:
        db.execute("INSERT INTO notes VALUES (2, 'after')")
    with reading(url) as db:
        assert [row["id"] for row in db.query("SELECT id FROM notes ORDER BY id")] == [1, 2]


def test_a_failed_read_leaves_no_transaction_open_and_is_logged_by_no_one_else(
    url: PostgresURL, caplog: pytest.LogCaptureFixture
) -> None:
    postgres.release(url)
    with pytest.raises(Exception, match="no_such_table"), reading(url) as db:
        list(db.query("SELECT * FROM no_such_table"))
    assert not [record for record in caplog.records if record.name == "psycopg"]
    assert postgres.idle_connections(url) == 1  # a refusal leaves the session sound
    kept = postgres._POOL.take(url)
    try:
        assert not kept.in_transaction
    finally:
        postgres._POOL.give_back(kept, reusable=True)
    with reading(url) as db:
        assert db.execute("SELECT 1").fetchone()[0] == 1
