"""Keyed anchors and the scheduled export of anchors (issue 11, item 4).

An unkeyed chain cannot show an insider who truncated it after the last anchor, or who wrote
a new anchor for a rewritten chain. `anchor --key-file K` signs the anchor (HMAC-SHA256 under
a key the operator holds), and `verify --anchor A --key-file K` reports an anchor that was
forged or edited. A key file others can read, or a short key, is refused with one line.

The scheduled export is tested from the operator's guide itself: the script in
docs/operations.md is run twice, as written (only its paths moved into the test's folder),
against a database that changes between runs.

Signing and checking run on SQLite and on PostgreSQL (a `postgresql://` URL given to --db);
the guide's script names an SQLite file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from cli_support import invoke
from closure_readiness.core.location import PostgresURL, Store
from closure_readiness.service.context import Context
from tamper_support import copy_store
from workflow_fixtures import Team, add_team, copy_context, make_context, submit

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "operations.md"
INSTALLED = ROOT / ".venv" / "bin" / "closure-readiness"
EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
FORGED = "FAIL anchor: the anchor's signature does not match: it was not written with this key"


pytestmark = [pytest.mark.usefixtures("clean_cli_settings"), pytest.mark.both_engines]


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("closure-readiness: "), stderr
    return stderr.rstrip("\n")


def make_key(path: Path, data: bytes = b"k" * 16 + os.urandom(32), mode: int = 0o600) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


@pytest.fixture(scope="module")
def built(
    staffed: tuple[Context, Team], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Store, Team]:
    """A database with the test staff and one signed-off decision, made once per engine."""
    ctx = copy_context(staffed[0], tmp_path_factory.mktemp("built"))
    team = staffed[1]
    submit(ctx, team.worker)
    return ctx.db_path, team


@pytest.fixture
def store(built: tuple[Store, Team], tmp_path: Path) -> Store:
    folder = tmp_path / "store"
    folder.mkdir()
    return copy_store(built[0], folder, "closure.db")


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return make_key(tmp_path / "anchor.key")


def signed_anchor(store: Store, key: Path, out: Path) -> dict[str, object]:
    result = invoke("anchor", "--db", store, "--key-file", key, "--out", out)
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.startswith("Wrote the chain head (event "), result.stdout
    assert f", signed, to {out}; keep it outside the database's host." in result.stdout
    document: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return document


# Signing and checking ------------------------------------------------------------------------


def test_a_keyed_anchor_is_signed_and_verifies_with_its_key(
    store: Store, key: Path, tmp_path: Path
) -> None:
    anchor = tmp_path / "anchor.json"
    document = signed_anchor(store, key, anchor)
    fields = {name: document[name] for name in ("format", "seq", "hash", "exported_at")}
    message = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    result = invoke("verify", "--db", store, "--anchor", anchor, "--key-file", key)

    assert document["hmac_sha256"] == hmac.new(key.read_bytes(), message, "sha256").hexdigest()
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.rstrip().endswith("anchor and its signature checked: intact.")


def _forge(document: dict[str, object], how: str) -> dict[str, object]:
    forged = dict(document)
    if how == "signed with another key":
        fields = {name: forged[name] for name in ("format", "seq", "hash", "exported_at")}
        message = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
        forged["hmac_sha256"] = hmac.new(b"x" * 32, message, hashlib.sha256).hexdigest()
    elif how == "anchored event moved back":  # to hide a truncation after the anchor
        forged["seq"] = int(str(forged["seq"])) - 1
    elif how == "time edited":
        forged["exported_at"] = "2020-01-01T00:00:00+00:00"
    elif how == "head hash edited":  # to match a rewritten chain
        forged["hash"] = "0" * 64
    return forged


@pytest.mark.parametrize(
    "how",
    ["signed with another key", "anchored event moved back", "time edited", "head hash edited"],
)
def test_a_forged_or_edited_anchor_is_reported(
    store: Store, key: Path, tmp_path: Path, how: str
) -> None:
    document = signed_anchor(store, key, tmp_path / "anchor.json")
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(_forge(document, how)), encoding="utf-8")

    result = invoke("verify", "--db", store, "--anchor", forged, "--key-file", key)

    assert result.exit_code == EXIT_FAILED, result.output
    assert FORGED in result.stdout.splitlines()


def test_an_unsigned_anchor_is_not_confirmed_by_a_key(
    store: Store, key: Path, tmp_path: Path
) -> None:
    anchor = tmp_path / "anchor.json"
    assert invoke("anchor", "--db", store, "--out", anchor).exit_code == EXIT_OK

    result = invoke("verify", "--db", store, "--anchor", anchor, "--key-file", key)

    assert result.exit_code == EXIT_FAILED, result.output
    assert (
        "FAIL anchor: it is not signed (written without a key), so this key cannot confirm it"
        in result.stdout.splitlines()
    )


def test_a_signed_anchor_checked_without_its_key_says_so(
    store: Store, key: Path, tmp_path: Path
) -> None:
    anchor = tmp_path / "anchor.json"
    signed_anchor(store, key, anchor)

    result = invoke("verify", "--db", store, "--anchor", anchor)

    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.rstrip().endswith(
        "anchor checked (not its signature: give --key-file): intact."
    )


def test_a_key_without_an_anchor_is_refused(store: Store, key: Path) -> None:
    result = invoke("verify", "--db", store, "--key-file", key)

    assert result.exit_code == EXIT_INVALID
    assert one_line(result.stderr) == (
        "closure-readiness: --key-file checks an anchor's signature: give the anchor with --anchor."
    )


# Key files the operator must fix --------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o644, 0o666], ids=oct)
@pytest.mark.parametrize("command", ["anchor", "verify"])
def test_a_key_file_other_accounts_can_read_or_change_is_refused(
    store: Store, tmp_path: Path, mode: int, command: str
) -> None:
    good = make_key(tmp_path / "good.key")
    anchor = tmp_path / "anchor.json"
    signed_anchor(store, good, anchor)
    shared = make_key(tmp_path / "shared.key", mode=mode)
    out = tmp_path / "new-anchor.json"
    args = {
        "anchor": ["anchor", "--db", store, "--key-file", shared, "--out", out],
        "verify": ["verify", "--db", store, "--anchor", anchor, "--key-file", shared],
    }[command]

    result = invoke(*args)

    assert result.exit_code == EXIT_INVALID
    assert one_line(result.stderr).startswith(
        f"closure-readiness: {shared}: not a usable key file (other accounts can read or change "
        f"this key file; make it its owner's only (chmod 600 {shared})"
    )
    assert not out.exists()
    assert result.stdout == ""


@pytest.mark.parametrize(
    "data",
    [b"", b"k" * 31, b"k" * 31 + b"\n", b"k" * 30 + b"\r\n"],
    ids=["0", "31", "31+lf", "30+crlf"],
)
def test_a_key_shorter_than_32_bytes_is_refused(store: Store, tmp_path: Path, data: bytes) -> None:
    short = make_key(tmp_path / "short.key", data)
    out = tmp_path / "anchor.json"

    result = invoke("anchor", "--db", store, "--key-file", short, "--out", out)

    assert result.exit_code == EXIT_INVALID
    assert one_line(result.stderr) == (
        f"closure-readiness: {short}: not a usable key file (the key is shorter than 32 bytes; "
        "make one as docs/operations.md says)."
    )
    assert not out.exists()


def test_a_missing_key_file_is_refused(store: Store, tmp_path: Path) -> None:
    missing = tmp_path / "no.key"

    result = invoke("anchor", "--db", store, "--key-file", missing, "--out", tmp_path / "a.json")

    assert result.exit_code == EXIT_INVALID
    assert one_line(result.stderr) == (
        f"closure-readiness: {missing}: not a usable key file (no such file)."
    )


def test_a_key_with_a_final_line_break_signs_as_without(store: Store, tmp_path: Path) -> None:
    """A key written with `base64` ends in a line break; an editor may drop or add it."""
    text = b"Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1rZXktMDEyMzQ1Njc4OQ=="
    with_break = make_key(tmp_path / "a.key", text + b"\n")
    without = make_key(tmp_path / "b.key", text)
    anchor = tmp_path / "anchor.json"
    signed_anchor(store, with_break, anchor)

    result = invoke("verify", "--db", store, "--anchor", anchor, "--key-file", without)

    assert result.exit_code == EXIT_OK, result.output


# The commands on a new database, on either engine -----------------------------------------------


def _new_database(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A path for a new SQLite file, or the URL of a new, empty PostgreSQL database (with a
    password, which the server's trust sign-in ignores and no message may show)."""
    if engine == "sqlite":
        return str(tmp_path / "c.db")
    cluster = request.getfixturevalue("postgres_cluster")
    url = cluster.create_database(f"cli{uuid.uuid4().hex[:12]}")
    return url.replace("://closure@", "://closure:not-a-real-password@", 1)


