"""Editing a review's registers is the model's rule, not the wizard's: ids, citations, and which
gaps may be sent to a team manager for an exception."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.checks import CheckResult, Finding, ReadinessReport, Resolution, Thresholds
from closure_readiness.core.errors import explain
from closure_readiness.core.review import FamilySummary, InvalidChange, Review
from closure_readiness.service import reviews
from closure_readiness.service.records import ExceptionRequest, ReviewRecord

NEW_ITEM = {
    "id": "E6",
    "agency": "health",
    "kind": "record",
    "observed_on": "2025-05-01",
    "direction": "shows_change",
    "shows": "School nurse recorded no concerns at the last two contacts.",
    "record_ref": "",
}
NEW_INCIDENT = {
    "id": "I3",
    "kind": "missing_episode",
    "occurred_on": "2025-01-10",
    "summary": "Missing overnight, returned the next morning.",
    "record_ref": "",
}


def _citations(review: Review) -> dict[str, Any]:
    """Every list of evidence cited, by where it is in the answers."""
    found: dict[str, Any] = {}

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "cited":
                    found[where] = value
                else:
                    walk(value, f"{where}.{name}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}.{index}")

    walk(review.answers.model_dump(mode="json"), "answers")
    return found


def test_ready_example_cites_evidence_in_answers_and_plan_outcomes(ready_review: Review) -> None:
    """The cases below rest on this: E1 is cited by two steps and a plan outcome."""
    cited = _citations(ready_review)
    assert cited["answers.change"] == ["E1", "E2", "E3"]
    assert cited["answers.change.plan_outcomes.0"] == ["E1"]
    assert cited["answers.pace"] == ["E1"]


def test_removing_cited_evidence_strips_exactly_its_citations(ready_review: Review) -> None:
    after = ready_review.without_evidence("E1")

    assert [item.id for item in after.evidence] == ["E2", "E3", "E4", "E5"]
    before_cited = _citations(ready_review)
    after_cited = _citations(after)
    assert after_cited == {
        where: [ref for ref in refs if ref != "E1"] for where, refs in before_cited.items()
    }
    # Nothing else: put the item and its citations back and the review is as it was.
    unchanged = ready_review.model_dump(mode="json")
    changed = after.model_dump(mode="json")
    for document in (unchanged, changed):
        document["evidence"] = [e for e in document["evidence"] if e["id"] != "E1"]
        document["answers"] = None
    assert changed == unchanged


def test_removing_uncited_evidence_changes_only_the_register(ready_review: Review) -> None:
    after = ready_review.without_evidence("E5")

    assert ready_review.citing("E5") == []
    assert _citations(after) == _citations(ready_review)
    assert after.answers == ready_review.answers
    assert after.incidents == ready_review.incidents


def test_removing_evidence_stops_quoting_it_to_the_family(ready_review: Review) -> None:
    quoted = ready_review.model_copy(update={"family_summary": FamilySummary(quoted=["E1", "E2"])})
    review = Review.model_validate(quoted.model_dump(mode="json"))

    after = review.without_evidence("E1")

    assert after.family_summary is not None
    assert after.family_summary.quoted == ["E2"]


def test_citing_names_the_steps_in_wizard_order(ready_review: Review) -> None:
    assert ready_review.citing("E1") == ["change", "pace"]
    assert ready_review.citing("E4") == ["cause"]
    assert ready_review.citing("E5") == []


def test_a_plan_outcome_citation_counts_for_its_step(ready_review: Review) -> None:
    """E3 cited only by a plan outcome still names the step, and is still stripped."""
    document = ready_review.model_dump(mode="json")
    document["answers"]["change"]["cited"] = ["E1", "E2"]
    review = Review.model_validate(document)

    assert review.citing("E3") == ["change"]
    after = review.without_evidence("E3")
    assert [o.cited for o in after.answers.change.plan_outcomes] == [["E1"], []]


def test_removing_evidence_not_in_the_register_is_refused(ready_review: Review) -> None:
    with pytest.raises(KeyError):
        ready_review.without_evidence("E9")


def test_next_ids_follow_the_highest_in_use(ready_review: Review) -> None:
    assert ready_review.next_evidence_id == "E6"
    assert ready_review.next_incident_id == "I3"
    empty = Review.model_validate(
        {**ready_review.model_dump(mode="json"), "evidence": [], "incidents": [], "answers": {}}
    )
    assert (empty.next_evidence_id, empty.next_incident_id) == ("E1", "I1")


def test_an_id_below_the_highest_is_never_given_again(ready_review: Review) -> None:
    """Removing E2 leaves E5 the highest: the next item is E6, never E2 again."""
    after = ready_review.without_evidence("E2")

    assert after.next_evidence_id == "E6"
    assert after.with_evidence(NEW_ITEM).evidence[-1].id == "E6"
    assert ready_review.without_incident("I1").next_incident_id == "I3"


def test_removing_the_highest_frees_its_number(ready_review: Review) -> None:
    """Kept as the wizard always did it (decided in the closing note of issue 10): the review
    keeps no record of removed ids, so the number of the last item removed is given again."""
    assert ready_review.without_evidence("E5").next_evidence_id == "E5"
    assert ready_review.without_incident("I2").next_incident_id == "I2"


def test_ids_that_are_not_numbered_are_ignored(ready_review: Review) -> None:
    document = ready_review.model_dump(mode="json")
    document["evidence"][0]["id"] = "EDU-7"
    document["answers"] = {}
    assert Review.model_validate(document).next_evidence_id == "E6"


def test_with_evidence_adds_at_the_end(ready_review: Review) -> None:
    after = ready_review.with_evidence(NEW_ITEM)

    assert [item.id for item in after.evidence][-2:] == ["E5", "E6"]
    assert after.item("E6").shows == NEW_ITEM["shows"]
    assert after.answers == ready_review.answers


def test_with_changed_evidence_replaces_it_where_it_stands(ready_review: Review) -> None:
    changed = {**ready_review.item("E2").model_dump(mode="json"), "shows": "Corrected."}

    after = ready_review.with_changed_evidence(changed)

    assert [item.id for item in after.evidence] == ["E1", "E2", "E3", "E4", "E5"]
    assert after.item("E2").shows == "Corrected."
    assert after.item("E1") == ready_review.item("E1")
    with pytest.raises(KeyError):
        ready_review.with_changed_evidence({**changed, "id": "E9"})


def test_an_invalid_item_is_refused_with_the_document_that_places_it(
    ready_review: Review,
) -> None:
    """The refusal carries the review as changed, so each problem is named at its field."""
    with pytest.raises(InvalidChange) as refused:
        ready_review.with_evidence({**NEW_ITEM, "shows": ""})

    assert [e["id"] for e in refused.value.document["evidence"]][-1] == "E6"
    [problem] = explain(refused.value.error, Review, document=refused.value.document)
    assert problem.loc == ("evidence", 5, "shows")


def test_a_duplicate_id_is_refused(ready_review: Review) -> None:
    with pytest.raises(InvalidChange):
        ready_review.with_evidence({**NEW_ITEM, "id": "E1"})
    with pytest.raises(InvalidChange):
        ready_review.with_incident({**NEW_INCIDENT, "id": "I1"})


def test_incidents_are_added_and_removed_by_id(ready_review: Review) -> None:
    added = ready_review.with_incident(NEW_INCIDENT)
    assert [i.id for i in added.incidents] == ["I1", "I2", "I3"]

    removed = added.without_incident("I2")
    assert [i.id for i in removed.incidents] == ["I1", "I3"]
    assert removed.evidence == ready_review.evidence
    with pytest.raises(KeyError):
        removed.without_incident("I2")


# Which gaps may be sent to a team manager for an exception


def _finding(check_id: str, level: str, resolution: Resolution = Resolution.OPEN) -> Finding:
    return Finding(
        key=f"{check_id}:{'a' * 12}",
        check_id=check_id,
        level=level,
        message="Gap.",
        hint="",
        resolution=resolution,
    )


def _result(check_id: str, level: str, *, overridable: bool, findings: list[Finding]) -> Any:
    return CheckResult(
        id=check_id,
        title=check_id,
        theme=check_id.split(".")[0],
        level=level,
        overridable=overridable,
        passed=not findings,
        findings=findings,
    )


REPORT = ReadinessReport(
    checks_version="test",
    as_of=dt.date(2025, 6, 1),
    thresholds=Thresholds(),
    sign_off_possible=False,
    results=[
        _result(
            "exit.E001", "blocker", overridable=True, findings=[_finding("exit.E001", "blocker")]
        ),
        _result(
            "pace.E001", "blocker", overridable=False, findings=[_finding("pace.E001", "blocker")]
        ),
        _result(
            "family.E001",
            "blocker",
            overridable=True,
            findings=[_finding("family.E001", "blocker", Resolution.EXCEPTION)],
        ),
        _result(
            "sharing.E001",
            "blocker",
            overridable=True,
            findings=[_finding("sharing.E001", "blocker")],
        ),
        _result(
            "cause.W002", "caution", overridable=True, findings=[_finding("cause.W002", "caution")]
        ),
    ],
)


def test_only_open_blockers_of_overridable_checks_may_be_excepted() -> None:
    assert [f.check_id for f in REPORT.overridable_blockers] == ["exit.E001", "sharing.E001"]


def _request(finding_key: str, status: str) -> ExceptionRequest:
    return ExceptionRequest(
        id=1,
        review_id=1,
        finding_key=finding_key,
        check_id=finding_key.split(":")[0],
        requested_by="cw1",
        requested_at="2025-06-01T09:00:00+00:00",
        worker_reason="Closure is right.",
        status=status,
        decided_by=None,
        decided_at=None,
        manager_reason="",
    )


def _record(ready_review: Review, requests: list[ExceptionRequest]) -> ReviewRecord:
    return ReviewRecord(
        id=1,
        status="draft",
        version=1,
        worker_id="cw1",
        team="north",
        case_reference=ready_review.case.case_reference,
        content_hash="",
        review=ready_review,
        report=REPORT,
        created_at="",
        updated_at="",
        re_referral_of=None,
        exception_requests=requests,
    )


def test_a_gap_with_a_request_waiting_cannot_be_asked_again(ready_review: Review) -> None:
    exit_key, sharing_key = (f.key for f in REPORT.overridable_blockers)
    record = _record(ready_review, [_request(exit_key, "pending")])

    assert [f.key for f in reviews.askable_exceptions(record)] == [sharing_key]


def test_a_declined_request_may_be_asked_again(ready_review: Review) -> None:
    exit_key, sharing_key = (f.key for f in REPORT.overridable_blockers)
    record = _record(ready_review, [_request(exit_key, "declined")])

    assert [f.key for f in reviews.askable_exceptions(record)] == [exit_key, sharing_key]


# The wizard draws; it holds no rules and no function too long to read at once.

REPO_ROOT = Path(__file__).resolve().parents[1]
WIZARD = [
    *sorted((REPO_ROOT / "src/closure_readiness/views/review").glob("*.py")),
    REPO_ROOT / "src/closure_readiness/views/fields.py",
]
LONGEST = 60


def test_no_wizard_function_is_over_sixty_lines() -> None:
    too_long = [
        f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in WIZARD
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > LONGEST
    ]
    assert too_long == []


def test_one_list_editor_draws_every_list_of_entries() -> None:
    """Answers' lists and the case's lists share one editor (there were two copies)."""
    steps = (REPO_ROOT / "src/closure_readiness/views/review/steps.py").read_text("utf-8")
    editors = [
        node.name
        for node in ast.walk(ast.parse(steps))
        if isinstance(node, ast.FunctionDef) and node.name.endswith("list_editor")
    ]
    assert editors == ["list_editor"]
