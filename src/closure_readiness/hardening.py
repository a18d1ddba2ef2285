"""The hardened Streamlit settings, read from the package's `streamlit.toml`.

A module of its own with nothing heavy to import: the app reads it on its first page, before
anyone has signed in (the settings module brings pydantic and the checks with it)."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

STREAMLIT_SETTINGS = Path(__file__).resolve().parent / "streamlit.toml"
"""The hardened Streamlit settings, in the package so they travel with every install."""


def streamlit_options() -> dict[str, object]:
    """The hardened Streamlit settings as "section.option" -> value."""
    return dict(_streamlit_options())


@functools.cache
def _streamlit_options() -> dict[str, object]:
    """Read once per process: the app asks on every run."""
    with STREAMLIT_SETTINGS.open("rb") as file:
        sections = tomllib.load(file)
    return {
        f"{s}.{name}": value for s, options in sections.items() for name, value in options.items()
    }


def streamlit_flags() -> list[str]:
    """The hardened settings as `streamlit run` options: they apply whatever the working folder
    and whatever config files it holds (command-line options win over every file)."""
    return [
        f"--{key}={str(value).lower() if isinstance(value, bool) else value}"
        for key, value in streamlit_options().items()
    ]
