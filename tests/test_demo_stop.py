"""The demo behaves (issue 9, item 14): stopped by its process, it stops everything it started;
its terminal shows the launcher's own lines, with the provider's access log and third-party
warnings in log files; its sign-in page loads nothing from outside 127.0.0.1; the first set-up
says what it is doing.

Each demo here is a real `closure-readiness demo` (or `bash scripts/demo.sh`) on free ports, in
its own session so that whatever it leaves behind can be found, and killed, by the test.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench.harness import free_port

from closure_readiness.demo.provider_page import STYLE_PATH, local_html

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
STARTED_WITHIN = 90.0
STOPPED_WITHIN = 30.0


def _can_listen(port: int) -> bool:
    """Whether a server could start on the port now (as servers bind: SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
        return True


def _group_alive(group: int) -> bool:
    """Whether any process is left in the demo's process group."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _get(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        return response.status, headers, response.read().decode("utf-8")


def _healthy(url: str) -> bool:
    try:
        return _get(f"{url}/_stcore/health")[2].strip() == "ok"
    except OSError:
        return False


@dataclass
class RunningDemo:
    process: subprocess.Popen[bytes]
    app_port: int
    provider_port: int
    terminal: Path
    """What the launcher printed (stdout and stderr): what a person sees in the terminal."""
    logs: Path

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def provider_url(self) -> str:
        return f"http://127.0.0.1:{self.provider_port}"

    def printed(self) -> str:
        return self.terminal.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def running_demo(tmp_path: Path, how: str) -> Iterator[RunningDemo]:
    app_port, provider_port = free_port(), free_port()
    arguments = ["--db", str(tmp_path / "demo.db"), "--port", str(app_port)]
    arguments += ["--provider-port", str(provider_port)]
    if how == "closure-readiness demo":
        command = [sys.executable, "-m", "closure_readiness.cli", "demo", *arguments]
    else:
        command = ["bash", "scripts/demo.sh", *arguments]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSURE_")}
    env.update(CLOSURE_ENVIRONMENT="test", SKIP_SYSTEM_PACKAGES="1", PYTHONUNBUFFERED="1")
    env["VENV"] = str(VENV)
    terminal = tmp_path / "terminal.txt"
    with terminal.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    demo = RunningDemo(process, app_port, provider_port, terminal, tmp_path / "logs")
    try:
        deadline = time.monotonic() + STARTED_WITHIN
        while not (_healthy(demo.app_url) and "Press Ctrl+C" in demo.printed()):
            assert process.poll() is None, f"the demo exited:\n{demo.printed()}"
            assert time.monotonic() < deadline, f"the demo did not start:\n{demo.printed()}"
            time.sleep(0.2)  # polling interval while it starts
        yield demo
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever this test started, stopped or not
        process.wait(timeout=10)


@pytest.mark.parametrize("how", ["closure-readiness demo", "bash scripts/demo.sh"])
def test_sigterm_to_the_demo_stops_every_child_and_frees_both_ports(
    tmp_path: Path, how: str
) -> None:
    if how.startswith("bash") and not (VENV / "bin" / "closure-readiness").exists():
        pytest.skip("scripts/demo.sh starts .venv/bin/closure-readiness, which is missing")
    with running_demo(tmp_path, how) as demo:
        group = demo.process.pid
        assert not _can_listen(demo.app_port)
        assert not _can_listen(demo.provider_port)

        demo.process.send_signal(signal.SIGTERM)
        code = demo.process.wait(timeout=STOPPED_WITHIN)

        assert code == 0, demo.printed()
        deadline = time.monotonic() + 5
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)  # polling interval: an ended child may take a moment to be reaped
        assert not _group_alive(group), "a process the demo started is still running"
        assert _can_listen(demo.app_port)
        assert _can_listen(demo.provider_port)
        assert "Demo stopped." in demo.printed()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    """One running demo for the tests that only look at it."""
    with running_demo(tmp_path_factory.mktemp("demo"), "closure-readiness demo") as running:
        yield running


def test_the_terminal_shows_the_launchers_lines_and_the_logs_hold_the_rest(
    demo: RunningDemo,
) -> None:
    _get(f"{demo.provider_url}/.well-known/openid-configuration")  # an access log line
    printed = demo.printed()

    assert f"Closure Readiness demo: {demo.app_url}" in printed
    assert "caseworker" in printed
    assert str(demo.logs) in printed
    for noise in ("Warning", "deprecated", '"GET /', "Uvicorn", "You can now view"):
        assert noise not in printed
    provider_log = (demo.logs / "provider.log").read_text(encoding="utf-8")
    assert "GET /.well-known/openid-configuration" in provider_log
    assert "You can now view" in (demo.logs / "streamlit.log").read_text(encoding="utf-8")


def test_the_sign_in_page_loads_nothing_from_outside_127_0_0_1(demo: RunningDemo) -> None:
    redirect = f"{demo.app_url}/oauth2callback"
    status, headers, page = _get(
        f"{demo.provider_url}/oauth2/authorize?client_id=closure-readiness-demo"
        f"&redirect_uri={redirect}&response_type=code&scope=openid&nonce=n&state=s"
    )

    assert status == 200
    assert "caseworker" in page  # the demo accounts to choose from
    loads = re.findall(r"""\b(?:href|src)\s*=\s*["']([^"']+)""", page)
    assert STYLE_PATH in loads
    assert [url for url in loads if re.match(r"(?:[a-z]+:)?//", url)] == []
    assert headers["content-security-policy"].startswith("default-src 'self'")
    style_status, style_headers, _ = _get(f"{demo.provider_url}{STYLE_PATH}")
    assert style_status == 200
    assert style_headers["content-type"].startswith("text/css")


def test_a_stylesheet_from_another_site_is_replaced_and_other_outside_links_dropped() -> None:
    page = (
        '<link rel="stylesheet" href="https://cdn.example.invalid/pico.min.css" />'
        "<link rel='icon' href='//cdn.example.invalid/i.png'>"
        '<link rel="stylesheet" href="/own.css">'
    )

    assert local_html(page) == (
        f'<link rel="stylesheet" href="{STYLE_PATH}" /><link rel="stylesheet" href="/own.css">'
    )


def test_the_first_set_up_says_what_it_is_doing_and_shows_the_installers_progress(
    tmp_path: Path,
) -> None:
    venv, calls = tmp_path / "venv", tmp_path / "pip-arguments.txt"
    recorder = tmp_path / "venv-python"  # the new venv's python: records what pip was asked
    recorder.write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\necho "Collecting example-package"\n', encoding="utf-8"
    )
    stand_in = tmp_path / "python3.11"  # `python3.11 -m venv DIR` puts the recorder in DIR
    stand_in.write_text(
        f'#!/bin/sh\nmkdir -p "$3/bin"\ncp {recorder} "$3/bin/python"\nchmod +x "$3/bin/python"\n',
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    env = {**os.environ, "PYTHON": str(stand_in), "VENV": str(venv), "SKIP_SYSTEM_PACKAGES": "1"}

    first = subprocess.run(
        ["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == f"Setting up: creating {venv} with {stand_in} (1/3)..."
    assert lines[1].startswith("Setting up: installing the pinned Python packages")
    assert lines[1].endswith("(2/3)...")
    assert "Collecting example-package" in lines  # the installer's own progress, not hidden
    asked = calls.read_text(encoding="utf-8").split()
    assert "--quiet" not in asked
    assert "-q" not in asked
    again = subprocess.run(
        ["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0
    assert again.stdout == ""  # nothing to do, nothing said
