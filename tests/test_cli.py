"""The `closure-readiness` command, run as a real process: exit codes, output, and refusals."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.checks import REGISTRY
from closure_readiness.core.vocabulary import Route

ROOT = Path(__file__).resolve().parents[1]
READY = ROOT / "examples" / "ready-three-agencies-sustained-change.json"
READY_DATA: dict[str, Any] = json.loads(READY.read_text(encoding="utf-8"))
EXIT_OK, EXIT_BLOCKED, EXIT_INVALID = 0, 1, 2


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "closure_readiness.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def _ready() -> dict[str, Any]:
    return copy.deepcopy(READY_DATA)


def _write(tmp_path: Path, content: dict[str, Any] | str | bytes) -> Path:
    path = tmp_path / "review.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def _changed(change: Any) -> dict[str, Any]:
    data = _ready()
    change(data)
    return data


def test_check_on_the_ready_example_exits_0_with_the_summary_line() -> None:
    result = _run("check", READY)

    assert result.returncode == EXIT_OK, result.stderr
    assert "Case CR-2025-0412, as of 30 May 2025" in result.stdout
    last_line = result.stdout.strip().splitlines()[-1]
    applying = sum(1 for spec in REGISTRY if Route.CHANGE in spec.routes)
    assert last_line.startswith(f"Sign-off possible: {applying} of {applying} checks pass")
    assert "Closure route: Needs met" in result.stdout


def test_check_as_json_has_the_documented_keys_and_one_result_per_check() -> None:
    result = _run("check", READY, "--format", "json")

    assert result.returncode == EXIT_OK, result.stderr
    document = json.loads(result.stdout)
    expected = {"format", "case_reference", "results", "sign_off_possible", "as_of"}
    assert expected | {"checks_version", "thresholds"} <= document.keys()
    assert document["format"] == "closure-readiness/report@1"
    assert document["case_reference"] == "CR-2025-0412"
    assert document["as_of"] == "2025-05-30"
    assert document["sign_off_possible"] is True
    assert [r["id"] for r in document["results"]] == REGISTRY.ids()


def test_check_on_a_blocked_review_exits_1_listing_the_blocker_and_what_resolves_it(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, _changed(lambda d: d["answers"]["change"].update(cited=[])))

    result = _run("check", path)

    assert result.returncode == EXIT_BLOCKED, result.stderr
    blockers = result.stdout.split("Blockers (", 1)[1]
    assert "change.E001  [open]  No cited evidence shows change" in blockers
    assert f"What would resolve it: {REGISTRY['change.E001'].hint}" in blockers
    assert "Sign-off blocked" in result.stdout


def test_check_as_of_a_date_before_some_evidence_exits_2_naming_the_evidence() -> None:
    result = _run("check", READY, "--as-of", "2025-05-17")

    assert result.returncode == EXIT_INVALID
    assert "Evidence E4" in result.stderr
    assert "dated after the as-of date (2025-05-17)" in result.stderr


def test_check_as_of_a_date_before_the_case_opened_exits_2() -> None:
    result = _run("check", READY, "--as-of", "2024-01-01")

    assert result.returncode == EXIT_INVALID
    assert "The as-of date 2024-01-01 is before the case was opened (2024-06-03)" in result.stderr


@pytest.mark.parametrize("as_of", ["30/05/2025", "2025-13-01", "yesterday"])
def test_check_with_an_as_of_that_is_not_a_date_exits_2_explaining_the_form(as_of: str) -> None:
    result = _run("check", READY, "--as-of", as_of)

    assert result.returncode == EXIT_INVALID
    assert f"'{as_of}' is not a date; write it as YYYY-MM-DD" in result.stderr


INVALID_REVIEWS = [
    pytest.param(b"not json", ["not valid JSON"], id="not-json"),
    pytest.param(b"", ["not valid JSON"], id="empty-file"),
    pytest.param(b"[1, 2]", ["should hold one JSON object"], id="json-array"),
    pytest.param(b"\xff\xfe{}", ["not UTF-8 text"], id="invalid-utf-8"),
    pytest.param(
        _changed(lambda d: d["case"].update(plan_reviews_held="four")),
        ["case › plan reviews held: Enter a whole number."],
        id="wrong-type",
    ),
    pytest.param(
        _changed(lambda d: d.pop("case")),
        ["case: This is required; enter it."],
        id="missing-case",
    ),
    pytest.param(
        _changed(lambda d: d["evidence"][0].update(shows="x" * 1_000_000)),
        ["evidence 1 › what it shows: Shorten this to at most 4000 characters."],
        id="megabyte-string",
    ),
    pytest.param(
        _changed(lambda d: d["case"].update(team="North\x00Team")),
        ["case › team:", "invisible control character (U+0000)"],
        id="nul-character",
    ),
    pytest.param(
        _changed(lambda d: d["evidence"][1].update(shows="No missing \u202eepisodes")),
        ["evidence 2 › what it shows:", "text-direction character (U+202E)"],
        id="bidi-override",
    ),
    pytest.param(
        _changed(lambda d: d["case"].update(opened_on="2025-02-30")),
        ["case › date opened: Enter a date as year-month-day"],
        id="impossible-date",
    ),
    pytest.param(
        json.dumps(_ready()).replace("North Adolescent Team", "North \\ud800"),
        ["not valid JSON"],
        id="lone-surrogate-escape",
    ),
    pytest.param(
        _changed(lambda d: d["answers"]["change"].update(cited=["E1", "E404"])),
        ["cites evidence E404 that is not in the evidence register"],
        id="unknown-citation",
    ),
]


@pytest.mark.parametrize(("content", "expected"), INVALID_REVIEWS)
def test_check_refuses_an_invalid_review_with_exit_2_and_a_clear_message(
    tmp_path: Path, content: dict[str, Any] | str | bytes, expected: list[str]
) -> None:
    path = _write(tmp_path, content)

    result = _run("check", path)

    assert result.returncode == EXIT_INVALID
    assert result.stdout == ""
    assert result.stderr.startswith(f"closure-readiness: {path}: ")
    for text in expected:
        assert text in result.stderr


def test_check_does_not_echo_terminal_escapes_from_an_unknown_field_name(tmp_path: Path) -> None:
    path = _write(tmp_path, _changed(lambda d: d["case"].update({"\x1b[2Jok": 1})))

    result = _run("check", path)

    assert result.returncode == EXIT_INVALID
    assert "\x1b" not in result.stderr
    assert "case › \\u001b[2Jok: This field is not part of a review" in result.stderr


def test_check_refuses_a_file_over_5_mb_without_parsing_it(tmp_path: Path) -> None:
    path = _write(tmp_path, b" " * (5 * 1024 * 1024 + 1))

    result = _run("check", path)

    assert result.returncode == EXIT_INVALID
    assert "larger than 5 MB" in result.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_check_refuses_an_endless_device_instead_of_reading_it_all() -> None:
    result = _run("check", "/dev/zero")

    assert result.returncode == EXIT_INVALID
    assert "larger than 5 MB" in result.stderr


def test_check_on_a_file_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    result = _run("check", tmp_path / "missing.json")

    assert result.returncode == EXIT_INVALID
    assert "missing.json: no such file." in result.stderr


def test_check_on_a_folder_exits_2(tmp_path: Path) -> None:
    result = _run("check", tmp_path)

    assert result.returncode == EXIT_INVALID
    assert "this is a folder, not a review file." in result.stderr


def test_check_with_an_invalid_thresholds_file_names_the_thresholds_file_and_field(
    tmp_path: Path,
) -> None:
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text('{"recent_evidence_weeks": 0}', encoding="utf-8")

    result = _run("check", READY, "--thresholds", thresholds)

    assert result.returncode == EXIT_INVALID
    assert f"{thresholds}: the thresholds file is not valid." in result.stderr
    assert "recent evidence weeks: Enter a number of at least 1." in result.stderr


def test_schema_prints_a_json_schema_with_definitions() -> None:
    result = _run("schema")

    assert result.returncode == EXIT_OK, result.stderr
    schema = json.loads(result.stdout)
    assert "$defs" in schema
    assert "case" in schema["properties"]


def test_docs_check_passes_on_the_committed_check_reference() -> None:
    result = _run("docs", "--check", "--out", "docs/checks.md")

    assert result.returncode == EXIT_OK, result.stderr
    assert "docs/checks.md is up to date." in result.stdout


def test_docs_check_fails_on_a_stale_copy_and_leaves_it_unchanged(tmp_path: Path) -> None:
    stale = tmp_path / "checks.md"
    stale.write_text("# Checks\n\nAn old version.\n", encoding="utf-8")

    result = _run("docs", "--check", "--out", stale)

    assert result.returncode == EXIT_BLOCKED
    assert "is out of date" in result.stderr
    assert stale.read_text(encoding="utf-8") == "# Checks\n\nAn old version.\n"
