"""Every `closure-readiness` command, in-process (click's CliRunner) and end to end (the installed
console script as a real process), and the rules the command line shares with the library."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.harness import free_port

from cli_support import invoke
from closure_readiness.cli import GENERATED_DOCS, main
from closure_readiness.core.review import AsOfRefused, Review, refuse_as_of
from closure_readiness.core.workflow import STAFF_ROLES, Role
from closure_readiness.service import staff
from closure_readiness.service.context import SYSTEM, Context, InvalidInput
from closure_readiness.settings import SettingsProblem, load_settings, missing_sign_in
from closure_readiness.storage.database import backup as backup_store
from workflow_fixtures import Team, prepare_ready, submit

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = ROOT / ".venv" / "bin" / "closure-readiness"
READY = ROOT / "examples" / "ready-three-agencies-sustained-change.json"
ISSUER = "https://login.example.invalid/tenant/v2.0"
COMMANDS = [
    "check",
    "schema",
    "docs",
    "migrate",
    "verify",
    "anchor",
    "backup",
    "staff",
    "demo",
    "run",
    "export",
    "withdraw",
]
STAFF_ACTIONS = ["add", "list", "disable", "enable", "set"]
ONE_MEMBER = ["add", "AU-001", "--issuer", ISSUER, "--subject", "sub-au-001"]
ONE_MEMBER += ["--name", "Auditor one", "--role", "auditor"]
SIGN_IN = (
    "[auth]\n"
    'redirect_uri = "http://127.0.0.1:1/oauth2callback"\n'
    'cookie_secret = "a-cookie-secret-for-tests-only-0123456789"\n'
    'client_id = "closure-readiness-test"\n'
    'client_secret = "not-a-real-secret"\n'
    'server_metadata_url = "http://127.0.0.1:1/.well-known/openid-configuration"\n'
)


pytestmark = pytest.mark.usefixtures("clean_cli_settings")


def installed(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """The console script `closure-readiness`, as an operator runs it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLOSURE_")}
    result = subprocess.run(
        [str(INSTALLED), *map(str, args)],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def _staff_ids(db: Path) -> dict[str, tuple[str, str, str]]:
    result = invoke("staff", "--db", db, "list")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


# Help: every command is there and documented. -----------------------------------------------


def test_the_help_lists_every_command_with_a_sentence_each() -> None:
    result = invoke("--help")

    assert result.exit_code == 0
    listed = result.stdout.split("Commands:", 1)[1]
    for command in COMMANDS:
        line = next(line for line in listed.splitlines() if line.split()[:1] == [command])
        assert not line.rstrip().endswith("..."), line  # a whole short sentence
    assert "2 bad input" in " ".join(result.stdout.split())


@pytest.mark.parametrize("command", [*COMMANDS, *(f"staff {a}" for a in STAFF_ACTIONS)])
def test_every_command_has_help_and_every_option_a_description(command: str) -> None:
    result = invoke(*command.split(), "--help")

    assert result.exit_code == 0, result.output
    options = result.stdout.split("Options:", 1)[1].split("Commands:", 1)[0]
    entries = [line for line in options.splitlines() if line.startswith("  -")]
    assert entries
    for entry in entries:
        assert len(entry.split("  ")) > 2 or entry.strip().endswith("]"), entry


def test_the_installed_command_runs_and_an_unknown_command_is_bad_input() -> None:
    assert installed("--help").returncode == 0
    result = installed("chekc", "x.json")

    assert result.returncode == 2
    assert "No such command 'chekc'" in result.stderr


def test_main_returns_the_exit_code_for_in_process_callers(tmp_path: Path) -> None:
    assert main(["check", str(READY)]) == 0
    assert main(["check", str(tmp_path / "missing.json")]) == 2
    assert main(["check"]) == 2  # a missing argument: click's own usage message


# check, schema, docs -----------------------------------------------------------------------


def test_check_exits_0_when_ready_and_2_for_an_as_of_the_library_refuses() -> None:
    assert invoke("check", READY).exit_code == 0

    latest = invoke("check", READY, "--as-of", "2199-12-31")
    later = invoke("check", READY, "--as-of", "2200-01-01")

    assert latest.exit_code in (0, 1), latest.output  # judged (blocked or not), not refused
    assert later.exit_code == 2
    assert "'2200-01-01' is not a date" not in later.stderr
    assert "The as-of date 2200-01-01 is not a plausible date (1900 to 2199)." in later.stderr


def test_check_says_a_blocked_review_exits_1(tmp_path: Path) -> None:
    document = json.loads(READY.read_text(encoding="utf-8"))
    document["answers"]["change"]["cited"] = []
    path = tmp_path / "blocked.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    result = invoke("check", path, "--format", "json")

    assert result.exit_code == 1
    assert json.loads(result.stdout)["sign_off_possible"] is False


def test_the_as_of_rules_live_in_the_library(ready_review: Review) -> None:
    opened = ready_review.case.opened_on

    refuse_as_of(ready_review, ready_review.case.proposed_closure_on)  # no refusal
    with pytest.raises(AsOfRefused, match="before the case was opened"):
        refuse_as_of(ready_review, opened.replace(year=opened.year - 1))
    with pytest.raises(AsOfRefused, match="dated after the as-of date"):
        refuse_as_of(ready_review, opened)


def test_schema_prints_the_json_schema() -> None:
    result = invoke("schema")

    assert result.exit_code == 0
    assert "case" in json.loads(result.stdout)["properties"]


def test_docs_writes_every_generated_page_and_check_finds_it_current(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "checks.md"
    out.parent.mkdir()

    written = invoke("docs", "--out", out)
    checked = invoke("docs", "--check", "--out", out)

    assert written.exit_code == 0, written.output
    assert checked.exit_code == 0, checked.output
    assert out.read_text(encoding="utf-8") == GENERATED_DOCS[0].text()
    for doc in GENERATED_DOCS[1:]:
        assert (out.parent / doc.name).read_text(encoding="utf-8") == doc.text()
    out.write_text("stale\n", encoding="utf-8")
    stale = invoke("docs", "--check", "--out", out)
    assert stale.exit_code == 1
    assert f"{out} is out of date" in stale.stderr


# migrate, verify, anchor, backup ------------------------------------------------------------


def test_migrate_verify_anchor_and_backup_in_process(tmp_path: Path) -> None:
    db, anchor, copy = tmp_path / "c.db", tmp_path / "anchor.json", tmp_path / "copy.db"

    assert invoke("verify", "--db", db).exit_code == 2  # not created by a typo
    assert not db.exists()
    assert invoke("migrate", "--db", db).stdout == f"{db}: schema up to date.\n"
    assert invoke("staff", "--db", db, *ONE_MEMBER).exit_code == 0  # an event to anchor
    assert invoke("anchor", "--db", db, "--out", anchor).exit_code == 0
    verified = invoke("verify", "--db", db, "--anchor", anchor)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.rstrip().endswith("anchor checked: intact.")
    assert invoke("backup", "--db", db, "--out", copy).exit_code == 0
    again = invoke("backup", "--db", db, "--out", copy)
    assert again.exit_code == 2
    assert again.stderr == (
        f"closure-readiness: {copy} already exists; choose a new file for the backup.\n"
    )


def test_the_database_defaults_to_the_closure_db_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "from-setting.db"
    monkeypatch.setenv("CLOSURE_DB", str(db))

    assert invoke("migrate").exit_code == 0
    assert db.exists()


def test_an_invalid_setting_is_named_in_plain_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSURE_IDLE_TIMEOUT_MINUTES", "forever")

    result = invoke("migrate")

    assert result.exit_code == 2
    assert result.stderr.startswith("closure-readiness: The settings are not valid: ")
    assert "CLOSURE_IDLE_TIMEOUT_MINUTES" in result.stderr
    with pytest.raises(SettingsProblem, match="CLOSURE_IDLE_TIMEOUT_MINUTES"):
        load_settings()


def test_backup_never_writes_over_an_existing_file(tmp_path: Path) -> None:
    db, earlier = tmp_path / "c.db", tmp_path / "earlier-backup.db"
    assert invoke("migrate", "--db", db).exit_code == 0
    earlier.write_bytes(b"an earlier backup")

    with pytest.raises(FileExistsError):
        backup_store(db, earlier)
    assert earlier.read_bytes() == b"an earlier backup"


def test_migrate_verify_anchor_and_backup_end_to_end(tmp_path: Path) -> None:
    db, anchor = tmp_path / "c.db", tmp_path / "anchor.json"

    assert installed("migrate", "--db", db).returncode == 0
    assert installed("staff", "--db", db, *ONE_MEMBER).returncode == 0  # an event to anchor
    assert installed("anchor", "--db", db, "--out", anchor).returncode == 0
    verified = installed("verify", "--db", db, "--anchor", anchor)
    backed_up = installed("backup", "--db", db, "--out", tmp_path / "copy.db")

    assert verified.returncode == 0, verified.stderr
    assert backed_up.returncode == 0, backed_up.stderr
    assert (tmp_path / "copy.db").exists()


# staff ------------------------------------------------------------------------------------


def test_staff_add_list_disable_enable_and_set_in_process(tmp_path: Path) -> None:
    db = tmp_path / "staff.db"
    added = invoke(
        *("staff", "--db", db, "add", "SW-014", "--issuer", ISSUER, "--subject", "sub-014"),
        *("--name", "Caseworker fourteen", "--role", "caseworker", "--team", "North"),
    )
    assert added.stdout == "Added SW-014 (caseworker, North).\n"
    assert _staff_ids(db) == {"SW-014": ("caseworker", "North", "active")}

    assert invoke("staff", "--db", db, "disable", "SW-014").exit_code == 0
    assert _staff_ids(db)["SW-014"] == ("caseworker", "North", "disabled")
    assert invoke("staff", "--db", db, "enable", "SW-014").exit_code == 0
    changed = invoke("staff", "--db", db, "set", "SW-014", "--role", "auditor", "--team", "")
    assert changed.stdout == "SW-014: auditor, no team, active.\n"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (["disable", "SW-999"], "No member of staff has the id SW-999."),
        (["set", "SW-014", "--role", "team_manager", "--team", " "], "need a team"),
        (
            ["add", "SW 1", "--issuer", "i", "--subject", "s", "--name", "n", "--role", "auditor"],
            "Staff ids are 1 to 24 letters",
        ),
    ],
    ids=["unknown", "manager-without-team", "bad-id"],
)
def test_staff_refusals_from_the_service_are_bad_input(
    tmp_path: Path, action: list[str], message: str
) -> None:
    db = tmp_path / "staff.db"
    invoke(
        *("staff", "--db", db, "add", "SW-014", "--issuer", ISSUER, "--subject", "sub-014"),
        *("--name", "Caseworker fourteen", "--role", "caseworker", "--team", "North"),
    )

    result = invoke("staff", "--db", db, *action)

    assert result.exit_code == 2
    assert result.stderr.startswith("closure-readiness: ")
    assert message in result.stderr


