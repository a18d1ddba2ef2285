"""The hardened Streamlit settings travel with the package, and the demo's sign-in provider is
an extra (`closure-readiness[demo]`) that the demo names when it is missing.

The settings a server installed from the wheel actually applies are read in Chromium by
tests/browser/test_installed_app.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from closure_readiness.demo.launcher import streamlit_command
from closure_readiness.settings import STREAMLIT_SETTINGS, streamlit_options

ROOT = Path(__file__).resolve().parents[1]
WITHOUT_THE_PROVIDER = (
    "import sys\n"
    "for name in ('oidc_provider_mock', 'werkzeug', 'flask'):\n"
    "    sys.modules[name] = None  # as if the [demo] extra were not installed\n"
)


def test_the_settings_are_in_the_package_and_the_checkout_links_to_them() -> None:
    assert STREAMLIT_SETTINGS.is_relative_to(ROOT / "src" / "closure_readiness")
    link = ROOT / ".streamlit" / "config.toml"
    assert link.is_symlink()
    assert link.resolve() == STREAMLIT_SETTINGS.resolve()


def test_the_launcher_gives_every_setting_as_an_option_whatever_the_folder() -> None:
    command = streamlit_command(port=8765, secrets_file=None)

    for key, value in streamlit_options().items():
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        assert f"--{key}={shown}" in command
    assert "--client.showErrorDetails=none" in command
    assert command[-1] == "--server.port=8765"


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
