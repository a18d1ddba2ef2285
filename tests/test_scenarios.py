"""Whole-case scenarios in examples/, run through the real command: ready ones exit 0, blocked 1.

examples/expected.json names, for each scenario file, the checks that must be among those
failing (an empty list for a ready scenario).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.core.review import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXPECTED_FILE = EXAMPLES / "expected.json"
EXPECTED: dict[str, list[str]] = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
SCENARIOS = sorted(path for path in EXAMPLES.glob("*.json") if path != EXPECTED_FILE)
EXIT_READY, EXIT_BLOCKED = 0, 1


def _check(path: Path) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "closure_readiness.cli", "check", str(path), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.stderr == ""
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_the_command_says_ready_or_blocked_as_the_scenario_name_says(path: Path) -> None:
    assert path.stem.startswith(("ready-", "blocked-")), "name scenarios ready-* or blocked-*"
    expected_exit = EXIT_READY if path.stem.startswith("ready-") else EXIT_BLOCKED

    exit_code, report = _check(path)

    failed = {result["id"] for result in report["results"] if not result["passed"]}
    assert exit_code == expected_exit, sorted(failed)
    assert report["sign_off_possible"] is (expected_exit == EXIT_READY)
    assert set(EXPECTED[path.name]) <= failed
    blockers = {result["id"] for result in report["results"] if result["level"] == "blocker"}
    assert set(EXPECTED[path.name]) <= blockers


def test_ready_scenarios_expect_no_failures_and_blocked_ones_name_at_least_one() -> None:
    for name, check_ids in EXPECTED.items():
        assert bool(check_ids) is name.startswith("blocked-"), name


def test_every_scenario_file_is_listed_in_expected_json_and_nothing_else_is() -> None:
    assert sorted(EXPECTED) == [path.name for path in SCENARIOS]


def test_there_are_at_least_ten_scenarios_two_of_them_ready() -> None:
    assert len(SCENARIOS) >= 10
    assert len([path for path in SCENARIOS if path.stem.startswith("ready-")]) >= 2


def test_every_scenario_is_written_for_the_current_schema_version() -> None:
    stale = [
        path.name
        for path in SCENARIOS
        if json.loads(path.read_text(encoding="utf-8")).get("schema_version") != SCHEMA_VERSION
    ]
    assert stale == []