def test_an_admin_role_is_not_offered_and_the_service_refuses_it(tmp_path: Path) -> None:
    result = invoke(
        *("staff", "--db", tmp_path / "s.db", "add", "AD-1", "--issuer", ISSUER),
        *("--subject", "s", "--name", "n", "--role", "admin"),
    )

    assert result.exit_code == 2
    assert Role.ADMIN not in STAFF_ROLES
    with pytest.raises(InvalidInput, match="Role must be one of: caseworker, team_manager"):
        staff.add_staff(
            Context(tmp_path / "s.db"),
            SYSTEM,
            staff_id="AD-1",
            issuer=ISSUER,
            subject="s",
            display_name="n",
            role=Role.ADMIN,
        )


def test_staff_every_action_end_to_end(tmp_path: Path) -> None:
    db = str(tmp_path / "staff.db")
    add = installed(
        *("staff", "--db", db, "add", "SW-015", "--issuer", ISSUER, "--subject", "sub-015"),
        *("--name", "Caseworker fifteen", "--role", "caseworker", "--team", "North"),
    )
    disable = installed("staff", "--db", db, "disable", "SW-015")
    enable = installed("staff", "--db", db, "enable", "SW-015")
    change = installed(
        "staff", "--db", db, "set", "SW-015", "--role", "team_manager", "--team", "South"
    )
    listed = installed("staff", "--db", db, "list")
    wrong_role = installed("staff", "--db", db, "set", "SW-015", "--role", "boss", "--team", "X")

    assert [r.returncode for r in (add, disable, enable, change, listed)] == [0] * 5
    assert disable.stdout == "SW-015: caseworker, North, disabled.\n"
    assert enable.stdout == "SW-015: caseworker, North, active.\n"
    assert listed.stdout.split("\t")[:4] == ["SW-015", "team_manager", "South", "active"]
    assert wrong_role.returncode == 2
    assert "'boss' is not one of 'caseworker', 'team_manager', 'auditor'" in wrong_role.stderr


