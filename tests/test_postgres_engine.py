"""The PostgreSQL engine's own parts: the location setting, the SQL translation, and what a
person or the log is told when the server fails (issue 12, item 10; decision #72)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bench.harness import free_port
from bench.postgres_cluster import Cluster

from closure_readiness.core.location import PostgresURL, parse_store, store_key
from closure_readiness.service.context import Context
from closure_readiness.storage.database import BUSY, database_fault, reading, writing
from closure_readiness.storage.postgres import translate


def test_a_url_setting_is_a_postgres_location_and_a_path_stays_a_path() -> None:
    assert parse_store("postgresql://app@db.internal:5432/closure") == PostgresURL(
        "postgresql://app@db.internal:5432/closure"
    )
    assert parse_store("postgres://app@db/closure") == PostgresURL("postgresql://app@db/closure")
    assert parse_store("/srv/data/closure.db") == Path("/srv/data/closure.db")
    assert store_key(PostgresURL("postgresql://h/d")) == "postgresql://h/d"


def test_a_password_in_the_url_is_never_shown() -> None:
    url = PostgresURL("postgresql://app:s3cret-pass@db.internal/closure")
    assert "s3cret" not in str(url)
    assert "s3cret" not in repr(url)
    assert "s3cret" not in repr(Context(url))
    assert str(url) == "postgresql://app:***@db.internal/closure"


def test_closure_db_takes_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from closure_readiness.settings import Environment, load_settings

    monkeypatch.setenv("CLOSURE_DB", "postgresql://app@db.internal/closure")
    monkeypatch.setenv("CLOSURE_ENVIRONMENT", "prod")
    settings = load_settings()
    assert settings.db == PostgresURL("postgresql://app@db.internal/closure")
    assert settings.environment is Environment.PROD
    settings.refuse_unsafe()  # a server's database is not "the default or relative path"


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        ("UPDATE t SET a = :a WHERE id = :id", "UPDATE t SET a = %(a)s WHERE id = %(id)s"),
        ("SELECT '?', ':x', 'it''s ?' WHERE a = ?", "SELECT '?', ':x', 'it''s ?' WHERE a = %s"),
        ("SELECT a::int, b LIKE '5%' FROM t", "SELECT a::int, b LIKE '5%%' FROM t"),
        ("FROM d CROSS JOIN o ON o.id = d.id", "FROM d JOIN o ON o.id = d.id"),
    ],
)
def test_sqlite_spelling_becomes_postgres_spelling(sqlite: str, postgres: str) -> None:
    assert translate(sqlite) == postgres


def test_a_server_that_cannot_be_reached_is_one_plain_line() -> None:
    url = PostgresURL(f"postgresql://closure@127.0.0.1:{free_port()}/nowhere?connect_timeout=2")
    import psycopg

    with pytest.raises(psycopg.OperationalError) as failure, reading(url):
        pass
    line = database_fault(failure.value, where=f"{url}: ")
    assert line is not None
    assert "could not be reached" in line
    assert "Traceback" not in line


def test_a_writer_waiting_past_the_busy_timeout_is_told_busy(
    postgres_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds the write lock: this one gives up after the busy timeout with the
    same "busy, try again" line as on SQLite, and nothing is stored."""
    import psycopg

    from closure_readiness.storage import postgres

    url = PostgresURL(postgres_cluster.create_database("busy"))
    with writing(url) as db:
        db.execute("SELECT 1")
    postgres.release(url)
    monkeypatch.setattr(postgres, "BUSY_TIMEOUT_MS", 300)
    with psycopg.connect(url.url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (postgres.WRITE_LOCK,))
        with pytest.raises(psycopg.Error) as failure, writing(url) as db:
            db.execute(
                "INSERT INTO staff (id, issuer, subject, display_name, role, created_at) "
                "VALUES ('SW-X', 'i', 's', 'Someone', 'caseworker', '2025-01-01')"
            )
    assert database_fault(failure.value) == BUSY
    with reading(url) as db:
        assert db.execute("SELECT count(*) FROM staff").fetchone()[0] == 0
    postgres.release(url)


def test_the_log_line_of_a_refused_row_does_not_quote_the_row(postgres_cluster: Cluster) -> None:
    """PostgreSQL's error detail quotes the failing row's values; the server's log line takes
    only its primary message and code."""
    import psycopg

    from closure_readiness.service.faults import fault_log_line

    url = postgres_cluster.create_database("quoted")
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE t (reference text CHECK (length(reference) < 5))")
        with pytest.raises(psycopg.Error) as failure:
            conn.execute("INSERT INTO t VALUES ('CR-SECRET-0001')")
    line = fault_log_line(failure.value)
    assert line is not None
    assert "PostgreSQL" in line
    assert "CR-SECRET" not in line
    assert "CR-SECRET" in str(failure.value)  # the detail did quote it


def test_an_sqlite_deployment_never_loads_the_postgres_driver(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from closure_readiness.storage.database import writing\n"
        f"with writing(__import__('pathlib').Path({str(tmp_path / 'x.db')!r})) as db:\n"
        "    db.execute('SELECT 1')\n"
        "print('psycopg' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "False"
