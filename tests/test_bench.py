"""The benchmark command keeps working (a smoke run; no timing is asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from closure_readiness.checks import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def test_checks_benchmark_prints_a_table_row_with_a_ratio() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "checks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    row = next(
        line
        for line in result.stdout.splitlines()
        if line.startswith(f"| all {len(REGISTRY)} checks")
    )
    assert row.count("|") == 8
    assert "x |" in row


def test_benchmark_refuses_an_unknown_suite() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "nonsense"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown suite nonsense" in result.stderr


def test_store_benchmark_signs_off_and_verifies_a_bulk_built_store() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "store"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    sign_off = next(row for row in rows if row.startswith("| sign-off, 30 evidence items"))
    alone = next(row for row in rows if row.startswith("| the same, no other connection"))
    verify = next(row for row in rows if row.startswith("| verify 10,000 decisions"))
    assert "| <= 3x |" in sign_off
    assert "decisions/s" in verify
    assert all(row.count("|") == 8 and "x |" in row for row in (sign_off, alone, verify))
