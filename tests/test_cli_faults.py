"""The command line meets faults with one line (issue 11, items 2, 3 and 14).

Read-only commands (verify, anchor, backup, staff list) only read: they work on a backup on
read-only storage, leave the file's bytes and time alone, never wait for a writer, never create
or migrate a missing, empty or older file. `export` appends its audit event (every export is
audited) but never migrates. A read-only file system, a missing output folder, a database held
by a writer beyond the busy timeout, a damaged or non-database file and a full disk each give
one line on standard error and a non-zero exit, never a traceback.

Read-only storage and a full disk are real when the tests run as root (a tmpfs is mounted,
remounted read-only or filled up); read-only storage is a chmod otherwise. A full disk is also
simulated in process, so it is covered everywhere.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from cli_support import invoke
from closure_readiness.storage import database
from closure_readiness.storage.schema import MIGRATIONS
from workflow_fixtures import Team, add_team, make_context, prepare_ready, submit

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = ROOT / ".venv" / "bin" / "closure-readiness"
EXIT_OK, EXIT_REFUSED, EXIT_INVALID = 0, 1, 2
HUGE = str(10**30)
ADD = ["add", "SW-077", "--issuer", "https://sign-in.test.invalid", "--subject", "s-077"]
ADD += ["--name", "Caseworker seventy-seven", "--role", "caseworker", "--team", "North"]


# Helpers ------------------------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("clean_cli_settings")


def installed(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The console script as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSURE_")}
    return subprocess.run(
        [str(INSTALLED), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def one_line(stderr: str) -> str:
    """Standard error is exactly one line, not a traceback; returns it."""
    assert "Traceback" not in stderr, stderr
    assert stderr.count("\n") == 1, stderr
    assert stderr.endswith("\n"), stderr
    assert stderr.startswith("closure-readiness: "), stderr
    return stderr


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def audit_events(path: Path) -> int:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Team, int, int]:
    """A database with the test staff, a signed-off decision and a draft, made once."""
    ctx = make_context(tmp_path_factory.mktemp("built"))
    team = add_team(ctx)
    _, decision_id = submit(ctx, team.worker)
    draft = prepare_ready(ctx, team.worker, "CR-2025-0777")
    return ctx.db_path, team, decision_id, draft


@pytest.fixture
def store(built: tuple[Path, Team, int, int], tmp_path: Path) -> Path:
    """This test's own copy (nothing holds the original open, so it is one whole file)."""
    copy = tmp_path / "store" / "closure.db"
    copy.parent.mkdir()
    for path in built[0].parent.glob(built[0].name + "*"):
        shutil.copy(path, copy.parent / path.name)
    return copy


@contextlib.contextmanager
def tmpfs(size: str) -> Iterator[Path]:
    """A small file system of its own (root only), unmounted afterwards."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a file system needs root")
    folder = Path(tempfile.mkdtemp(prefix="closure-tmpfs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


@pytest.fixture
def read_only_copy(store: Path) -> Iterator[Path]:
    """A copy of the store on read-only storage: a tmpfs remounted read-only as root, a file
    and folder without write permission otherwise."""
    if os.geteuid() != 0:
        folder = store.parent
        store.chmod(0o444)
        folder.chmod(0o555)
        try:
            yield store
        finally:
            folder.chmod(0o755)
            store.chmod(0o644)
        return
    with tmpfs("20m") as folder:
        shutil.copy(store, folder / store.name)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder / store.name


def older_schema(path: Path) -> Path:
    """A database as the first version of this system made it (later migrations pending)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        MIGRATIONS.apply(Database(conn), stop_before="m002_approval_trigger_by_review")
        conn.commit()
    finally:
        conn.close()
    return path


# 1. Read-only commands are read-only --------------------------------------------------------


def read_commands(db: Path, out: Path) -> dict[str, list[str | Path]]:
    return {
        "verify": ["verify", "--db", db],
        "anchor": ["anchor", "--db", db, "--out", out / "anchor.json"],
        "backup": ["backup", "--db", db, "--out", out / "copy.db"],
        "staff list": ["staff", "--db", db, "list"],
    }


