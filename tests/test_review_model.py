"""The review model refuses what a caseworker could get wrong, and says which field and why."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from closure_readiness.core.errors import FieldProblem, explain
from closure_readiness.core.review import Review
from closure_readiness.core.text import LONG_TEXT_MAX, SHORT_TEXT_MAX

READY = (
    Path(__file__).resolve().parents[1] / "examples" / "ready-three-agencies-sustained-change.json"
)
READY_DATA: dict[str, Any] = json.loads(READY.read_text(encoding="utf-8"))


def _ready() -> dict[str, Any]:
    """A fresh copy of the ready example's data, to change one thing in."""
    return copy.deepcopy(READY_DATA)


def _problems(data: dict[str, Any]) -> list[FieldProblem]:
    """What explain() says about data the model refuses (fails if the model accepts it)."""
    with pytest.raises(ValidationError) as caught:
        Review.model_validate(data)
    return explain(caught.value, Review)


def _problems_in_json(text: str) -> list[FieldProblem]:
    with pytest.raises(ValidationError) as caught:
        Review.model_validate_json(text)
    return explain(caught.value, Review)


def test_ready_example_is_a_valid_review() -> None:
    assert Review.model_validate(_ready()).case.case_reference == "CR-2025-0412"


def test_case_reference_that_looks_like_a_name_is_refused() -> None:
    data = _ready()
    data["case"]["case_reference"] = "Jamie Smith"

    [problem] = _problems(data)

    assert problem.field == "case › case reference"
    assert "never a name" in problem.message


def test_lowercase_case_reference_is_normalised_to_uppercase() -> None:
    data = _ready()
    data["case"]["case_reference"] = " cr-2025-0412 "

    assert Review.model_validate(data).case.case_reference == "CR-2025-0412"


@pytest.mark.parametrize(
    ("char", "code"),
    [
        pytest.param("\x00", "U+0000", id="nul"),
        pytest.param("\x07", "U+0007", id="bell"),
        pytest.param("\x1b", "U+001B", id="escape"),
        pytest.param("\x7f", "U+007F", id="delete"),
        pytest.param("\r", "U+000D", id="carriage-return"),
    ],
)
def test_control_character_in_text_is_refused_naming_field_and_character(
    char: str, code: str
) -> None:
    data = _ready()
    data["evidence"][1]["shows"] = f"No missing episodes{char} since November."

    [problem] = _problems(data)

    assert problem.field == "evidence 2 › what it shows"
    assert "invisible control character" in problem.message
    assert code in problem.message


@pytest.mark.parametrize(
    ("char", "code"),
    [
        pytest.param("\u202e", "U+202E", id="right-to-left-override"),
        pytest.param("\u2066", "U+2066", id="left-to-right-isolate"),
    ],
)
def test_text_direction_character_is_refused_naming_field_and_character(
    char: str, code: str
) -> None:
    data = _ready()
    data["case"]["team"] = f"North {char}maeT tnecselodA"

    [problem] = _problems(data)

    assert problem.field == "case › team"
    assert "text-direction character" in problem.message
    assert code in problem.message


def test_lone_surrogate_in_python_input_is_refused_as_a_broken_character() -> None:
    data = _ready()
    data["answers"]["exit"]["parent_view"] = "Agrees \ud800 with closure."

    [problem] = _problems(data)

    assert problem.field == "answers › exit › parent or carer's view on closure"
    assert "broken character" in problem.message


def test_lone_surrogate_escape_in_json_text_is_refused_with_a_message() -> None:
    text = json.dumps(_ready()).replace("North Adolescent Team", "North \\ud800 Team")
    assert "\\ud800" in text

    [problem] = _problems_in_json(text)

    assert "not valid JSON" in problem.message
    assert "line 1 column" in problem.message


def test_newline_is_allowed_in_long_text() -> None:
    data = _ready()
    data["evidence"][0]["shows"] = "Attendance up.\nAutumn 61%, spring 94%."

    review = Review.model_validate(data)

    assert review.evidence[0].shows == "Attendance up.\nAutumn 61%, spring 94%."


def test_newline_is_refused_in_short_text() -> None:
    data = _ready()
    data["evidence"][0]["record_ref"] = "EDU-ATT\n25-01"

    [problem] = _problems(data)

    assert problem.field == "evidence 1 › case record reference"
    assert "U+000A" in problem.message


def test_megabyte_of_long_text_is_refused_with_the_limit() -> None:
    data = _ready()
    data["evidence"][2]["shows"] = "x" * 1_000_000

    [problem] = _problems(data)

    assert problem.field == "evidence 3 › what it shows"
    assert problem.message == f"Shorten this to at most {LONG_TEXT_MAX} characters."


