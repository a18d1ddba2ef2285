"""The use cases as small named steps: no function over 60 lines, and a save validates the
review once (the service's own gate), with what it stores unchanged."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.core.canonical import content_hash
from closure_readiness.core.review import Review
from closure_readiness.service import reviews
from closure_readiness.service.context import Context, InvalidInput, Refused
from workflow_fixtures import Team, grant, prepare, ready_document, unnotified_review

SRC = Path(__file__).resolve().parents[1] / "src" / "closure_readiness"
STEPPED = ("service/reviews.py", "service/decisions.py", "demo/seed.py", "core/workflow.py")
MAX_LINES = 60


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_LINES
    ]


@pytest.mark.parametrize("module", STEPPED)
def test_no_function_is_over_sixty_lines(module: str) -> None:
    assert _long_functions(SRC / module) == []


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Review.model_validate / model_validate_json call made while the test runs."""
    calls: list[str] = []

    def counted(name: str) -> Callable[..., Review]:
        original = getattr(Review, name)

        def call(*args: Any, **kwargs: Any) -> Review:
            calls.append(name)
            result: Review = original(*args, **kwargs)
            return result

        return call

    for name in ("model_validate", "model_validate_json"):
        monkeypatch.setattr(Review, name, staticmethod(counted(name)))
    return calls


def _draft(ctx: Context, team: Team) -> tuple[int, int]:
    """A saved draft of the ready example, read once as the page reads it: (id, version)."""
    review_id = prepare(ctx, team.worker, unnotified_review())
    record = reviews.get_review(ctx, team.worker, review_id)
    return review_id, record.version


def _changed_document() -> dict[str, Any]:
    document = unnotified_review().model_dump(mode="json")
    document["answers"]["exit"]["notes"] = "Checked again with the family on the phone."
    return document


def test_saving_a_review_validates_it_once(
    ctx: Context, team: Team, validations: list[str]
) -> None:
    review_id, version = _draft(ctx, team)
    changed = Review.model_validate(_changed_document())  # the page's own check
    validations.clear()
    reviews.save_review(ctx, team.worker, review_id, changed, expected_version=version)
    assert validations == ["model_validate"]


def test_saving_a_document_validates_it_once(
    ctx: Context, team: Team, validations: list[str]
) -> None:
    review_id, version = _draft(ctx, team)
    document = _changed_document()
    validations.clear()
    reviews.save_review(ctx, team.worker, review_id, document, expected_version=version)
    assert validations == ["model_validate"]


def test_the_service_does_not_trust_a_review_built_without_validation(
    ctx: Context, team: Team
) -> None:
    """A Review made by copying (no validation) that cites evidence not in the register is
    refused in plain words, as a document with the same content is."""
    review_id, version = _draft(ctx, team)
    good = unnotified_review()
    bad = good.model_copy(update={"evidence": []})
    with pytest.raises(InvalidInput) as refused:
        reviews.save_review(ctx, team.worker, review_id, bad, expected_version=version)
    assert refused.value.message == "Some answers need correcting."
    assert refused.value.problems
    assert reviews.get_review(ctx, team.worker, review_id).version == version


def test_what_is_stored_is_the_validated_review_with_the_records_own_fields(
    ctx: Context, team: Team
) -> None:
    """Whatever the worker sends for the allocation and the manager's exceptions, the stored
    content is the validated review with the record's worker, team and exceptions: the same
    bytes and hash as validating the whole merged document."""
    review_id = prepare(ctx, team.worker, unnotified_review())
    grant(ctx, team.worker, team.manager, review_id, "exit.E003")
    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.review.exceptions
    document = _changed_document()
    document["case"]["allocated_worker"] = "SW-OTHER"
    document["case"]["team"] = "Elsewhere"
    document["exceptions"] = []
    version = reviews.save_review(
        ctx, team.worker, review_id, document, expected_version=record.version
    )
    stored = reviews.get_review(ctx, team.worker, review_id)
    expected = Review.model_validate(
        {
            **document,
            "case": {
                **document["case"],
                "allocated_worker": team.worker.staff_id,
                "team": team.worker.team,
            },
            "exceptions": [e.model_dump() for e in record.review.exceptions],
        }
    )
    assert stored.version == version == record.version + 1
    assert stored.review == expected
    assert stored.content_hash == content_hash(expected)


def test_the_case_reference_still_cannot_change(ctx: Context, team: Team) -> None:
    review_id, version = _draft(ctx, team)
    document = ready_document()
    document["case"]["case_reference"] = "CR-OTHER-1"
    with pytest.raises(Refused, match="case reference of a review cannot change"):
        reviews.save_review(ctx, team.worker, review_id, document, expected_version=version)
