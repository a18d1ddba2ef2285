"""Every check has example data it must pass and example data it must fail (tests/examples/)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.checks import REGISTRY, evaluate
from closure_readiness.core.review import dated_after
from example_data import (
    EXAMPLES_DIR,
    apply_merge_patch,
    example_files,
    example_id,
    load_example,
)

EXAMPLES = example_files()


@pytest.mark.parametrize("path", EXAMPLES, ids=[example_id(path) for path in EXAMPLES])
def test_the_named_check_passes_or_fails_as_the_example_file_name_says(path: Path) -> None:
    check_id = path.parent.name
    expected_to_pass = path.stem.startswith("pass_")
    assert expected_to_pass or path.stem.startswith("fail_"), "name examples pass_* or fail_*"
    review, as_of = load_example(path)
    as_of = as_of or review.case.proposed_closure_on
    assert not dated_after(review, as_of), "the as-of date is before evidence the review records"

    report = evaluate(review, as_of=as_of)

    [result] = [result for result in report.results if result.id == check_id]
    assert not result.crashed
    assert result.passed is expected_to_pass, [finding.message for finding in result.findings]
    if not expected_to_pass:
        assert result.findings
        for finding in result.findings:
            assert finding.message.strip()
            assert finding.hint.strip()


def test_every_registered_check_has_a_passing_and_a_failing_example() -> None:
    missing = []
    for check_id in REGISTRY.ids():
        folder = EXAMPLES_DIR / check_id
        for kind in ("pass", "fail"):
            if not list(folder.glob(f"{kind}_*.json")):
                missing.append(f"{check_id}: no {kind}_*.json")
    assert not missing


def test_no_example_folder_names_an_unregistered_check() -> None:
    folders = {path.name for path in EXAMPLES_DIR.iterdir() if path.is_dir()}
    assert folders - set(REGISTRY.ids()) == set()


def test_no_example_folder_holds_a_file_that_is_not_an_example() -> None:
    strays = [
        path.relative_to(EXAMPLES_DIR).as_posix()
        for path in EXAMPLES_DIR.rglob("*")
        if path.is_file()
        and not (
            path.parent.parent == EXAMPLES_DIR
            and path.suffix == ".json"
            and path.stem.startswith(("pass_", "fail_"))
        )
    ]
    assert strays == []


# RFC 7386, appendix A, in order: target, patch, result.
RFC_7386_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_7386_EXAMPLES)
def test_merge_patch_gives_the_results_of_the_rfc_7386_examples(
    target: Any, patch: Any, result: Any
) -> None:
    target_before, patch_before = copy.deepcopy(target), copy.deepcopy(patch)

    assert apply_merge_patch(target, patch) == result
    assert (target, patch) == (target_before, patch_before)


def test_merge_patch_result_shares_nothing_with_its_inputs() -> None:
    target = {"keep": {"list": [1]}, "change": {"x": 1}}
    patch = {"change": {"list": [2]}}

    merged = apply_merge_patch(target, patch)
    merged["keep"]["list"].append(3)
    merged["change"]["list"].append(3)

    assert target == {"keep": {"list": [1]}, "change": {"x": 1}}
    assert patch == {"change": {"list": [2]}}
