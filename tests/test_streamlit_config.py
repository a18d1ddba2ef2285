"""The server's hardened settings (engineering-notes.md, Streamlit), as Streamlit applies them.

The app is started as the launcher starts it (`closure-readiness run` and `demo`), from a folder
with no Streamlit settings of its own, and Streamlit is asked what it will run with.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from applied_settings import FROM_THE_COMMAND_LINE, Applied, applied_options, launcher_args
from closure_readiness.demo.launcher import streamlit_command
from closure_readiness.settings import streamlit_options

HARDENED = {
    "client.showErrorDetails": "none",
    "client.toolbarMode": "viewer",
    "server.fileWatcherType": "none",
    "browser.gatherUsageStats": False,
    "server.address": "127.0.0.1",
    "server.enableXsrfProtection": True,
}


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Applied:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "home").mkdir()
    command = streamlit_command(port=8765, secrets_file=None)
    keys = {*streamlit_options(), *HARDENED, "server.maxUploadSize", "server.port"}
    return applied_options(launcher_args(command), keys, cwd=elsewhere, home=elsewhere / "home")


def test_error_details_are_never_shown_to_users(applied: Applied) -> None:
    assert applied.value("client.showErrorDetails") == "none"


def test_the_toolbar_offers_no_developer_menu(applied: Applied) -> None:
    assert applied.value("client.toolbarMode") == "viewer"


def test_source_files_are_not_watched(applied: Applied) -> None:
    assert applied.value("server.fileWatcherType") == "none"


def test_no_usage_statistics_are_sent(applied: Applied) -> None:
    assert applied.value("browser.gatherUsageStats") is False


def test_the_server_listens_on_localhost_only(applied: Applied) -> None:
    assert applied.value("server.address") == "127.0.0.1"


def test_uploads_are_kept_small(applied: Applied) -> None:
    size = applied.value("server.maxUploadSize")
    assert isinstance(size, int)
    assert 0 < size <= 5  # megabytes; nothing is uploaded


def test_xsrf_protection_is_on(applied: Applied) -> None:
    assert applied.value("server.enableXsrfProtection") is True


def test_the_port_asked_for_is_the_port_used(applied: Applied) -> None:
    assert applied.value("server.port") == 8765


def test_every_setting_in_the_package_is_applied_from_the_command_line(applied: Applied) -> None:
    """A misspelt option would be refused or silently ignored by Streamlit, and the hardening
    with it; here each one must come back with its value, from the launcher's options."""
    wanted = streamlit_options()
    assert set(HARDENED.items()) <= set(wanted.items())
    for key, value in wanted.items():
        assert applied.options[key] == (value, FROM_THE_COMMAND_LINE), key


def test_options_streamlit_does_not_parse_are_seen_not_applied(tmp_path: Path) -> None:
    """The check can fail: options given after `--` go to the script, and Streamlit's default
    (full error details) is what this reports."""
    (tmp_path / "home").mkdir()
    command = launcher_args(streamlit_command(port=8765, secrets_file=None))
    flags = [arg for arg in command if arg.startswith("--")]
    misplaced = [arg for arg in command if not arg.startswith("--")] + ["--", *flags]

    applied = applied_options(
        misplaced, ["client.showErrorDetails"], cwd=tmp_path, home=tmp_path / "home"
    )

    assert applied.value("client.showErrorDetails") != "none"
    assert applied.source("client.showErrorDetails") != FROM_THE_COMMAND_LINE
