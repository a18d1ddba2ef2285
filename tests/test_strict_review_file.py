"""A review file from outside is read strictly (issue 11 item 13).

`closure-readiness check FILE` and a review document sent to the service are input: a value of
the wrong JSON type is refused with the field named, never quietly turned into something else
(true into 1 week, a number of seconds into a date, a time of day dropped from a date, "4" into
4). What we stored ourselves is still read as it always was.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from closure_readiness.cli import cli
from closure_readiness.core.review import Review, review_from_file
from closure_readiness.service import reviews
from closure_readiness.service.context import Context, InvalidInput
from example_data import SCENARIOS_DIR, example_files, example_id, load_document
from workflow_fixtures import V1_READY_SEALED_REVIEW, Team, prepare, unnotified_review

READY = SCENARIOS_DIR / "ready-three-agencies-sustained-change.json"
FIDELITY = Path(__file__).resolve().parent / "fidelity"
EXIT_OK, EXIT_INVALID = 0, 2


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the machine running the tests changes what `check` accepts."""
    import os

    for name in [name for name in os.environ if name.startswith("CLOSURE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def _ready() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(READY.read_text(encoding="utf-8"))
    return document


def _with(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def _check(tmp_path: Path, document: dict[str, Any]) -> Result:
    path = tmp_path / "review.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)], prog_name="closure-readiness")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


# Each value is one that lax parsing used to turn into something the file did not say.
LAX_VALUES = [
    pytest.param(
        ("answers", "pace", "maintenance_weeks"),
        True,
        "maintenance period agreed in the plan (weeks)",
        "Enter a whole number, not true or false.",
        id="true-as-a-number-of-weeks",
    ),
    pytest.param(
        ("answers", "pace", "maintenance_weeks"),
        "16",
        "maintenance period agreed in the plan (weeks)",
        "Enter a whole number without quotation marks",
        id="numeric-string-as-weeks",
    ),
    pytest.param(
        ("answers", "pace", "maintenance_weeks"),
        16.0,
        "maintenance period agreed in the plan (weeks)",
        "Enter a whole number, without a decimal point.",
        id="decimal-as-weeks",
    ),
    pytest.param(
        ("case", "plan_reviews_held"),
        "4",
        "plan reviews held",
        "Enter a whole number without quotation marks",
        id="numeric-string-as-a-count",
    ),
    pytest.param(
        ("schema_version",),
        True,
        "schema version",
        "Enter a whole number, not true or false.",
        id="true-as-the-schema-version",
    ),
    pytest.param(
        ("case", "opened_on"),
        1717372800,  # midnight on 03/06/2024 in seconds: read as that date
        "date opened",
        "not a number",
        id="number-as-a-date",
    ),
    pytest.param(
        ("case", "opened_on"),
        "2024-06-03T00:00:00",
        "date opened",
        "Enter the date alone, without a time",
        id="datetime-as-a-date",
    ),
    pytest.param(
        ("evidence", 0, "observed_on"),
        "2025-01-10T00:00:00Z",
        "date observed",
        "Enter the date alone, without a time",
        id="datetime-as-an-evidence-date",
    ),
    pytest.param(
        ("case", "exploitation_concern"),
        "true",
        "exploitation concern flagged",
        "Answer true (yes) or false (no), without quotation marks.",
        id="string-as-yes-no",
    ),
    pytest.param(
        ("case", "exploitation_concern"),
        1,
        "exploitation concern flagged",
        "Answer true (yes) or false (no), not a number.",
        id="number-as-yes-no",
    ),
    pytest.param(
        ("case", "orders_in_force"),
        "no",
        "a statutory order is in force",
        "Answer true (yes) or false (no), without quotation marks.",
        id="word-as-yes-no",
    ),
]


@pytest.mark.parametrize(("path", "value", "field", "message"), LAX_VALUES)
def test_check_refuses_a_lax_value_with_the_field_named(
    tmp_path: Path, path: tuple[str | int, ...], value: Any, field: str, message: str
) -> None:
    result = _check(tmp_path, _with(_ready(), path, value))

    assert result.exit_code == EXIT_INVALID, result.output
    assert "the review is not valid." in result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert field in line
    assert message in line


def test_the_ready_example_itself_is_ready(tmp_path: Path) -> None:
    """The control: the same file without the lax value is a valid, ready review."""
    assert _check(tmp_path, _ready()).exit_code == EXIT_OK


def test_every_lax_value_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    document = _with(_ready(), ("answers", "pace", "maintenance_weeks"), True)
    document = _with(document, ("case", "opened_on"), 1717372800)

    result = _check(tmp_path, document)

    assert result.exit_code == EXIT_INVALID
    assert "maintenance period agreed in the plan (weeks)" in result.output
    assert "date opened" in result.output


def test_a_review_file_is_still_checked_for_consistency_after_the_strict_reading(
    tmp_path: Path,
) -> None:
    """Strict types first, then the review's own rules (evidence cited must be registered)."""
    document = _ready()
    document["evidence"] = document["evidence"][1:]  # E1 is still cited

    result = _check(tmp_path, document)

    assert result.exit_code == EXIT_INVALID
    assert "E1" in result.output


def test_the_service_refuses_a_lax_value_in_a_document_it_is_sent(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    record = reviews.get_review(ctx, team.worker, review_id)
    document = unnotified_review().model_dump(mode="json")
    document["answers"]["pace"]["maintenance_weeks"] = True

    with pytest.raises(InvalidInput) as refused:
        reviews.save_review(ctx, team.worker, review_id, document, expected_version=record.version)

    [problem] = refused.value.problems
    assert problem.question.startswith("Maintenance period agreed in the plan (weeks)")
    assert "not true or false" in problem.message
    assert reviews.get_review(ctx, team.worker, review_id).version == record.version


def test_the_service_still_accepts_a_review_it_made_and_a_plain_document(
    ctx: Context, team: Team
) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    record = reviews.get_review(ctx, team.worker, review_id)
    document = unnotified_review().model_dump(mode="json")
    document["answers"]["exit"]["notes"] = "Checked again with the family."

    version = reviews.save_review(
        ctx, team.worker, review_id, document, expected_version=record.version
    )

    assert version == record.version + 1


def test_stored_content_is_still_read_as_before() -> None:
    """What we stored is ours: it is not held to the strict reading (an older store may have
    been written by a laxer version)."""
    stored = json.dumps(_with(_ready(), ("case", "plan_reviews_held"), "4"))
    assert Review.model_validate_json(stored).case.plan_reviews_held == 4


SCENARIOS = sorted(SCENARIOS_DIR.glob("*.json"))
CORPUS = sorted(FIDELITY.glob("*.json"))
REVIEW_FILES = [
    path for path in SCENARIOS + CORPUS if path.name not in ("expected.json", "corpus.json")
]


@pytest.mark.parametrize("path", REVIEW_FILES, ids=[path.name for path in REVIEW_FILES])
def test_every_example_and_fidelity_file_reads_strictly(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert review_from_file(text) == Review.model_validate_json(text)


EXAMPLES = example_files()


@pytest.mark.parametrize("path", EXAMPLES, ids=[example_id(path) for path in EXAMPLES])
def test_every_check_example_reads_strictly(path: Path) -> None:
    document, _ = load_document(path)
    text = json.dumps(document)
    assert review_from_file(text) == Review.model_validate_json(text)


def test_a_version_1_file_reads_strictly_after_its_upgrade() -> None:
    text = json.dumps(V1_READY_SEALED_REVIEW)
    review = review_from_file(text)
    assert review.schema_version == 2
    assert review == Review.model_validate_json(text)
