"""A case reference can never be a name (issue 9, item 12).

The rule is the model's (core.case_reference, applied by Case when asked for a new review), so
the command's `check`, the service's start and the app's Start a review page refuse the same
references with the same plain message; a council sets its own form in settings. Reviews stored
under an earlier rule still load, save, seal and verify.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app_support import (
    DemoDatabase,
    app_test,
    as_seen,
    copy_database,
    point_app_at,
    start_review,
    text_input,
)
from closure_readiness.core.case_reference import new_reference, written_like_a_name
from closure_readiness.core.errors import explain
from closure_readiness.core.review import Case, Review
from closure_readiness.core.vocabulary import Involvement
from closure_readiness.service import reviews
from closure_readiness.service.context import Context, InvalidInput
from closure_readiness.settings import Settings
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import verify
from workflow_fixtures import (
    Team,
    approve,
    prepare,
    ready_document,
    ready_review,
    sign,
)

ROOT = Path(__file__).resolve().parents[1]
PLAIN = "A case reference must be your council's reference"
NAMES = [
    "Jayden-Smith",
    "jayden smith",
    "J Smith",
    "JAYDEN-SMITH",
    "Jayden-Smith-2",
    "JSmith7",
    "jayden-smith-2",
]
"""Names as a worker might type them in the reference box: all refused for a new review."""


def _references_in_use() -> set[str]:
    """Every case reference the examples, tests, fidelity corpus and demo seed use."""
    found: set[str] = set()
    places = [ROOT / "examples", ROOT / "tests", ROOT / "src" / "closure_readiness" / "demo"]
    reference = re.compile(r"\b(?:CR|FID)-[A-Z0-9-]*[0-9][A-Z0-9-]*\b")
    for place in places:
        for path in place.rglob("*"):
            if path.suffix in (".py", ".json") and path.is_file():
                found.update(reference.findall(path.read_text(encoding="utf-8")))
    return found


def _case(reference: str) -> dict[str, Any]:
    case: dict[str, Any] = ready_document()["case"]
    case["case_reference"] = reference
    return case


def _refusal(reference: str, pattern: str | None = None) -> str:
    with pytest.raises(ValidationError) as caught:
        Case.model_validate(_case(reference), context=new_reference(pattern))
    [problem] = explain(caught.value, Case)
    assert problem.loc == ("case_reference",)
    return problem.message


# The model


@pytest.mark.parametrize("typed", NAMES)
def test_a_name_is_refused_as_the_reference_of_a_new_review(typed: str) -> None:
    message = _refusal(typed)

    assert message.startswith(PLAIN)
    assert "never a name" in message
    assert "CR-2024-0117" in message


def test_the_message_says_what_is_wrong_in_plain_words() -> None:
    assert "written like a name" in _refusal("Jayden-Smith")
    assert "no numbers" in _refusal("JAYDEN-SMITH")


@pytest.mark.parametrize(
    "typed", ["CR-2024-0117", "cr-2025-0412", "CR-SOUTH-0001", "FID-READY-TR1", "12345", "J-K-07"]
)
def test_a_council_reference_is_accepted_and_kept_in_capitals(typed: str) -> None:
    case = Case.model_validate(_case(typed), context=new_reference())

    assert case.case_reference == typed.upper()


def test_every_reference_already_used_in_examples_tests_and_demo_passes_the_default_rule() -> None:
    used = _references_in_use()

    assert {"CR-2025-0412", "CR-DEMO-1001", "FID-READY-TR1", "CR-SOUTH-0001"} <= used
    problems = {ref: _problem_of(ref) for ref in used}
    assert {ref: p for ref, p in problems.items() if p is not None} == {}


def _problem_of(reference: str) -> str | None:
    try:
        Case.model_validate(_case(reference), context=new_reference())
    except ValidationError as error:
        return str(explain(error, Case)[0])
    return None


def test_a_stored_review_is_not_held_to_the_rule_so_it_still_loads() -> None:
    document = ready_document()
    document["case"]["case_reference"] = "JAYDEN-SMITH"  # accepted before the rule existed

    assert Review.model_validate(document).case.case_reference == "JAYDEN-SMITH"
    with pytest.raises(ValidationError):
        Review.model_validate(document, context=new_reference())


def test_only_how_a_name_is_written_tells_it_from_a_reference() -> None:
    assert written_like_a_name("Jayden-Smith")
    assert written_like_a_name("jayden smith")
    assert written_like_a_name("J.Smith")
    assert written_like_a_name("jayden-smith-2")
    assert written_like_a_name("smith/jayden07")
    assert not written_like_a_name("CR-SOUTH-0001")
    assert not written_like_a_name("cr-south-0001")
    assert not written_like_a_name("CR-E2E-ABC")


# A council's own pattern


def test_a_council_pattern_replaces_the_default_rule() -> None:
    pattern = r"[0-9]{6}"

    assert Case.model_validate(_case("123456"), context=new_reference(pattern))
    message = _refusal("CR-2024-0117", pattern)
    assert message.startswith(PLAIN)
    assert "not in the form your council uses" in message
    assert "CR-2024-0117" not in message  # the default's example would mislead
    assert "written like a name" in _refusal("Jayden-Smith-2", r"[A-Z0-9-]+")


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSURE_CASE_REFERENCE_PATTERN", r"LA[0-9]{6}")

    assert Settings().case_reference_pattern == r"LA[0-9]{6}"


def test_without_the_setting_the_default_rule_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOSURE_CASE_REFERENCE_PATTERN", raising=False)

    assert Settings().case_reference_pattern is None


@pytest.mark.parametrize(
    ("pattern", "says"),
    [("[A-Z", "not a regular expression"), ("[A-Z/-]+", "accepts a name (JAYDEN-SMITH)")],
)
def test_a_pattern_that_is_broken_or_accepts_names_is_refused(pattern: str, says: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(says)):
        Settings(case_reference_pattern=pattern)


# The command


def _check(tmp_path: Path, reference: str, **env: str) -> subprocess.CompletedProcess[str]:
    document = ready_document()
    document["case"]["case_reference"] = reference
    path = tmp_path / "review.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLOSURE_")}
    environment.update({"CLOSURE_ENVIRONMENT": "test", **env})
    return subprocess.run(
        [sys.executable, "-m", "closure_readiness.cli", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def test_check_refuses_a_name_with_exit_2_and_the_plain_message(tmp_path: Path) -> None:
    result = _check(tmp_path, "Jayden-Smith")

    assert result.returncode == 2
    assert PLAIN in result.stderr
    assert "case reference" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_check_uses_the_council_pattern_from_settings(tmp_path: Path) -> None:
    council = {"CLOSURE_CASE_REFERENCE_PATTERN": r"LA[0-9]{6}"}

    assert _check(tmp_path, "LA123456", **council).returncode == 0
    refused = _check(tmp_path, "CR-2025-0412", **council)
    assert refused.returncode == 2
    assert "not in the form your council uses" in refused.stderr


def test_check_explains_a_broken_setting_without_a_traceback(tmp_path: Path) -> None:
    result = _check(tmp_path, "CR-2025-0412", CLOSURE_CASE_REFERENCE_PATTERN="[A-Z")

    assert result.returncode == 2
    assert "CLOSURE_CASE_REFERENCE_PATTERN" in result.stderr
    assert "not a regular expression" in result.stderr
    assert "Traceback" not in result.stderr


# The service


@pytest.mark.parametrize("typed", NAMES)
def test_the_service_refuses_to_start_a_review_for_a_name(
    ctx: Context, team: Team, typed: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        reviews.start_review(ctx, team.worker, _case(typed))

    [problem] = caught.value.problems
    assert problem.message.startswith(PLAIN)
    assert reviews.list_reviews(ctx, team.worker) == []


def test_the_service_refuses_a_name_given_as_a_case_already_built(ctx: Context, team: Team) -> None:
    built = Case.model_validate(_case("JAYDEN-SMITH"))  # no rule asked for: a stored shape

    with pytest.raises(InvalidInput):
        reviews.start_review(ctx, team.worker, built)


def test_the_service_uses_the_council_pattern_of_its_context(ctx: Context, team: Team) -> None:
    council = dataclasses.replace(ctx, case_reference_pattern=r"LA[0-9]{6}")

    with pytest.raises(InvalidInput):
        reviews.start_review(council, team.worker, _case("CR-2025-0412"))
    assert reviews.start_review(council, team.worker, _case("LA123456")) > 0


def test_a_review_started_under_an_earlier_rule_still_loads_saves_seals_and_verifies(
    ctx: Context, team: Team
) -> None:
    earlier = dataclasses.replace(ctx, case_reference_pattern=r"[A-Z-]+")
    review_id = prepare(earlier, team.worker, ready_review("JAYDEN-SMITH"))

    record = reviews.get_review(ctx, team.worker, review_id)  # today's default rule
    assert record.case_reference == "JAYDEN-SMITH"
    document = record.review.model_dump(mode="json")
    document["answers"]["exit"]["contacts_given"] = True
    reviews.save_review(ctx, team.worker, review_id, document, expected_version=record.version)
    approve(ctx, team.manager, sign(ctx, team.worker, review_id))
    assert reviews.get_review(ctx, team.worker, review_id).status == "approved"
    with reading(ctx.db_path) as db:
        assert verify(db).intact


# The app's Start a review page


def _start(reference: str) -> Any:
    at = app_test("caseworker", page="start_review")
    return start_review(
        at,
        case_reference=reference,
        birth_month="2009-04",
        involvement=Involvement.CHILD_IN_NEED,
        opened_on=dt.date(2025, 1, 6),
        proposed_closure_on=dt.date(2025, 6, 30),
    )


def test_start_a_review_refuses_a_name_beside_the_field_and_in_the_summary(
    template: DemoDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = copy_database(template, tmp_path)
    point_app_at(monkeypatch, demo)
    before = len(reviews.list_reviews(demo.context(), demo.principal("caseworker")))

    at = _start("Jayden-Smith")

    assert not at.exception
    assert [str(t.value) for t in at.title] == ["Start a closure review"]
    summary, beside = (as_seen(str(e.value)) for e in at.error)
    assert summary.startswith("There is a problem")
    assert PLAIN in summary
    assert beside.startswith(PLAIN)  # under the Case reference box
    assert text_input(at, "Case reference").value == "Jayden-Smith"  # kept to correct
    after = reviews.list_reviews(demo.context(), demo.principal("caseworker"))
    assert len(after) == before


def test_start_a_review_uses_the_council_pattern_from_settings(
    template: DemoDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = copy_database(template, tmp_path)
    point_app_at(monkeypatch, demo, CLOSURE_CASE_REFERENCE_PATTERN=r"LA[0-9]{6}")

    refused = _start("CR-TEST-0005")
    assert "not in the form your council uses" in as_seen(str(refused.error[0].value))

    started = _start("LA123456")
    assert not started.error
    assert [str(t.value) for t in started.title] == ["Closure review LA123456"]
