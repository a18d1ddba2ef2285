"""A cold start stays lean: the launcher starts Streamlit without importing the service, and the
first page (sign-in) draws without pandas, numpy, the PDF library, the storage or pydantic.

Each check runs in a fresh interpreter, as a server starts. The times are measured by
bench/cold_start_bench.py (docs/performance.md, "Cold start").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "src" / "closure_readiness" / "app.py"
HEAVY = (
    "pandas",
    "numpy",
    "pyarrow",
    "reportlab",
    "sqlite_utils",
    "pydantic",
    "closure_readiness.settings",
    "closure_readiness.service",
    "closure_readiness.storage",
    "closure_readiness.checks",
    "closure_readiness.report",
)
"""What the sign-in page does not need (each costs tens to hundreds of milliseconds)."""


def _loaded_after(code: str) -> list[str]:
    """The HEAVY modules loaded once `code` ran in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    return [name for name in HEAVY if name in loaded]


def test_the_app_module_imports_only_streamlit_and_the_sign_in_page() -> None:
    assert _loaded_after("import streamlit\nimport closure_readiness.app") == []


def test_the_sign_in_page_draws_without_the_heavy_modules() -> None:
    """The first script run of a cold start, signed out: the sign-in button, nothing else."""
    code = (
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(APP)!r}, default_timeout=60)\n"
        "at.user = {'is_logged_in': False}\n"
        "at.run()\n"
        "assert not at.exception, at.exception\n"
        "assert [b.label for b in at.button] == ['Sign in'], [b.label for b in at.button]\n"
    )
    # Streamlit itself imports numpy to serve a page icon from a file (st.set_page_config): the
    # price of a local icon (a Material icon name would fetch a font from outside).
    assert [name for name in _loaded_after(code) if name != "numpy"] == []


def test_the_launcher_starts_streamlit_without_the_service_or_the_demo_data() -> None:
    """`closure-readiness run` reads its settings and starts Streamlit: no seed, no storage."""
    code = (
        "from closure_readiness.cli import cli\n"
        "from closure_readiness.demo.launcher import run, streamlit_command\n"
        "streamlit_command(port=1, secrets_file=None)\n"
    )
    loaded = set(_loaded_after(code))
    # The settings (pydantic, and the thresholds they name) are read before Streamlit starts.
    assert loaded <= {"pydantic", "closure_readiness.settings", "closure_readiness.checks"}