# export and withdraw ----------------------------------------------------------------------


def test_export_csv_json_and_one_record_as_pdf(ctx: Context, team: Team, tmp_path: Path) -> None:
    _, decision_id = submit(ctx, team.worker)
    db, pdf = ctx.db_path, tmp_path / "record.pdf"

    as_csv = invoke("export", "--db", db, "--status", "submitted", "--has-exceptions", "no")
    as_json = invoke("export", "--db", db, "--format", "json", "--team", "South")
    record = invoke("export", "--db", db, "--decision", decision_id, "--pdf", pdf)
    no_pdf = invoke("export", "--db", db, "--decision", decision_id)
    bad_answer = invoke("export", "--db", db, "--has-exceptions", "maybe")

    assert as_csv.exit_code == 0, as_csv.output
    assert len(list(csv.DictReader(io.StringIO(as_csv.stdout)))) == 1
    assert as_json.exit_code == 0, as_json.output
    assert record.exit_code == 0, record.output
    assert pdf.read_bytes().startswith(b"%PDF")
    assert no_pdf.exit_code == 2
    assert "--decision needs --pdf FILE" in no_pdf.stderr
    assert bad_answer.exit_code == 2
    assert "'maybe': answer yes or no" in bad_answer.stderr


def test_export_end_to_end(ctx: Context, team: Team, tmp_path: Path) -> None:
    submit(ctx, team.worker)
    out = tmp_path / "decisions.csv"

    result = installed("export", "--db", ctx.db_path, "--out", out, "--signed-from", "2000-01-01")
    bad_date = installed("export", "--db", ctx.db_path, "--signed-to", "31/12/2025")

    assert result.returncode == 0, result.stderr
    assert result.stderr == f"Wrote {out}.\n"
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 1
    assert bad_date.returncode == 2
    assert "'31/12/2025' is not a date; write it as YYYY-MM-DD" in bad_date.stderr