def test_short_text_one_character_over_the_limit_is_refused_with_the_limit() -> None:
    data = _ready()
    data["case"]["team"] = "T" * (SHORT_TEXT_MAX + 1)

    [problem] = _problems(data)

    assert problem.field == "case › team"
    assert f"at most {SHORT_TEXT_MAX} characters" in problem.message


def test_short_text_exactly_at_the_limit_is_accepted() -> None:
    data = _ready()
    data["case"]["team"] = "T" * SHORT_TEXT_MAX

    assert len(Review.model_validate(data).case.team) == SHORT_TEXT_MAX


def test_closure_before_opening_is_refused_naming_both_dates() -> None:
    data = _ready()
    data["case"]["opened_on"] = "2025-06-01"

    [problem] = _problems(data)

    assert problem.field == "case"
    assert "proposed closure date (2025-05-30)" in problem.message
    assert "opened (2025-06-01)" in problem.message


def test_evidence_dated_after_the_proposed_closure_is_refused_naming_the_item() -> None:
    data = _ready()
    data["evidence"][3]["observed_on"] = "2025-06-02"

    [problem] = _problems(data)

    assert "Evidence E4 is dated 2025-06-02" in problem.message
    assert "after the proposed closure date (2025-05-30)" in problem.message


def test_evidence_dated_before_birth_is_refused_naming_the_item() -> None:
    data = _ready()
    data["evidence"][0]["observed_on"] = "2009-05-31"

    [problem] = _problems(data)

    assert "Evidence E1 is dated 2009-05-31" in problem.message
    assert "before the young person was born" in problem.message


def test_incident_dated_after_the_proposed_closure_is_refused_naming_the_incident() -> None:
    data = _ready()
    data["incidents"][1]["occurred_on"] = "2025-07-01"

    [problem] = _problems(data)

    assert "Incident I2 is dated 2025-07-01" in problem.message


def test_citation_of_unknown_evidence_names_the_theme_and_the_id() -> None:
    data = _ready()
    data["answers"]["pace"]["cited"] = ["E1", "E77"]

    [problem] = _problems(data)

    assert "The pace answer cites evidence E77" in problem.message
    assert "not in the evidence register" in problem.message


def test_duplicate_evidence_ids_are_refused_naming_the_id() -> None:
    data = _ready()
    data["evidence"][4]["id"] = "E2"

    [problem] = _problems(data)

    assert problem.message == "Two evidence entries share the id E2; give each its own id."


def test_unknown_field_is_refused_naming_it() -> None:
    data = _ready()
    data["case"]["child_name"] = "Jamie"

    [problem] = _problems(data)

    assert problem.field == "case › child name"
    assert problem.message == "This field is not part of a review; remove it."


def test_unknown_field_name_is_shown_without_its_terminal_escapes() -> None:
    data = _ready()
    data["case"]["\x1b[2J\u202eall clear"] = True

    [problem] = _problems(data)

    assert "\x1b" not in problem.field
    assert "\u202e" not in problem.field
    assert problem.field == "case › \\u001b[2J\\u202eall clear"


def test_very_long_unknown_field_name_is_cut_short() -> None:
    data = _ready()
    data["answers"]["x" * 100_000] = {}

    [problem] = _problems(data)

    assert len(problem.field) < 60
    assert problem.field.endswith("…")


def test_impossible_date_is_refused_naming_the_field() -> None:
    data = _ready()
    data["case"]["opened_on"] = "2025-02-30"

    [problem] = _problems(data)

    assert problem.field == "case › date opened"
    assert "year-month-day" in problem.message


def test_whole_input_that_is_not_an_object_is_refused_as_not_one_json_object() -> None:
    [problem] = _problems_in_json("[]")

    assert problem.message == "The file should hold one JSON object."


def test_missing_case_is_refused_as_required() -> None:
    data = _ready()
    del data["case"]

    [problem] = _problems(data)

    assert problem.field == "case"
    assert problem.message == "This is required; enter it."


def test_models_are_frozen() -> None:
    review = Review.model_validate(_ready())

    with pytest.raises(ValidationError):
        review.case.case_reference = "CR-9999-0001"  # type: ignore[misc]


def test_evidence_items_inside_a_review_are_frozen_too() -> None:
    review = Review.model_validate(_ready())

    with pytest.raises(ValidationError):
        review.evidence[0].observed_on = review.case.proposed_closure_on  # type: ignore[misc]