@pytest.mark.parametrize("command", ["verify", "anchor", "backup", "staff list"])
def test_a_read_only_command_works_on_read_only_storage_and_changes_nothing(
    read_only_copy: Path, tmp_path: Path, command: str
) -> None:
    before, listing = snapshot(read_only_copy), sorted(os.listdir(read_only_copy.parent))

    result = installed(*read_commands(read_only_copy, tmp_path)[command])

    assert result.returncode == EXIT_OK, result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(read_only_copy) == before
    assert sorted(os.listdir(read_only_copy.parent)) == listing


def test_read_only_commands_leave_a_writable_file_as_it_was(store: Path, tmp_path: Path) -> None:
    before = snapshot(store)

    for args in read_commands(store, tmp_path).values():
        result = invoke(*args)
        assert result.exit_code == EXIT_OK, result.output

    assert snapshot(store) == before


@pytest.mark.parametrize("command", ["verify", "anchor", "backup", "staff list"])
def test_a_read_only_command_never_waits_for_a_writer(
    store: Path, tmp_path: Path, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 500)
    writer = sqlite3.connect(store, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE staff SET display_name = display_name")  # a write under way
        result = invoke(*read_commands(store, tmp_path)[command])
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert result.exit_code == EXIT_OK, result.output


def test_verify_end_to_end_completes_while_a_writer_holds_the_lock(
    store: Path, tmp_path: Path
) -> None:
    writer = sqlite3.connect(store, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        result = installed("verify", "--db", store, timeout=20)  # the busy timeout is 30 s
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.rstrip().endswith(": intact.")


@pytest.mark.parametrize("command", ["verify", "anchor", "backup", "staff list", "export"])
def test_a_missing_or_empty_database_is_never_created_or_migrated(
    tmp_path: Path, command: str
) -> None:
    missing, empty = tmp_path / "missing.db", tmp_path / "empty.db"
    empty.touch()
    commands: dict[str, list[str | Path]] = {
        **read_commands(missing, tmp_path),
        "export": ["export", "--db", missing],
    }
    on_empty: dict[str, list[str | Path]] = {
        **read_commands(empty, tmp_path),
        "export": ["export", "--db", empty],
    }

    not_there = invoke(*commands[command])
    nothing_in_it = invoke(*on_empty[command])

    assert not_there.exit_code == EXIT_INVALID  # a mistyped path, as before
    assert one_line(not_there.stderr) == f"closure-readiness: {missing}: no such database.\n"
    assert not missing.exists()
    assert nothing_in_it.exit_code == EXIT_REFUSED
    assert one_line(nothing_in_it.stderr) == (
        f"closure-readiness: {empty}: the file is empty; it is not a Closure Readiness database.\n"
    )
    assert empty.stat().st_size == 0


def test_an_older_schema_is_verified_as_it_is_and_listed_or_exported_only_after_migrate(
    tmp_path: Path,
) -> None:
    old = older_schema(tmp_path / "old.db")
    before = snapshot(old)

    verified = invoke("verify", "--db", old)
    listed = invoke("staff", "--db", old, "list")
    exported = installed("export", "--db", old)

    assert verified.exit_code == EXIT_OK, verified.output
    assert verified.stdout.rstrip().endswith(": intact.")
    for result in (listed.exit_code, exported.returncode):
        assert result == EXIT_REFUSED
    for stderr in (listed.stderr, exported.stderr):
        assert one_line(stderr) == (
            f"closure-readiness: {old}: the database was made by an earlier version; run "
            "`closure-readiness migrate` first.\n"
        )
    assert snapshot(old) == before
    assert MIGRATIONS.pending(Database(sqlite3.connect(old)))


def test_export_appends_its_audit_event_and_nothing_else(store: Path, tmp_path: Path) -> None:
    events = audit_events(store)

    result = invoke("export", "--db", store, "--out", tmp_path / "decisions.csv")

    assert result.exit_code == EXIT_OK, result.output
    assert audit_events(store) == events + 1


# 2. Anchors that would check nothing are refused ----------------------------------------------


def _anchor(store: Path, tmp_path: Path) -> dict[str, object]:
    out = tmp_path / "anchor.json"
    assert invoke("anchor", "--db", store, "--out", out).exit_code == EXIT_OK
    document: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq", 0),
        ("seq", -3),
        ("seq", "5"),
        ("seq", True),
        ("seq", 2.0),
        ("seq", None),
        ("hash", "0" * 63),
        ("hash", "Z" * 64),
        ("hash", None),
        ("format", "something-else@1"),
        ("exported_at", "yesterday"),
        ("exported_at", None),
    ],
)
def test_an_anchor_of_event_0_or_with_a_malformed_field_is_refused(
    store: Path, tmp_path: Path, field: str, value: object
) -> None:
    document = _anchor(store, tmp_path)
    if value is None:
        del document[field]
    else:
        document[field] = value
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document), encoding="utf-8")

    result = invoke("verify", "--db", store, "--anchor", forged)

    assert result.exit_code == EXIT_INVALID, result.output
    assert one_line(result.stderr).startswith(f"closure-readiness: {forged}: not a readable anchor")
    assert result.stdout == ""