def test_withdraw_in_process_and_end_to_end(ctx: Context, team: Team) -> None:
    first = prepare_ready(ctx, team.worker, "CR-2025-0412")
    second = prepare_ready(ctx, team.worker, "CR-2025-0413")
    common = ["--db", str(ctx.db_path), "--by", "SW-N1", "--reason", "The family moved away."]

    here = invoke("withdraw", "--review", first, *common)
    there = installed("withdraw", "--review", second, *common)
    again = installed("withdraw", "--review", second, *common)

    assert here.exit_code == 0, here.output
    assert there.returncode == 0, there.stderr
    assert there.stdout.startswith(f"Withdrew review {second} (case ")
    assert again.returncode == 1
    assert again.stderr.startswith("closure-readiness: Not withdrawn. ")


# demo and run -----------------------------------------------------------------------------


def test_demo_seed_only_seeds_a_new_database_once(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "demo.db"
    db.parent.mkdir()

    first = invoke("demo", "--db", db, "--seed-only")
    second = installed("demo", "--db", db, "--seed-only")

    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f"Seeded {db} with demo staff and ")
    assert second.returncode == 2
    assert second.stderr == (
        f"closure-readiness: {db} already exists; the demo seeds only a new database.\n"
    )


def test_run_without_sign_in_settings_names_each_missing_one(tmp_path: Path) -> None:
    result = invoke("run", "--port", free_port())

    assert result.exit_code == 2
    assert "Sign-in is not set up" in result.stderr
    for key in ("redirect_uri", "cookie_secret", "client_id", "client_secret"):
        assert f"[auth] {key}" in result.stderr
    home = tmp_path / "home" / ".streamlit"
    home.mkdir(parents=True)
    (home / "secrets.toml").write_text(SIGN_IN.replace("client_secret", "# "), encoding="utf-8")
    assert missing_sign_in(tmp_path) == ["[auth] client_secret"]


