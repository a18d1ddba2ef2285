"""Cold start: from the command to the health check answering and to a usable first page.

In the same run, alternating, each started afresh several times:

- the floor, `streamlit hello` with the same hardened settings (every one applies to any
  script), on 127.0.0.1, headless: a bare Streamlit server drawing its own first page;
- `closure-readiness run`, as an operator starts it: the console script, sign-in secrets in the
  home folder (a temporary one), a migrated temporary database;
- `closure-readiness demo` on an already seeded demo database (the launcher also starts the
  local sign-in provider).

Timed from the moment the command is started: "health" is the first 200 from
/_stcore/health; "usable" is a fresh browser context (Chromium, launched once beforehand)
loading the page until the first script run's output is visible: the "Sign in" button for the
app, the "Welcome to Streamlit" heading for the floor. Medians, and the difference to the floor
(the issue's target: within 1.5 s of `streamlit hello`). Run: `python -m bench cold_start`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import Measurement, free_port, healthy
from closure_readiness.settings import streamlit_flags

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = Path(sys.executable).with_name("closure-readiness")
"""The console script beside this Python, as an operator runs it."""
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
TARGET_MS = 1500.0
"""The issue's target: the app usable within 1.5 s of `streamlit hello`."""
DEADLINE = 120.0
"""Seconds a start may take before the benchmark gives up."""
POLL = 0.02
"""Seconds between health checks: the resolution of the health figure."""
SIGN_IN = (
    "[auth]\n"
    'redirect_uri = "http://127.0.0.1:1/oauth2callback"\n'
    'cookie_secret = "a-cookie-secret-for-the-bench-only-0123456789"\n'
    'client_id = "closure-readiness-bench"\n'
    'client_secret = "not-a-real-secret"\n'
    'server_metadata_url = "http://127.0.0.1:1/.well-known/openid-configuration"\n'
)


def _say(message: str) -> None:
    print(f"cold start bench: {message}", file=sys.stderr, flush=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl+C for the process group (the launcher stops what it started), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@dataclass
class Subject:
    name: str
    command: Callable[[int], list[str]]
    """The command line for an app port."""
    env: dict[str, str]
    ready: Callable[[Any], Any]
    """The locator (on a Playwright page) that says the first page is usable."""
    health_ms: list[float] = field(default_factory=list)
    usable_ms: list[float] = field(default_factory=list)


def _start_once(subject: Subject, browser: Any, folder: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / f"{subject.name.split()[0]}-{port}.log"
    context = browser.new_context()  # a first visitor: nothing cached
    try:
        with log.open("wb") as output:
            start = time.perf_counter()
            process = subprocess.Popen(
                subject.command(port),
                cwd=folder,
                env=subject.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            while not healthy(url):
                if process.poll() is not None or time.perf_counter() - start > DEADLINE:
                    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                    raise RuntimeError(f"{subject.name} did not start:\n{tail}")
                time.sleep(POLL)
            answered = time.perf_counter()
            page = context.new_page()
            page.goto(url, wait_until="commit")
            subject.ready(page).wait_for(state="visible", timeout=DEADLINE * 1000)
            usable = time.perf_counter()
        finally:
            _stop(process)
    finally:
        context.close()
    subject.health_ms.append((answered - start) * 1000)
    subject.usable_ms.append((usable - start) * 1000)


def _subjects(folder: Path) -> list[Subject]:
    home = folder / "home"
    (home / ".streamlit").mkdir(parents=True)
    (home / ".streamlit" / "secrets.toml").write_text(SIGN_IN, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CLOSURE_", "STREAMLIT_"))}
    base.update(HOME=str(home), PYTHONUNBUFFERED="1")
    db = folder / "closure.db"
    demo_db = folder / "demo" / "demo.db"
    provider_port = free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    subprocess.run([str(INSTALLED), "migrate", "--db", str(db)], env=base, check=True)
    subprocess.run(
        [str(INSTALLED), "demo", "--seed-only", "--db", str(demo_db), "--issuer", issuer],
        env={**base, "CLOSURE_ENVIRONMENT": "test"},
        check=True,
        capture_output=True,
    )

    def sign_in(page: Any) -> Any:
        return page.get_by_role("button", name="Sign in")

    return [
        Subject(
            "streamlit hello (floor)",
            lambda port: [
                sys.executable,
                "-m",
                "streamlit",
                "hello",
                *streamlit_flags(),
                f"--server.port={port}",
            ],
            base,
            lambda page: page.get_by_text("Welcome to Streamlit"),
        ),
        Subject(
            "closure-readiness run",
            lambda port: [str(INSTALLED), "run", "--port", str(port)],
            {**base, "CLOSURE_DB": str(db), "CLOSURE_ENVIRONMENT": "test"},
            sign_in,
        ),
        Subject(
            "closure-readiness demo",
            lambda port: [
                *(str(INSTALLED), "demo", "--db", str(demo_db), "--port", str(port)),
                *("--provider-port", str(provider_port)),
            ],
            {**base, "CLOSURE_ENVIRONMENT": "test"},
            sign_in,
        ),
    ]


def run(repeat: int, *, quick: bool = False) -> list[Measurement]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    rounds = 3 if quick else max(5, repeat // 25)
    folder = Path(tempfile.mkdtemp(prefix="closure-bench-cold-"))
    try:
        subjects = _subjects(folder)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                # A first start of each, not timed: the files it reads are in the page cache,
                # as on a server that has started before.
                for subject in subjects:
                    _start_once(subject, browser, folder)
                    subject.health_ms.clear()
                    subject.usable_ms.clear()
                for turn in range(rounds):
                    _say(f"round {turn + 1} of {rounds}")
                    shift = turn % len(subjects)  # each goes first in turn
                    for subject in subjects[shift:] + subjects[:shift]:
                        _start_once(subject, browser, folder)
            finally:
                browser.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    floor, *apps = subjects
    print(_summary(subjects, rounds), end="\n\n", flush=True)
    rows = []
    for app in apps:
        for what, samples, floor_samples in (
            ("health", app.health_ms, floor.health_ms),
            ("usable first page", app.usable_ms, floor.usable_ms),
        ):
            floor_ms = statistics.median(floor_samples)
            rows.append(
                Measurement(
                    f"cold start to {what}: {app.name}",
                    statistics.median(samples),
                    f"{floor.name} to {what}",
                    floor_ms,
                    target=None,
                    limit_ms=floor_ms + TARGET_MS,  # the target: within 1.5 s
                )
            )
    return rows


def _summary(subjects: list[Subject], rounds: int) -> str:
    floor = subjects[0]
    lines = [
        f"Cold start, median of {rounds} starts each (ms; difference to the floor in brackets)",
        f"{'':32} {'health':>16} {'usable first page':>20}",
    ]
    for subject in subjects:
        health = statistics.median(subject.health_ms)
        usable = statistics.median(subject.usable_ms)
        if subject is floor:
            lines.append(f"{subject.name:32} {health:>16.0f} {usable:>20.0f}")
            continue
        more_health = health - statistics.median(floor.health_ms)
        more_usable = usable - statistics.median(floor.usable_ms)
        lines.append(
            f"{subject.name:32} {health:>7.0f} ({more_health:+6.0f}) "
            f"{usable:>10.0f} ({more_usable:+6.0f})"
        )
    return "\n".join(lines)