@pytest.mark.parametrize("content", ["[1, 2]", "not json", '"text"'])
def test_an_anchor_that_is_not_an_anchor_document_is_refused(
    store: Path, tmp_path: Path, content: str
) -> None:
    forged = tmp_path / "forged.json"
    forged.write_text(content, encoding="utf-8")

    result = installed("verify", "--db", store, "--anchor", forged)

    assert result.returncode == EXIT_INVALID
    assert one_line(result.stderr).startswith(f"closure-readiness: {forged}: not a readable anchor")


def test_a_sound_anchor_still_verifies(store: Path, tmp_path: Path) -> None:
    document = _anchor(store, tmp_path)
    anchor = tmp_path / "sound.json"
    anchor.write_text(json.dumps(document), encoding="utf-8")

    result = invoke("verify", "--db", store, "--anchor", anchor)

    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.rstrip().endswith("anchor checked: intact.")


def test_an_empty_audit_trail_has_nothing_to_anchor(tmp_path: Path) -> None:
    db, out = tmp_path / "new.db", tmp_path / "anchor.json"
    assert invoke("migrate", "--db", db).exit_code == EXIT_OK

    result = installed("anchor", "--db", db, "--out", out)

    assert result.returncode == EXIT_REFUSED
    assert one_line(result.stderr) == (
        f"closure-readiness: {db}: the audit trail is empty; there is nothing to anchor yet.\n"
    )
    assert not out.exists()


# 3. Faults met with one line -----------------------------------------------------------------


@pytest.mark.parametrize("decision", [HUGE, "-1", "0", str(2**63)])
def test_export_of_a_decision_id_no_row_can_have_says_there_is_no_such_decision(
    store: Path, tmp_path: Path, decision: str
) -> None:
    pdf = tmp_path / "record.pdf"

    result = installed("export", "--db", store, "--decision", decision, "--pdf", pdf)

    assert result.returncode == EXIT_REFUSED
    assert one_line(result.stderr) == (
        f"closure-readiness: There is no such decision: {decision}.\n"
    )
    assert not pdf.exists()


def test_export_of_a_decision_that_does_not_exist_says_so(store: Path, tmp_path: Path) -> None:
    result = invoke("export", "--db", store, "--decision", "999", "--pdf", tmp_path / "r.pdf")

    assert result.exit_code == EXIT_REFUSED
    assert one_line(result.stderr) == "closure-readiness: There is no such decision: 999.\n"


def test_withdraw_of_a_review_id_no_row_can_have_is_refused(store: Path) -> None:
    result = invoke(
        "withdraw", "--db", store, "--review", HUGE, "--by", "SW-N1", "--reason", "Moved."
    )

    assert result.exit_code == EXIT_REFUSED
    assert one_line(result.stderr).startswith(
        f"closure-readiness: Not withdrawn. There is no review {HUGE} that SW-N1 can see"
    )


