"""Long-running tests carry the `slow` marker, so `-m 'not slow'` gives a quick run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _collected(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {line.split("::")[-1] for line in done.stdout.splitlines() if "::" in line}


def test_the_store_benchmark_is_left_out_of_a_quick_run() -> None:
    quick = _collected("-m", "not slow", "tests/test_bench.py")
    slow = _collected("-m", "slow", "tests/test_bench.py")

    assert slow == {"test_store_benchmark_signs_off_and_verifies_a_bulk_built_store"}
    assert "test_checks_benchmark_prints_a_table_row_with_a_ratio" in quick
    assert not quick & slow