def test_migrate_anchor_verify_and_backup_on_either_engine(
    engine: str, key: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = _new_database(engine, tmp_path, request)
    shown = str(PostgresURL(db)) if engine == "postgresql" else db
    anchor, copy = tmp_path / "anchor.json", tmp_path / "copy.db"
    member = ["add", "AU-001", "--issuer", "https://login.example.invalid/v2.0"]
    member += ["--subject", "sub-au-001", "--name", "Auditor one", "--role", "auditor"]

    migrated = invoke("migrate", "--db", db)
    added = invoke("staff", "--db", db, *member)  # an event to anchor
    anchored = invoke("anchor", "--db", db, "--key-file", key, "--out", anchor)
    verified = invoke("verify", "--db", db, "--anchor", anchor, "--key-file", key)
    backed_up = invoke("backup", "--db", db, "--out", copy)

    assert migrated.stdout == f"{shown}: schema up to date.\n"
    assert added.exit_code == anchored.exit_code == 0, added.output + anchored.output
    assert verified.exit_code == EXIT_OK, verified.output
    assert verified.stdout == (
        f"{shown}: 0 decisions, 0 outcomes, 1 audit events checked, anchor and its signature "
        "checked: intact.\n"
    )
    if engine == "sqlite":
        assert backed_up.exit_code == EXIT_OK, backed_up.output
        assert copy.exists()
    else:
        assert backed_up.exit_code == EXIT_FAILED
        assert one_line(backed_up.stderr) == (
            f"closure-readiness: {shown}: a PostgreSQL database is backed up with pg_dump or by "
            "the server's or its provider's own backups, not with this command; nothing was "
            "written."
        )
        assert not copy.exists()
    said = "".join(r.output for r in (migrated, added, anchored, verified, backed_up))
    assert "not-a-real-password" not in said


def test_verify_completes_while_a_writer_holds_the_write_lock(store: Store) -> None:
    """verify only reads: it never waits for the write lock (SQLite's, or PostgreSQL's advisory
    lock), nor for a row a writer has changed and not yet committed."""
    if isinstance(store, PostgresURL):
        import psycopg

        from closure_readiness.storage.postgres import WRITE_LOCK

        writer: Any = psycopg.connect(store.url)
        writer.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK])
    else:
        writer = sqlite3.connect(store, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
    try:
        writer.execute("UPDATE staff SET display_name = display_name")  # a write under way
        result = invoke("verify", "--db", store)
    finally:
        writer.rollback()
        writer.close()

    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.rstrip().endswith(": intact.")


def test_verify_of_a_database_without_this_systems_tables_is_one_problem(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = _new_database(engine, tmp_path, request)
    if engine == "sqlite":
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.commit()
        conn.close()

    result = invoke("verify", "--db", db)

    assert result.exit_code == EXIT_FAILED
    what = "file" if engine == "sqlite" else "database"
    assert result.stdout.splitlines()[0] == (
        f"FAIL the {what} is not a Closure Readiness database (no audit trail)"
    )


# The scheduled export, run from the guide --------------------------------------------------


GUIDE_PATHS = {
    "program": "/opt/closure-readiness/venv/bin/closure-readiness",
    "database": "/srv/closure-readiness/data/closure-readiness.db",
    "folder": "/srv/anchors/",
}
SCRIPT = "/usr/local/bin/closure-readiness-anchor"
KEY = "/etc/closure-readiness-anchor/anchor.key"


def scheduled_script() -> str:
    """The scheduled anchor script as docs/operations.md gives it."""
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)
    scripts = [block for block in blocks if block.startswith("#!/bin/sh\n# " + SCRIPT)]
    assert len(scripts) == 1, "the guide gives the scheduled anchor script once"
    return scripts[0]


def test_the_guide_schedules_the_script_it_gives() -> None:
    guide = GUIDE.read_text(encoding="utf-8")

    assert f"ExecStart={SCRIPT}\n" in guide
    assert f"LoadCredential=anchor.key:{KEY}\n" in guide  # the key systemd hands to the run
    assert "OnCalendar=hourly\n" in guide
    assert '--key-file "$CREDENTIALS_DIRECTORY/anchor.key"' in scheduled_script()


def _run_script(script: str, paths: dict[str, Path], credentials: Path) -> None:
    """The script as systemd runs it: the key in $CREDENTIALS_DIRECTORY, a bare PATH."""
    for name, path in GUIDE_PATHS.items():
        assert path in script, f"the guide's script no longer uses {path} ({name})"
        script = script.replace(path, str(paths[name]) + ("/" if path.endswith("/") else ""))
    result = subprocess.run(
        ["sh", "-c", script],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(credentials),
            "CREDENTIALS_DIRECTORY": str(credentials),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_OK, result.stdout + result.stderr


def _truncate_after(db: Path, seq: int) -> None:
    """As an insider with the file: drop the triggers and delete every event after `seq`."""
    conn = sqlite3.connect(db)
    try:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            if name.startswith("audit_events_no_"):
                conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("DELETE FROM audit_events WHERE seq > ?", [seq])
        conn.commit()
    finally:
        conn.close()


def test_the_guides_scheduled_anchor_runs_and_each_anchor_verifies(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    team = add_team(ctx)
    submit(ctx, team.worker)
    folder, credentials = tmp_path / "anchors", tmp_path / "credentials"
    folder.mkdir()
    credentials.mkdir(mode=0o500)
    key = make_key(credentials / "anchor.key", mode=0o400)  # as systemd's LoadCredential leaves it
    paths = {"program": INSTALLED, "database": ctx.db_path, "folder": folder}
    script = scheduled_script()

    _run_script(script, paths, credentials)
    submit(ctx, team.worker, "CR-2025-0901")  # the database changes between runs
    time.sleep(1.1)  # the file name is to the second
    _run_script(script, paths, credentials)

    first, second = sorted(folder.iterdir())
    assert json.loads(first.read_text())["seq"] < json.loads(second.read_text())["seq"]
    for anchor in (first, second):
        result = invoke("verify", "--db", ctx.db_path, "--anchor", anchor, "--key-file", key)
        assert result.exit_code == EXIT_OK, result.output
        assert result.stdout.rstrip().endswith("anchor and its signature checked: intact.")

    _truncate_after(ctx.db_path, json.loads(first.read_text())["seq"])
    result = invoke("verify", "--db", ctx.db_path, "--anchor", second, "--key-file", key)
    assert result.exit_code == EXIT_FAILED
    assert any(
        line.startswith("FAIL anchor: the chain ends at event ") and line.endswith("(truncated)")
        for line in result.stdout.splitlines()
    ), result.stdout