@pytest.mark.parametrize("processes", ["0", "17", "two"])
def test_run_refuses_a_number_of_processes_it_cannot_start(processes: str) -> None:
    result = invoke("run", "--port", free_port(), "--processes", processes)

    assert result.exit_code == 2
    assert "--processes" in result.stderr
    assert "Traceback" not in result.output


def test_run_with_several_processes_refuses_a_busy_port_before_starting_any(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or none: a second port already in use stops the start before the first server."""
    home = tmp_path / "home" / ".streamlit"
    home.mkdir(parents=True)
    (home / "secrets.toml").write_text(SIGN_IN, encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        second = int(busy.getsockname()[1])
        result = invoke("run", "--port", str(second - 1), "--processes", "2")

    assert result.exit_code == 2, result.output
    assert "on 127.0.0.1 is in use" in result.stderr  # port `second` (or, rarely, the one before)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as got:
            return bool(got.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _running(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=log.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of what this test started
        process.wait(timeout=10)


def test_run_end_to_end_serves_the_app_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text(SIGN_IN, encoding="utf-8")
    db = tmp_path / "closure.db"
    assert installed("migrate", "--db", db).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSURE_")}
    env.update(HOME=str(home), CLOSURE_DB=str(db), CLOSURE_ENVIRONMENT="test")
    port = free_port()
    log = tmp_path / "run.log"

    with _running([str(INSTALLED), "run", "--port", str(port)], env, log) as process:
        deadline = time.monotonic() + 90
        while not _healthy(port):
            assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "the app did not answer its health check"
            time.sleep(0.2)  # polling interval while it starts
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        printed = log.read_text(encoding="utf-8", errors="replace")

    assert code == 0, printed
    assert "Traceback" not in printed
    assert not _healthy(port)


def test_the_demo_refuses_a_database_made_for_another_provider_and_stops_the_app(
    tmp_path: Path,
) -> None:
    """The app starts while the reused database is checked (decision #62): a refusal stops it
    again, so nothing is left listening."""
    db = tmp_path / "demo" / "closure-readiness-demo.db"
    made = installed("demo", "--db", db, "--seed-only", "--issuer", "http://127.0.0.1:9")
    assert made.returncode == 0, made.stderr
    port, provider = free_port(), free_port()

    refused = installed("demo", "--db", db, "--port", port, "--provider-port", provider)

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "was made for sign-in at http://127.0.0.1:9" in refused.stderr
    assert "Traceback" not in refused.stderr
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", int(port)))  # free again: the app was stopped
