"""The hardened Streamlit settings travel with the package, and the demo's sign-in provider is
an extra (`closure-readiness[demo]`) that the demo names when it is missing.

The settings a server installed from the wheel actually applies are read in Chromium by
tests/browser/test_installed_app.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from applied_settings import FROM_THE_COMMAND_LINE, applied_options, launcher_args
from closure_readiness.demo.launcher import streamlit_command
from closure_readiness.settings import STREAMLIT_SETTINGS, streamlit_options

ROOT = Path(__file__).resolve().parents[1]
WITHOUT_THE_PROVIDER = (
    "import sys\n"
    "for name in ('oidc_provider_mock', 'werkzeug', 'flask'):\n"
    "    sys.modules[name] = None  # as if the [demo] extra were not installed\n"
)


def test_streamlit_run_from_the_checkout_applies_the_package_settings(tmp_path: Path) -> None:
    """`streamlit run app.py` from a checkout: Streamlit finds .streamlit/config.toml, which is
    the package's own settings file (so the two cannot drift)."""
    assert STREAMLIT_SETTINGS.is_relative_to(ROOT / "src" / "closure_readiness")
    wanted = streamlit_options()

    applied = applied_options(["run", "app.py"], wanted, cwd=ROOT, home=tmp_path)

    for key, value in wanted.items():
        assert applied.value(key) == value, key
        assert Path(applied.source(key)).resolve() == STREAMLIT_SETTINGS.resolve(), key


def test_the_launcher_settings_win_over_a_folder_that_says_otherwise(tmp_path: Path) -> None:
    """Started from a folder whose own Streamlit settings would show tracebacks and the
    developer menu, the app still runs with the package's settings."""
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text(
        '[client]\nshowErrorDetails = "full"\ntoolbarMode = "developer"\n'
        "[server]\nmaxUploadSize = 200\n",
        encoding="utf-8",
    )
    (tmp_path / "home").mkdir()
    command = streamlit_command(port=8765, secrets_file=None)
    wanted = streamlit_options()

    applied = applied_options(launcher_args(command), wanted, cwd=tmp_path, home=tmp_path / "home")

    assert applied.value("client.showErrorDetails") == "none"
    for key, value in wanted.items():
        assert applied.options[key] == (value, FROM_THE_COMMAND_LINE), key


def _cli(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_PROVIDER + code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )


def test_the_demo_without_its_extra_says_what_to_install(tmp_path: Path) -> None:
    done = _cli(
        "from closure_readiness.cli import main\n"
        "sys.exit(main(['demo', '--db', 'demo.db', '--port', '8765', '--provider-port', '9765']))",
        tmp_path,
    )

    assert done.returncode == 2, done.stderr
    assert "pip install 'closure-readiness[demo]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "demo.db").exists()  # refused before anything was written


def test_the_app_and_run_need_no_demo_packages(tmp_path: Path) -> None:
    done = _cli(
        "import closure_readiness.demo.launcher, closure_readiness.cli\n"
        "from closure_readiness.demo.launcher import streamlit_command\n"
        "print(streamlit_command(port=1, secrets_file=None)[4])",
        tmp_path,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("app.py")
