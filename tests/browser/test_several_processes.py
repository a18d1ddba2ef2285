"""Several server processes behind the reverse proxy (issue 12, item 9).

`closure-readiness run --port P --processes 2`, started as an operator starts it (sign-in
secrets in the home folder's .streamlit/secrets.toml, returning to the proxy's https address),
behind nginx on deploy/nginx/closure-readiness.conf with one `server` line per process. In
Chromium: each browser stays with one process for everything (its page, its sign-in through
the provider and back, its websocket), browsers are spread over both processes, what one
process saves the other shows, and a process that is killed is started again by `run` while
the other carries on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.demo.launcher import sign_in_provider, write_secrets
from closure_readiness.demo.seed import seed
from proxy_support import Proxy, free_port, running_proxy

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE = 120.0
CHECKBOX = "Impact on other children considered"
IDLE = """() => {
    const root = document.querySelector('[data-test-script-state]');
    return root && root.dataset.testScriptState === 'notRunning'
        && !document.querySelector('[data-stale="true"]');
}"""


def _healthy(port: int) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/_stcore/health"
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _two_free_ports() -> int:
    """A port P with P + 1 free as well (`--processes 2` listens on both)."""
    for _ in range(50):
        first = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", first + 1))
            except OSError:
                continue
        return first
    pytest.fail("no two free ports in a row on 127.0.0.1")


def _server_pid(port: int) -> int:
    """The Streamlit process listening on `port` (found by its command line)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if b"streamlit" in b" ".join(command) and f"--server.port={port}".encode() in command:
                return int(entry.name)
    pytest.fail(f"no server process on port {port}")


@dataclass
class Running:
    proxy: Proxy
    provider_url: str
    ports: list[int]
    ids: dict[str, int]
    launcher: subprocess.Popen[bytes]
    output: Path

    def upstream_of(self, node: str) -> set[str]:
        """The app ports nginx sent this browser's requests to (from its access log)."""
        log = (self.proxy.directory / "access.log").read_text(errors="replace")
        return {
            line.split()[0].rsplit(":", 1)[-1]
            for line in log.splitlines()
            if len(line.split()) > 1 and line.split()[1] == node and line[0].isdigit()
        }


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Running]:
    directory = tmp_path_factory.mktemp("processes")
    first = _two_free_ports()
    ports = [first, first + 1]
    with (
        running_proxy(directory / "nginx", ports) as proxy,
        sign_in_provider(free_port()) as issuer,
    ):
        db = directory / "closure-readiness.db"
        ids = seed(db, issuer=issuer, today=dt.datetime.now(dt.UTC).date())
        home = directory / "home"
        write_secrets(home / ".streamlit" / "secrets.toml", app_url=proxy.url, issuer=issuer)
        environment = {
            **os.environ,
            "HOME": str(home),
            "CLOSURE_DB": str(db),
            "CLOSURE_ENVIRONMENT": "test",
            "CLOSURE_DEMO_SIGN_IN": "true",
        }
        output = directory / "run.log"
        with output.open("wb") as log:
            launcher = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "closure_readiness.cli",
                    "run",
                    "--port",
                    str(first),
                    "--processes",
                    "2",
                ],
                cwd=REPO_ROOT,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + START_DEADLINE
            while not all(_healthy(port) for port in ports):
                if launcher.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"`run --processes 2` did not start:\n{output.read_text()}")
                time.sleep(0.2)  # polling interval while both servers start
            yield Running(proxy, issuer, ports, ids, launcher, output)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(launcher.pid, signal.SIGTERM)
            try:
                launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait(timeout=10)


@dataclass
class Browser:
    context: Any
    page: Any
    node: str


def _settled(page: Any) -> None:
    page.wait_for_selector("[data-test-script-state]", state="attached")
    page.wait_for_function(IDLE)


def _signed_in(browser: Any, running: Running, account: str) -> Browser:
    context = browser.new_context(
        ignore_https_errors=True, viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(running.proxy.url)
    _settled(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{running.provider_url}/**")
    page.get_by_role("button", name=account, exact=True).click()
    page.wait_for_url(f"{running.proxy.url}/**")
    _settled(page)
    assert page.get_by_role("button", name="Sign in").count() == 0, "the sign-in did not take"
    [node] = [c["value"] for c in context.cookies() if c["name"] == "closure_readiness_node"]
    return Browser(context, page, node)


def _browsers_on_both(browser: Any, running: Running) -> dict[str, Browser]:
    """Caseworkers signed in, in fresh browsers, until both processes serve one (by port)."""
    found: dict[str, Browser] = {}
    for _ in range(12):  # all on one process twelve times running: 1 in 2,048
        signed = _signed_in(browser, running, "caseworker")
        ports = running.upstream_of(signed.node)
        assert len(ports) == 1, f"one browser's requests went to several processes: {ports}"
        [port] = ports
        if port in found:
            signed.context.close()
        else:
            found[port] = signed
        if len(found) == 2:
            return found
    pytest.fail(f"every browser landed on the same process: {sorted(found)}")


def test_each_browser_stays_with_one_process_and_both_share_the_records(
    browser: Any, running: Running
) -> None:
    on = _browsers_on_both(browser, running)
    assert set(on) == {str(port) for port in running.ports}
    first, second = (on[str(port)] for port in running.ports)
    step = f"review?review={running.ids['draft_new']}&step=family"
    try:
        for each in (first, second):
            each.page.goto(f"{running.proxy.url}/{step}")
            _settled(each.page)
        box = first.page.get_by_role("checkbox", name=CHECKBOX)
        was = box.is_checked()
        first.page.get_by_text(CHECKBOX).click()
        first.page.wait_for_function(IDLE)
        first.page.wait_for_timeout(300)  # the rerun that saves starts after the click
        _settled(first.page)
        assert box.is_checked() is not was

        second.page.reload()
        _settled(second.page)
        other = second.page.get_by_role("checkbox", name=CHECKBOX)
        other.wait_for()
        assert other.is_checked() is not was, "the other process did not show the saved answer"
        for each in (first, second):
            assert running.upstream_of(each.node) == {str(on_port(on, each))}
    finally:
        first.context.close()
        second.context.close()


def on_port(on: dict[str, Browser], which: Browser) -> str:
    return next(port for port, each in on.items() if each is which)


def test_a_killed_process_is_started_again_while_the_other_serves(
    browser: Any, running: Running
) -> None:
    killed, other = running.ports[1], running.ports[0]
    os.kill(_server_pid(killed), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _healthy(killed) and time.monotonic() < deadline:
        time.sleep(0.1)  # the port closes as the process dies
    assert _healthy(other), "the other process stopped as well"

    deadline = time.monotonic() + START_DEADLINE
    while not _healthy(killed):
        assert running.launcher.poll() is None, running.output.read_text(errors="replace")
        assert time.monotonic() < deadline, "the killed process was not started again"
        time.sleep(0.2)  # polling interval while it starts again
    said = running.output.read_text(errors="replace")
    assert re.search(rf"port {killed} stopped \(exit code -9\); starting it again", said), said

    signed = _signed_in(browser, running, "caseworker")  # the service still signs people in
    signed.context.close()
