"""The real server killed with SIGKILL while a caseworker signs off, then restarted.

The test starts a demo of its own (`closure-readiness demo` on free ports, its own seeded
database), so the session's shared demo is never disturbed. Each round, a caseworker signed in
through the local provider in Chromium saves a change to a draft, then clicks "Sign off" on a
ready review; the whole process group (the launcher, its sign-in provider and Streamlit) is
killed with SIGKILL at a random moment up to KILL_WINDOW_S after the click. Without the server,
the database must be whole and verify as intact, the clicked review either signed off with
exactly one decision sealing its content or still a draft with none, and the draft must hold
the change. The same command then starts the server again on the same database; signed in
again, the worker sees the change, and the review signed off, or still open and signable.

SERVER_CRASH_ROUNDS raises the number of rounds (default 3); SERVER_CRASH_SEED changes the kill
moments. One sign-off is first made with nothing killed, to time how long after the click it
commits on this machine; the rounds' moments are then drawn in turn just before, around and
after that time (within the window), so even three rounds land both before and after the commit.
Where each kill landed is read from the database, not assumed from the timing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bench.harness import free_port
from playwright.sync_api import expect

from closure_readiness.core.review import Review
from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.demo.seed import seed, shifted
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_EXAMPLE = REPO_ROOT / "examples" / "ready-three-agencies-sustained-change.json"
ROUNDS = int(os.environ.get("SERVER_CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("SERVER_CRASH_SEED", "20261130"))
KILL_WINDOW_S = 0.5
"""The kill comes at a random moment up to this long after the click on "Sign off"."""
START_DEADLINE_S = 90.0
GONE_DEADLINE_S = 15.0
VIEWPORT = {"width": 1400, "height": 1000}
PATIENCE_MS = 30_000
"""How long the browser may take to show an outcome (the machine is shared and often busy)."""
SIGN_OFF = "Sign off and send to my manager"
ATTEST = "I confirm the statement above"
WAITING = "Signed off, waiting for countersignature"
LEAD = "Lead professional (role)"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200 and response.read().strip() == b"ok")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is still running (a zombie no longer runs)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


@dataclass
class Server:
    """`closure-readiness demo` on fixed ports and one database, started and killed by hand."""

    db: Path
    app_port: int
    provider_port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def provider_url(self) -> str:
        return f"http://127.0.0.1:{self.provider_port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "closure_readiness.cli",
            "demo",
            "--db",
            str(self.db),
            "--port",
            str(self.app_port),
            "--provider-port",
            str(self.provider_port),
        ]

    def start(self) -> None:
        """The same command every time: on a database that exists, the demo only reuses it."""
        environment = dict(os.environ)
        environment.update({"CLOSURE_ENVIRONMENT": "test", "PYTHONUNBUFFERED": "1"})
        environment.pop("CLOSURE_DB", None)
        self.starts += 1
        with self.log.open("ab") as output:
            output.write(f"--- start {self.starts}\n".encode())
            output.flush()
            self.process = subprocess.Popen(
                self.command(),
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_DEADLINE_S
        while not _healthy(self.url):
            if self.process.poll() is not None:
                pytest.fail(f"The demo exited with {self.process.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"No answer within {START_DEADLINE_S:g} s:\n{self.tail()}")
            time.sleep(0.2)  # polling interval, not a wait for an outcome

    def kill(self) -> None:
        """SIGKILL to the whole group (launcher, provider thread, Streamlit), then wait until
        none of it runs."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=GONE_DEADLINE_S) == -signal.SIGKILL
        deadline = time.monotonic() + GONE_DEADLINE_S
        while _group_alive(self.process.pid):
            assert time.monotonic() < deadline, "a killed server process is still running"
            time.sleep(0.05)  # polling interval
        self.process = None

    def stop(self) -> None:
        """Ctrl+C, as a person would stop it; then make sure of the group."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def _ready_document(reference: str) -> dict[str, Any]:
    """The ready example, closing in 14 days, under `reference`."""
    document = json.loads(READY_EXAMPLE.read_text(encoding="utf-8"))
    closure = dt.date.fromisoformat(document["case"]["proposed_closure_on"])
    target = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)
    document = shifted(document, (target - closure).days)
    document["case"]["case_reference"] = reference
    return document


def _prepare(db: Path, issuer: str, rounds: int) -> tuple[list[int], list[int]]:
    """A seeded demo database, with ready reviews (one per round and one to time a sign-off)
    and unfinished drafts (one per round), made through the service for the demo caseworker."""
    seed(db, issuer=issuer, today=dt.datetime.now(dt.UTC).date())
    ctx = Context(db)
    worker = staff.identify(ctx, issuer=issuer, subject="caseworker")
    ready, drafts = [], []
    for number in range(rounds + 1):
        review = Review.model_validate(_ready_document(f"CR-KILL-{number:03d}"))
        review_id = reviews.start_review(ctx, worker, review.case)
        record = reviews.get_review(ctx, worker, review_id)
        reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
        assert reviews.get_review(ctx, worker, review_id).report.sign_off_possible
        ready.append(review_id)
    for number in range(rounds):
        draft = Review.model_validate(_ready_document(f"CR-KILL-D{number:03d}"))
        drafts.append(reviews.start_review(ctx, worker, draft.case))
    return ready, drafts


def _raw_checks(db: Path, review_id: int, draft_id: int) -> dict[str, Any]:
    """What the database holds for the clicked review and the edited draft, read without the
    app's code, plus the checks of a whole database (as tests/test_store_crash.py reads it)."""
    conn = sqlite3.connect(db)
    try:
        status, content = conn.execute(
            "SELECT status, content FROM reviews WHERE id = ?", (review_id,)
        ).fetchone()
        return {
            "integrity": conn.execute("PRAGMA integrity_check").fetchall(),
            "foreign_keys": conn.execute("PRAGMA foreign_key_check").fetchall(),
            "status": status,
            "content": json.loads(content),
            "decisions": [
                json.loads(sealed)
                for (sealed,) in conn.execute(
                    "SELECT sealed FROM decisions WHERE review_id = ?", (review_id,)
                )
            ],
            "sign_off_events": conn.execute(
                "SELECT count(*) FROM audit_events a JOIN decisions d ON d.id = a.decision_id "
                "WHERE d.review_id = ? AND a.action = 'signed_off'",
                (review_id,),
            ).fetchone()[0],
            "half_states": conn.execute(
                "SELECT 'submitted without decision', r.id FROM reviews r "
                "WHERE r.status = 'submitted' AND NOT EXISTS "
                "(SELECT 1 FROM decisions d WHERE d.review_id = r.id) "
                "UNION ALL SELECT 'decision of unsubmitted review', d.id FROM decisions d "
                "JOIN reviews r ON r.id = d.review_id WHERE r.status = 'draft' "
                "UNION ALL SELECT 'decision without event', d.id FROM decisions d "
                "WHERE NOT EXISTS (SELECT 1 FROM audit_events a "
                "WHERE a.decision_id = d.id AND a.action = 'signed_off') "
                "UNION ALL SELECT 'event without decision', a.seq FROM audit_events a "
                "WHERE a.action = 'signed_off' AND NOT EXISTS "
                "(SELECT 1 FROM decisions d WHERE d.id = a.decision_id)"
            ).fetchall(),
            "draft": json.loads(
                conn.execute("SELECT content FROM reviews WHERE id = ?", (draft_id,)).fetchone()[0]
            ),
            "draft_status": conn.execute(
                "SELECT status FROM reviews WHERE id = ?", (draft_id,)
            ).fetchone()[0],
        }
    finally:
        conn.close()