@pytest.mark.parametrize("kind", ["export --out", "export --pdf", "anchor --out", "backup --out"])
def test_a_missing_output_folder_is_one_line_and_nothing_is_audited(
    store: Path, built: tuple[Path, Team, int, int], kind: str
) -> None:
    target = Path("/nonexistent-closure-folder/x.out")
    decision_id = str(built[2])
    args: dict[str, list[str | Path]] = {
        "export --out": ["export", "--db", store, "--out", target],
        "export --pdf": ["export", "--db", store, "--decision", decision_id, "--pdf", target],
        "anchor --out": ["anchor", "--db", store, "--out", target],
        "backup --out": ["backup", "--db", store, "--out", target],
    }
    events = audit_events(store)

    result = installed(*args[kind])

    assert result.returncode == EXIT_INVALID
    assert one_line(result.stderr) == (
        f"closure-readiness: {target.parent}: no such folder; nothing was written.\n"
    )
    assert audit_events(store) == events


WRITERS = {
    "migrate": ["migrate"],
    "staff add": ["staff", "--db", "{db}", *ADD],
    "staff disable": ["staff", "--db", "{db}", "disable", "SW-N2"],
    "withdraw": ["withdraw", "--review", "{draft}", "--by", "SW-N1", "--reason", "Moved away."],
}


def writer_args(name: str, db: Path, draft: int) -> list[str | Path]:
    args: list[str | Path] = [a.format(db=db, draft=draft) for a in WRITERS[name]]
    return args if name.startswith("staff") else [*args, "--db", str(db)]


@pytest.mark.parametrize("name", list(WRITERS))
def test_a_writer_on_read_only_storage_says_so_in_one_line(
    read_only_copy: Path, built: tuple[Path, Team, int, int], name: str
) -> None:
    result = installed(*writer_args(name, read_only_copy, built[3]))

    assert result.returncode == EXIT_REFUSED, result.stdout
    line = one_line(result.stderr)
    assert "read-only storage" in line
    assert "nothing was changed" in line


@pytest.mark.parametrize("name", list(WRITERS))
def test_a_writer_held_off_beyond_the_busy_timeout_says_the_database_is_busy(
    store: Path, built: tuple[Path, Team, int, int], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    writer = sqlite3.connect(store, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        result = invoke(*writer_args(name, store, built[3]))
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert result.exit_code == EXIT_REFUSED, result.output
    assert one_line(result.stderr) == (
        "closure-readiness: The database is busy (another program is writing to it): nothing "
        "was changed; try again.\n"
    )


def test_busy_end_to_end_in_a_process_of_its_own(
    store: Path, built: tuple[Path, Team, int, int]
) -> None:
    """The console's entry point in a real process, with the busy timeout made short."""
    program = (
        "import sys\n"
        "from closure_readiness.storage import database\n"
        "database.BUSY_TIMEOUT_MS = 200\n"
        "from closure_readiness.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    writer = sqlite3.connect(store, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        result = subprocess.run(
            [sys.executable, "-c", program, *writer_args("staff add", store, built[3])],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert result.returncode == EXIT_REFUSED
    assert "The database is busy" in one_line(result.stderr)


def _not_a_database(path: Path) -> None:
    path.write_bytes(b"these are not the bytes of SQLite\n" * 200)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:5000])


DAMAGE: dict[str, Callable[[Path], None]] = {
    "not a database": _not_a_database,
    "truncated": _truncate,
    "scribbled": lambda path: _scribble(path),
}


def _scribble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:12288] = b"\xff" * 8192  # the pages after the first
    path.write_bytes(bytes(data))


DAMAGED_COMMANDS = ["anchor", "backup", "staff list", "export", "migrate", "staff add", "withdraw"]


