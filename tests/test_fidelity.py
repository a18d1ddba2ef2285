"""Fidelity corpus: published case reviews encoded as whole reviews must be blocked for the gap
the review found, and well-evidenced closures must be ready (see tests/fidelity/README.md).

Each case runs through the real command line, as a worker's export would. An entry marked
`known_disagreement` is a published case the checks do not yet judge as a practice lead
would: it is expected to fail (strict), so the test turns red the day a check change fixes it
and the entry must then lose its mark.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.checks import REGISTRY
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import Route

REPO_ROOT = Path(__file__).resolve().parents[1]
FIDELITY = Path(__file__).resolve().parent / "fidelity"
CORPUS_FILE = FIDELITY / "corpus.json"
SOURCES_FILE = FIDELITY / "SOURCES.md"
CORPUS: list[dict[str, Any]] = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))
EXIT_CODE = {"ready": 0, "blocked": 1}
PUBLISHED_PREFIX = "review-"
ENTRY_KEYS = {
    "file",
    "source",
    "passage",
    "assumptions",
    "expected_outcome",
    "expected_ids",
    "practice_lead_says",
}
OPTIONAL_KEYS = {"sources_entry", "known_disagreement"}
# Words of real children's names once found in a source address, kept only as SHA-256 hashes
# so that the guard does not itself repeat them.
REAL_NAME_HASHES = frozenset(
    {
        "6d2f8d6f9d8975f8d57e814388aa7170950b0d695b5f2a5404e24cb20d0eb371",
        "f6e9ec755b6c523d15024d1562821f9532bf04f5d1f879a5b3bc4d5f4b97364e",
    }
)


def _cli() -> str:
    beside_python = Path(sys.executable).parent / "closure-readiness"
    found = str(beside_python) if beside_python.exists() else shutil.which("closure-readiness")
    assert found, "the closure-readiness command is not installed"
    return found


@cache
def run_check(path: Path) -> tuple[int, dict[str, Any] | None, str]:
    """Exit code, parsed JSON report (None when there is none), and stderr; run once per file."""
    done = subprocess.run(
        [_cli(), "check", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout) if done.returncode in (0, 1) else None
    return done.returncode, report, done.stderr


def open_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        finding
        for result in report["results"]
        for finding in result["findings"]
        if finding["resolution"] == "open"
    ]


def _entry_param(entry: dict[str, Any]) -> Any:
    marks = []
    if entry.get("known_disagreement"):
        marks.append(pytest.mark.xfail(reason=entry["known_disagreement"], strict=True))
    return pytest.param(entry, id=entry["file"].removesuffix(".json"), marks=marks)


@pytest.mark.parametrize("entry", [_entry_param(entry) for entry in CORPUS])
def test_the_check_reaches_the_outcome_a_practice_lead_expects(entry: dict[str, Any]) -> None:
    code, report, stderr = run_check(FIDELITY / entry["file"])

    assert report is not None, f"the review file is not valid:\n{stderr}"
    found = open_findings(report)
    found_ids = {finding["check_id"] for finding in found}
    summary = sorted(f"{f['check_id']}: {f['message']}" for f in found)
    assert code == EXIT_CODE[entry["expected_outcome"]], summary
    missing = set(entry["expected_ids"]) - found_ids
    assert not missing, f"expected open findings {sorted(missing)}; open: {summary}"
    if entry["expected_outcome"] == "ready":
        assert report["sign_off_possible"] is True
        assert [f for f in found if f["level"] == "blocker"] == []


@pytest.mark.parametrize("entry", CORPUS, ids=[entry["file"] for entry in CORPUS])
def test_every_corpus_file_is_a_complete_version_2_review(entry: dict[str, Any]) -> None:
    """Checked apart from the outcome, so a known disagreement can never hide a broken file."""
    text = (FIDELITY / entry["file"]).read_text(encoding="utf-8")
    document = json.loads(text)

    assert document.get("schema_version") == 2
    review = Review.model_validate_json(text)
    assert review.case.case_reference.startswith("FID-")
    code, report, stderr = run_check(FIDELITY / entry["file"])
    assert code in (0, 1), stderr
    assert report is not None
    assert not any(result["crashed"] for result in report["results"])


def test_every_review_file_in_the_folder_is_listed_in_the_corpus() -> None:
    on_disk = {path.name for path in FIDELITY.glob("*.json")} - {CORPUS_FILE.name}
    listed = [entry["file"] for entry in CORPUS]

    assert len(listed) == len(set(listed)), "a file is listed twice"
    assert sorted(on_disk - set(listed)) == [], "review files missing from corpus.json"
    assert sorted(set(listed) - on_disk) == [], "corpus.json lists files that do not exist"


@pytest.mark.parametrize("entry", CORPUS, ids=[entry["file"] for entry in CORPUS])
def test_every_entry_is_complete_and_names_registered_checks(entry: dict[str, Any]) -> None:
    assert ENTRY_KEYS <= set(entry) <= ENTRY_KEYS | OPTIONAL_KEYS
    assert entry["expected_outcome"] in EXIT_CODE
    assert entry["practice_lead_says"].strip()
    assert isinstance(entry["assumptions"], list)
    assert all(isinstance(text, str) and text.strip() for text in entry["assumptions"])
    assert set(entry["expected_ids"]) <= set(REGISTRY.ids())
    if entry["expected_outcome"] == "blocked":
        assert entry["expected_ids"], "a blocked case says which checks should block it"
    else:
        assert entry["expected_ids"] == []
    if "known_disagreement" in entry:
        assert entry["known_disagreement"].strip()


PUBLISHED = [entry for entry in CORPUS if entry["file"].startswith(PUBLISHED_PREFIX)]


@pytest.mark.parametrize("entry", PUBLISHED, ids=[entry["file"] for entry in PUBLISHED])
def test_a_published_case_cites_its_source_address_and_a_verbatim_passage(
    entry: dict[str, Any],
) -> None:
    sources = _squash(SOURCES_FILE.read_text(encoding="utf-8"))
    address = entry["source"]["address"]
    passage = _squash(entry["passage"])

    assert entry["source"]["title"].strip()
    assert address.startswith(("https://", "http://"))
    assert address in sources, "the address is not one recorded in SOURCES.md"
    assert passage, "a published case quotes the review"
    assert passage in sources, "the passage is not verbatim from SOURCES.md"
    assert f"## {entry['sources_entry']}" in SOURCES_FILE.read_text(encoding="utf-8")


def test_the_corpus_encodes_at_least_ten_published_cases() -> None:
    assert len({entry["sources_entry"] for entry in PUBLISHED}) >= 10


def test_the_ready_closures_cover_every_route_but_an_ended_one() -> None:
    routes = set()
    for entry in CORPUS:
        if entry["expected_outcome"] == "ready":
            review = Review.model_validate_json(
                (FIDELITY / entry["file"]).read_text(encoding="utf-8")
            )
            routes.add(review.case.route(review.case.proposed_closure_on))
    assert routes >= {Route.CHANGE, Route.TRANSFER, Route.TRANSITION, Route.ASSESSMENT}


def test_no_real_childs_name_appears_in_the_fidelity_folder() -> None:
    found = []
    for path in sorted(FIDELITY.rglob("*")):
        if path.is_file():
            words = re.findall(r"[a-z]+", path.read_text(encoding="utf-8").casefold())
            if any(_hash(word) in REAL_NAME_HASHES for word in set(words)):
                found.append(path.name)
    assert found == []


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _hash(word: str) -> str:
    return hashlib.sha256(word.encode("utf-8")).hexdigest()