def _verify(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "closure_readiness.cli", "verify", "--db", str(db)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def check_after_kill(db: Path, review_id: int, draft_id: int, lead: str) -> str:
    """The database as the kill left it: whole, intact, no half sign-off, the draft's saved
    change kept. Returns where the kill landed: 'after commit' or 'before commit'."""
    checks = _raw_checks(db, review_id, draft_id)
    assert checks["integrity"] == [("ok",)]
    assert checks["foreign_keys"] == []
    assert checks["half_states"] == []
    if checks["status"] == ReviewStatus.SUBMITTED:
        assert len(checks["decisions"]) == 1, "a signed-off review has exactly one decision"
        assert checks["decisions"][0]["review"] == checks["content"], (
            "the decision seals the review as stored"
        )
        assert checks["sign_off_events"] == 1
        landed = "after commit"
    else:
        assert checks["status"] == ReviewStatus.DRAFT, checks["status"]
        assert checks["decisions"] == []
        assert checks["sign_off_events"] == 0
        landed = "before commit"
    assert checks["draft_status"] == ReviewStatus.DRAFT
    assert checks["draft"]["answers"]["exit"]["lead_role"] == lead, "the saved change was lost"
    result = _verify(db)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert ": intact." in result.stdout
    return landed


@contextlib.contextmanager
def signed_in(
    browser: Any, server: Server, sign_in_to: Callable[[Any, Any, str], None]
) -> Iterator[Any]:
    """A fresh browser profile, signed in as the demo caseworker through the real sign-in."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(PATIENCE_MS)
    try:
        page = context.new_page()
        sign_in_to(page, server, "caseworker")
        yield page
    finally:
        context.close()


def _lead_role(db: Path, review_id: int) -> str:
    """The draft's "Lead professional (role)" answer as stored."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT content FROM reviews WHERE id = ?", (review_id,)).fetchone()
        return str(json.loads(row[0])["answers"]["exit"]["lead_role"])
    finally:
        conn.close()


def _kill_moments(rng: random.Random, rounds: int, commit_s: float) -> list[float]:
    """One moment per round in the window, drawn in turn just before, around and after the
    time an uninterrupted sign-off took to commit (`commit_s`), in a shuffled order."""
    typical = min(commit_s, KILL_WINDOW_S / 2)
    # The first band is narrow: on a busy machine the same sign-off commits sooner or later.
    bands = [(0.0, 0.35 * typical), (0.35 * typical, 1.2 * typical), (1.2 * typical, KILL_WINDOW_S)]
    moments = [rng.uniform(*bands[index % len(bands)]) for index in range(rounds)]
    rng.shuffle(moments)
    return moments


def _status(db: Path, review_id: int) -> str:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT status FROM reviews WHERE id = ?", (review_id,)).fetchone()
        return str(row[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_the_server_killed_during_a_sign_off_loses_nothing_and_restarts(
    tmp_path: Path,
    browser: Any,
    settle: Callable[[Any], None],
    sign_in_to: Callable[[Any, Any, str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.perf_counter()
    server = Server(
        db=tmp_path / "closure-readiness-demo.db",
        app_port=free_port(),
        provider_port=free_port(),
        log=tmp_path / "demo.log",
    )
    (calibration, *ready), drafts = _prepare(server.db, server.provider_url, ROUNDS)
    rng = random.Random(SEED)
    landed: list[str] = []
    commit_ms: list[float] = []

    def opened(page: Any, review_id: int, step: str) -> None:
        page.goto(f"{server.url}/review?review={review_id}&step={step}")
        settle(page)

    def attest_and_click(page: Any, review_id: int) -> float:
        """Tick the attestation and click "Sign off"; returns when the click was made."""
        opened(page, review_id, "sign_off")
        page.get_by_text(ATTEST).click()
        settle(page)
        button = page.get_by_role("button", name=SIGN_OFF)
        expect(button).to_be_enabled(timeout=PATIENCE_MS)
        button.click()
        return time.monotonic()

    def signed_off_uninterrupted(page: Any, review_id: int) -> None:
        """Sign off with the server running; time the commit; see the confirmation."""
        clicked = attest_and_click(page, review_id)
        while _status(server.db, review_id) != ReviewStatus.SUBMITTED:
            assert time.monotonic() - clicked < START_DEADLINE_S, "the sign-off never committed"
            time.sleep(0.005)  # polling interval, to time the commit
        commit_ms.append((time.monotonic() - clicked) * 1000)
        expect(page.get_by_text(re.compile(r"^Signed off\. Your team manager"))).to_be_visible(
            timeout=PATIENCE_MS
        )
        expect(page.get_by_text(WAITING).first).to_be_visible(timeout=PATIENCE_MS)

    try:
        server.start()
        with signed_in(browser, server, sign_in_to) as page:
            signed_off_uninterrupted(page, calibration)
        moments = _kill_moments(rng, ROUNDS, commit_ms[0] / 1000)
        for number, (review_id, draft_id, moment) in enumerate(
            zip(ready, drafts, moments, strict=True)
        ):
            where = f"round {number} (kill {moment * 1000:.0f} ms after the click)"
            lead = f"School designated safeguarding lead, round {number}"
            with signed_in(browser, server, sign_in_to) as page:
                # (a) A change to a draft, saved as it is made; the app is idle again after.
                opened(page, draft_id, "exit")
                box = page.get_by_role("textbox", name=LEAD, exact=True)
                box.fill(lead)
                box.press("Enter")
                saved_by = time.monotonic() + PATIENCE_MS / 1000
                while _lead_role(server.db, draft_id) != lead:
                    assert time.monotonic() < saved_by, f"{where}: the change was never saved"
                    time.sleep(0.05)  # polling interval, until the save is in the database
                settle(page)
                # (b) Sign off a ready review, and kill the server while it works.
                clicked = attest_and_click(page, review_id)
                time.sleep(max(0.0, clicked + moment - time.monotonic()))  # the kill moment
                server.kill()
            try:
                landed.append(check_after_kill(server.db, review_id, draft_id, lead))
            except AssertionError as error:
                raise AssertionError(f"{where}: {error}") from error

            # The same command again, on the same database.
            server.start()
            with signed_in(browser, server, sign_in_to) as page:
                opened(page, draft_id, "exit")
                expect(page.get_by_role("textbox", name=LEAD, exact=True)).to_have_value(
                    lead, timeout=PATIENCE_MS
                )
                opened(page, review_id, "tasks")
                if landed[-1] == "after commit":
                    expect(page.get_by_text(WAITING).first).to_be_visible(timeout=PATIENCE_MS)
                    opened(page, review_id, "sign_off")
                    expect(page.get_by_role("button", name=SIGN_OFF)).to_have_count(
                        0, timeout=PATIENCE_MS
                    )
                else:
                    expect(page.get_by_text(WAITING)).to_have_count(0, timeout=PATIENCE_MS)
                    signed_off_uninterrupted(page, review_id)
            checks = _raw_checks(server.db, review_id, draft_id)
            assert checks["status"] == ReviewStatus.SUBMITTED, where
            assert len(checks["decisions"]) == 1, where
            assert checks["decisions"][0]["review"] == checks["content"], where
            assert checks["half_states"] == [], where
    finally:
        server.stop()
    result = _verify(server.db)
    assert result.returncode == 0, result.stdout
    with capsys.disabled():
        rounds = ", ".join(
            f"{moment * 1000:.0f} ms: {where}"
            for moment, where in zip(moments, landed, strict=True)
        )
        print(
            f"\n{ROUNDS} server kill -9 rounds (seed {SEED}) in "
            f"{time.perf_counter() - started:.1f} s, {server.starts} starts: {rounds}; "
            f"sign-offs not killed committed {[round(ms) for ms in commit_ms]} ms after the "
            f"click (the first set the kill bands); {result.stdout.strip()}"
        )
