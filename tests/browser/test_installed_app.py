"""The app installed from its wheel, outside the checkout, runs with the hardened settings.

The wheel is built from this checkout and installed into a fresh virtual environment in a
temporary folder (its dependencies are this environment's, found after the wheel's own copy of
the package, so nothing is downloaded). `closure-readiness demo` is started there, in a folder
with no `.streamlit/` of its own, and read in Chromium: the settings Streamlit applied (the
session's configuration on the web socket) and what a person sees when the app fails inside.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NewSession_pb2 import Config

REPO_ROOT = Path(__file__).resolve().parents[2]

TRACEBACK_WORDS = ("Traceback", 'File "', ".py", "sqlite3", "DatabaseError")
"""What a traceback or an exception's details would put on the page."""


def _run(command: list[str], **kwargs: Any) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh virtual environment holding the wheel, outside the checkout."""
    place = tmp_path_factory.mktemp("installed")
    dist = place / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(REPO_ROOT)])
    [wheel] = dist.glob("closure_readiness-*.whl")
    venv = place / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([str(python), "-c", purelib]).strip())
    _run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)])
    # The dependencies: this environment's packages, after the wheel's own (a plain path, so
    # this environment's editable link to the checkout is not followed).
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder with no Streamlit settings of its own, and a home without any."""
    folder = tmp_path_factory.mktemp("elsewhere")
    (folder / "home").mkdir()
    return folder


@pytest.fixture(scope="module")
def demo_installed(
    installed: Path, outside: Path, demo_runner: Callable[..., Any]
) -> Iterator[Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["HOME"] = str(outside / "home")
    with demo_runner(outside, installed, cwd=outside, env=env) as running:
        yield running


def test_the_wheel_is_what_runs_not_the_checkout(installed: Path, outside: Path) -> None:
    where = _run(
        [str(installed), "-c", "import closure_readiness; print(closure_readiness.__file__)"],
        cwd=outside,
        env={"PATH": os.environ["PATH"], "HOME": str(outside)},
    ).strip()

    assert Path(where).is_relative_to(installed.parents[1])
    assert not Path(where).is_relative_to(REPO_ROOT)


def _configs(frames: list[bytes]) -> list[Any]:
    configs = []
    for frame in frames:
        message = ForwardMsg()
        message.ParseFromString(frame)
        if message.HasField("new_session"):
            configs.append(message.new_session.config)
    return configs


def test_the_installed_app_applies_the_hardened_settings_and_shows_no_traceback(
    demo_installed: Any, browser: Any, sign_in_to: Callable[[Any, Any, str], None]
) -> None:
    context = browser.new_context()
    page = context.new_page()
    frames: list[bytes] = []
    page.on(
        "websocket",
        lambda socket: socket.on(
            "framereceived",
            lambda payload: frames.append(payload) if isinstance(payload, bytes) else None,
        ),
    )
    try:
        sign_in_to(page, demo_installed, "caseworker")
        page.get_by_role("heading", name="My reviews").wait_for()

        # The settings Streamlit applied, as it told the browser: no developer menu.
        configs = _configs(frames)
        assert configs
        assert {c.toolbar_mode for c in configs} == {Config.ToolbarMode.VIEWER}

        # An internal error (the database is no longer a database): a message, no details.
        conn = sqlite3.connect(demo_installed.db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        demo_installed.db.write_bytes(b"not a database " * 512)
        page.reload()
        page.locator('[data-testid="stException"], [data-testid="stAlert"]').first.wait_for()
        shown = page.locator("section.stMain, [data-testid='stMain']").first.inner_text()
        assert not [word for word in TRACEBACK_WORDS if word in shown], shown
    finally:
        context.close()
