"""A backup taken while the app is busy restores and verifies (issue 11, item 15).

Two writer processes prepare and sign off reviews in a loop on one real SQLite file, each
printing a decision id once `sign_off` has returned (test_store_crash's writer), and a reader
reads the decisions meanwhile. While they write, the nightly routine of docs/operations.md runs
a few times: a signed anchor, then the installed `closure-readiness backup`. Each copy is then
restored exactly as section 6 of that document says, and checked: `verify` against the anchor
written before it says intact, SQLite's own checks pass, every sign-off acknowledged before the
backup started is in it, nothing is half-written, and the restored store takes a new sign-off
and still verifies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from closure_readiness import cli
from closure_readiness.core.review import Review
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import SYSTEM, Context, Principal, Role
from closure_readiness.storage.database import reading
from test_store_crash import READY, TEAM, WORKER, _Lines, _raw_checks, _start_writer

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = ROOT / ".venv" / "bin" / "closure-readiness"
WRITERS = 2
BACKUPS = 3
ACKS_BETWEEN_BACKUPS = 3
"""Sign-offs each writer acknowledges before the first backup and between backups."""
DEADLINE_S = 300.0

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_cli_settings")]


def installed(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The console script as the operator's timer runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSURE_")}
    return subprocess.run(
        [str(INSTALLED), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def restore(backup: Path, live: Path, server: Path, day: str) -> Path:
    """Section 6's restore, command for command: the damaged database (here the live one as
    the killed writers left it, with its -wal and -shm) moved aside, the copy installed in its
    place. Only what a test cannot do is left out: stopping the services (none runs here) and
    the `closure` owner (the test's user owns the files)."""
    data = server / "data"
    data.mkdir(parents=True)
    for part in live.parent.glob(live.name + "*"):
        shutil.copy(part, data / part.name.replace(live.name, "closure-readiness.db"))
    script = (
        f"mkdir {server}/damaged-{day}\n"
        f"mv {data}/closure-readiness.db* {server}/damaged-{day}/\n"
        f"install -m 600 {backup} {data}/closure-readiness.db\n"
    )
    subprocess.run(["sh", "-e", "-c", script], check=True, capture_output=True, timeout=60)
    assert sorted(p.name for p in data.iterdir()) == ["closure-readiness.db"]
    return data / "closure-readiness.db"


def sign_off_one(path: Path, reference: str) -> int:
    """A new review signed off through the service, as the app does it."""
    worker = Principal(WORKER, "Synthetic caseworker", Role.CASEWORKER, TEAM)
    ctx = Context(path)
    document = json.loads(READY.read_text(encoding="utf-8"))
    document["case"]["case_reference"] = reference
    review = Review.model_validate(document)
    review_id = reviews.start_review(ctx, worker, review.case)
    reviews.save_review(ctx, worker, review_id, review, expected_version=1)
    seen = reviews.get_review(ctx, worker, review_id).content_hash
    return reviews.sign_off(ctx, worker, review_id, seen_hash=seen, attested=True)


def assert_verified(path: Path, anchor: Path, key: Path) -> None:
    """`closure-readiness verify` as section 6 runs it after a restore: against the newest
    anchor written before the backup, with the key."""
    result = installed("verify", "--db", path, "--anchor", anchor, "--key-file", key)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert ": intact." in result.stdout


def assert_still_verified(
    path: Path, anchor: Path, key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same command, run in this process (a second console script start is slow here)."""
    capsys.readouterr()
    code = cli.main(["verify", "--db", str(path), "--anchor", str(anchor), "--key-file", str(key)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert ": intact." in out


class _Reader(threading.Thread):
    """Reads the decisions over and over while the writers write (a manager's list)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stop, self.reads, self.error = path, threading.Event(), 0, ""

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                with reading(self.path) as db:
                    db.conn.execute("SELECT count(*) FROM decisions").fetchone()
                self.reads += 1
                time.sleep(0.05)
        except Exception as error:  # reported by the test
            self.error = repr(error)


def test_a_backup_taken_under_load_restores_and_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.perf_counter()
    path = tmp_path / "live" / "closure-readiness.db"
    path.parent.mkdir()
    ctx = Context(path, clock=lambda: dt.datetime(2025, 5, 29, 9, tzinfo=dt.UTC))
    staff.add_staff(
        ctx,
        SYSTEM,
        staff_id=WORKER,
        issuer="http://127.0.0.1:9400",
        subject="backup-writer",
        display_name="Synthetic caseworker",
        role=Role.CASEWORKER,
        team=TEAM,
    )
    key = tmp_path / "anchor.key"
    key.write_bytes(os.urandom(48))
    key.chmod(0o600)
    deadline = time.monotonic() + DEADLINE_S

    def acknowledged(readers: list[_Lines]) -> set[int]:
        return {int(line) for reader in readers for line in reader.lines}

    def read_until(readers: list[_Lines], each: int) -> None:
        """Read the writers' output until each has acknowledged `each` sign-offs."""
        for reader in readers:
            while len(reader.lines) < each:
                assert not reader.closed, "a writer stopped"
                assert time.monotonic() < deadline, "the writers stopped acknowledging"
                reader.read_some(deadline)

    def read_waiting(readers: list[_Lines]) -> None:
        """Everything printed so far: each line is a sign-off acknowledged before now."""
        for reader in readers:
            reader.read_some(time.monotonic() + 0.05)

    taken: list[tuple[Path, Path, set[int]]] = []  # (backup, anchor, acknowledged before)
    with contextlib.ExitStack() as stack:
        writers = []
        for number in range(WRITERS):
            stderr = stack.enter_context((tmp_path / f"writer-{number}.err").open("wb"))
            writers.append(_start_writer(path, number, stderr))
        reader = _Reader(path)
        try:
            lines = [_Lines(writer) for writer in writers]
            reader.start()
            for number in range(BACKUPS):
                read_until(lines, ACKS_BETWEEN_BACKUPS * (number + 1))
                anchor = tmp_path / f"anchor-{number}.json"
                anchored = installed("anchor", "--db", path, "--out", anchor, "--key-file", key)
                assert anchored.returncode == 0, anchored.stderr
                read_waiting(lines)
                before = acknowledged(lines)
                backup = tmp_path / "backups" / f"closure-{number}.db"
                backup.parent.mkdir(exist_ok=True)
                result = installed("backup", "--db", path, "--out", backup)
                assert result.returncode == 0, (result.stdout, result.stderr)
                taken.append((backup, anchor, before))
            assert all(writer.poll() is None for writer in writers), "a writer stopped"
        finally:
            reader.stop.set()
            for writer in writers:
                with contextlib.suppress(ProcessLookupError):
                    writer.send_signal(signal.SIGKILL)
                writer.wait(timeout=60)
                assert writer.stdout is not None
                writer.stdout.close()
            reader.join(timeout=60)
    assert not reader.error, reader.error
    assert reader.reads > 0

    counts = []
    day = f"{dt.datetime.now(dt.UTC):%F}"
    for number, (backup, anchor, before) in enumerate(taken):
        restored = restore(backup, path, tmp_path / f"server-{number}", day)
        where = f"backup {number}"
        assert_verified(restored, anchor, key)
        checks = _raw_checks(restored)
        assert checks["integrity"] == [("ok",)], where
        assert checks["foreign_keys"] == [], where
        assert checks["decisions_without_event"] == [], where
        assert checks["submitted_without_decision"] == [], where
        assert checks["decision_of_unsubmitted_review"] == [], where
        assert checks["events_without_decision"] == [], where
        assert before <= checks["decision_ids"], (where, sorted(before - checks["decision_ids"]))
        counts.append((len(checks["decision_ids"]), len(before)))

        new = sign_off_one(restored, f"CR-RESTORED-{number:04d}")
        assert new in _raw_checks(restored)["decision_ids"], where
        assert_still_verified(restored, anchor, key, capsys)

    assert counts[-1][1] > counts[0][1]  # the writers went on between backups
    with capsys.disabled():
        summary = ", ".join(
            f"{held} decisions ({acked} acknowledged before)" for held, acked in counts
        )
        print(
            f"\n{len(taken)} backups under load ({WRITERS} writers, a reader): {summary}; "
            f"all restored, verified and signed off again, in "
            f"{time.perf_counter() - started:.1f} s"
        )
