"""The server's hardened settings (engineering-notes.md, Streamlit), in the package."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from closure_readiness.settings import STREAMLIT_SETTINGS

CONFIG = STREAMLIT_SETTINGS
"""The package's settings (the checkout's .streamlit/config.toml links to them)."""


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    with CONFIG.open("rb") as file:
        return tomllib.load(file)


def test_error_details_are_never_shown_to_users(config: dict[str, Any]) -> None:
    assert config["client"]["showErrorDetails"] == "none"


def test_the_toolbar_offers_no_developer_menu(config: dict[str, Any]) -> None:
    assert config["client"]["toolbarMode"] == "viewer"


def test_source_files_are_not_watched(config: dict[str, Any]) -> None:
    assert config["server"]["fileWatcherType"] == "none"


def test_no_usage_statistics_are_sent(config: dict[str, Any]) -> None:
    assert config["browser"]["gatherUsageStats"] is False


def test_the_server_listens_on_localhost_only(config: dict[str, Any]) -> None:
    assert config["server"]["address"] == "127.0.0.1"


def test_uploads_are_kept_small(config: dict[str, Any]) -> None:
    assert 0 < config["server"]["maxUploadSize"] <= 5  # megabytes; nothing is uploaded


def test_xsrf_protection_is_on(config: dict[str, Any]) -> None:
    assert config["server"]["enableXsrfProtection"] is True


def test_every_setting_is_one_streamlit_knows(config: dict[str, Any]) -> None:
    """A misspelt option is silently ignored by Streamlit, and the hardening with it."""
    from streamlit import config as streamlit_config

    known = set(streamlit_config._config_options_template)
    unknown = [
        f"{section}.{name}"
        for section, options in config.items()
        for name in options
        if f"{section}.{name}" not in known
    ]
    assert unknown == []