@pytest.mark.parametrize(
    ("damage", "command"),
    [
        (damage, command)
        for damage in DAMAGE
        for command in DAMAGED_COMMANDS
        # A backup copies a file whose damage lies outside the pages it reads, and an anchor
        # reads only the chain's head: `verify` is the command that judges the whole file.
        if not (damage == "scribbled" and command in ("anchor", "backup"))
    ],
)
def test_a_damaged_or_non_database_file_is_one_line(
    store: Path, tmp_path: Path, built: tuple[Path, Team, int, int], damage: str, command: str
) -> None:
    DAMAGE[damage](store)
    commands: dict[str, list[str | Path]] = {
        **read_commands(store, tmp_path),
        "export": ["export", "--db", store],
        **{name: writer_args(name, store, built[3]) for name in ("migrate", "staff add")},
        "withdraw": writer_args("withdraw", store, built[3]),
    }

    result = invoke(*commands[command])

    assert result.exit_code == EXIT_REFUSED, result.output
    one_line(result.stderr)
    assert "not a Closure Readiness database" in result.stderr or "damaged" in result.stderr


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_verify_of_a_damaged_file_reports_it_end_to_end(store: Path, damage: str) -> None:
    DAMAGE[damage](store)

    result = installed("verify", "--db", store)

    assert result.returncode == EXIT_REFUSED
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith("FAIL ")
    assert "intact" not in result.stdout


def test_a_damaged_file_end_to_end_is_one_line(store: Path) -> None:
    DAMAGE["not a database"](store)

    result = installed("staff", "--db", store, *ADD)

    assert result.returncode == EXIT_REFUSED
    assert "not a Closure Readiness database, or it is damaged" in one_line(result.stderr)


def test_a_full_disk_when_the_database_writes_is_one_line(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from closure_readiness.service import staff

    def full(*_: object, **__: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(staff, "add_staff", full)

    result = invoke("staff", "--db", store, *ADD)

    assert result.exit_code == EXIT_REFUSED
    assert one_line(result.stderr) == (
        "closure-readiness: The disk is full: nothing was saved. Free some space and try again.\n"
    )


def test_a_full_disk_when_the_export_file_is_written_leaves_no_part_of_it(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "decisions.csv"
    real = Path.write_bytes

    def half_then_full(self: Path, data: bytes) -> int:
        real(self, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", half_then_full)

    result = invoke("export", "--db", store, "--out", out)

    assert result.exit_code == EXIT_REFUSED
    assert one_line(result.stderr) == (
        "closure-readiness: The disk is full: nothing was saved. Free some space and try again.\n"
    )
    assert not out.exists()


def test_a_really_full_disk_end_to_end(store: Path) -> None:
    """A tmpfs just big enough for the database, then filled: a writer and an export say so."""
    size = store.stat().st_size
    with tmpfs(f"{size // 1024 + 512}k") as folder:
        db = folder / store.name
        shutil.copy(store, db)
        with contextlib.suppress(OSError), (folder / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        added = installed("staff", "--db", db, *ADD)
        exported = installed("export", "--db", db, "--out", folder / "decisions.csv")

        for result in (added, exported):
            assert result.returncode == EXIT_REFUSED, result.stdout
            line = one_line(result.stderr)
            assert "disk" in line
            assert "nothing was saved" in line
        assert not (folder / "decisions.csv").exists()
        (folder / "filler").unlink()
        verified = installed("verify", "--db", db)
        listed = installed("staff", "--db", db, "list")

    assert verified.returncode == EXIT_OK, verified.stdout
    assert "SW-077" not in listed.stdout


def test_a_backup_to_a_full_disk_leaves_no_half_copy(store: Path) -> None:
    with tmpfs("64k") as folder:
        out = folder / "copy.db"

        result = installed("backup", "--db", store, "--out", out)

        assert result.returncode == EXIT_REFUSED, result.stdout
        assert "The disk is full" in one_line(result.stderr)
        assert not out.exists()


def test_the_installed_command_survives_an_unexpected_exception(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from closure_readiness.storage import integrity

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("something\nnobody expected")

    monkeypatch.setattr(integrity, "anchor_document", broken)

    result = invoke("anchor", "--db", store, "--out", store.parent / "a.json")

    assert result.exit_code == EXIT_REFUSED
    assert one_line(result.stderr) == (
        "closure-readiness: stopped by an unexpected error (RuntimeError): something nobody "
        "expected\n"
    )
