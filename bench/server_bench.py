"""The real server: cold start to the first page, and the round trip of one widget change,
with Streamlit's post-run garbage collection on and off (the runner.postScriptGC decision).

Drives the real demo launcher and Debian's Chromium (as the browser tests do). The floor of
the round trip is the same click on a tiny page of the same server (the check reference's
expander), so the ratio is what our wizard step adds.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Measurement, free_port, healthy

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
IDLE = """() => {
    const root = document.querySelector('[data-test-script-state]');
    return root && root.dataset.testScriptState === 'notRunning'
        && !document.querySelector('[data-stale="true"]');
}"""


class Server:
    def __init__(self, gc: bool) -> None:
        from closure_readiness.demo.seed import seed

        folder = Path(tempfile.mkdtemp(prefix="closure-bench-server-"))
        db = folder / "demo.db"
        self.app_port, provider_port = free_port(), free_port()
        self.provider = f"http://127.0.0.1:{provider_port}"
        self.ids = seed(db, issuer=self.provider, today=dt.datetime.now(dt.UTC).date())
        self.url = f"http://127.0.0.1:{self.app_port}"
        env = {
            **os.environ,
            "CLOSURE_ENVIRONMENT": "test",
            "STREAMLIT_RUNNER_POST_SCRIPT_GC": "true" if gc else "false",
        }
        command = [
            sys.executable,
            "-m",
            "closure_readiness.cli",
            "demo",
            "--db",
            str(db),
            "--port",
            str(self.app_port),
            "--provider-port",
            str(provider_port),
        ]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while not healthy(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the demo did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def _click_times(page: Any, locator: Any, rounds: int, *, reruns: bool = True) -> list[float]:
    """Click, then wait for the page idle; a click that reruns the script waits for that run
    to finish first (the page can look idle before the rerun has even started)."""
    from bench.browser_bench import Watch

    watch = Watch(page)
    times = []
    for _ in range(rounds):
        before = watch.finished
        start = time.perf_counter()
        locator.click()
        if reruns:
            watch.settle(before)
        page.wait_for_function(IDLE)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _measure(gc: bool, rounds: int) -> tuple[float, float, float]:
    from playwright.sync_api import sync_playwright

    server = Server(gc)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            from bench.browser_bench import _finished_counter

            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(_finished_counter())
            page.goto(server.url)
            page.wait_for_function(IDLE)
            cold = (time.perf_counter() - server.started) * 1000
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("button", name="caseworker", exact=True).click()
            page.wait_for_url(f"{server.url}/**")
            page.wait_for_function(IDLE)
            review = server.ids["draft_new"]
            page.goto(f"{server.url}/review?review={review}&step=family")
            page.wait_for_function(IDLE)
            box = page.get_by_text("Impact on other children considered")
            wizard = _click_times(page, box, rounds)
            page.goto(f"{server.url}/reference")
            page.wait_for_function(IDLE)
            expander = page.get_by_text("Evidence of change: What has actually changed").first
            floor = _click_times(page, expander, rounds, reruns=False)
            browser.close()
    finally:
        server.stop()
    return cold, statistics.median(wizard), statistics.median(floor)


def run(repeat: int) -> list[Measurement]:
    rounds = max(10, repeat // 10)
    rows = []
    for gc in (True, False):
        cold, wizard, floor = _measure(gc, rounds)
        label = "on" if gc else "off"
        rows.append(
            Measurement(
                f"server round trip, wizard checkbox (postScriptGC {label})",
                wizard,
                "client-side toggle, no rerun (expander)",
                floor,
                target=None,
            )
        )
        rows.append(
            Measurement(
                f"cold start to first page (postScriptGC {label})",
                cold,
                "-",
                cold,
                target=None,
            )
        )
    return rows
