"""Properties of the review model and the runner that hold for every valid review."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import assume, example, given
from hypothesis import strategies as st

from closure_readiness.checks import REGISTRY, Problem, ReadinessReport, Resolution, evaluate
from closure_readiness.checks.registry import Registry
from closure_readiness.core.review import Case, EvidenceItem, Review
from closure_readiness.core.text import LONG_TEXT_MAX
from closure_readiness.core.vocabulary import Agency, Direction, EvidenceKind, Involvement, Route
from strategies import long_text, reviews, reviews_without_evidence

MANAGER = "TM-001"
GRANTED_ON = dt.date(2025, 5, 29)

# Edge cases kept as explicit examples: the least a review can hold, and text at its limits.
BARE_REVIEW = Review(
    case=Case(
        case_reference="CR-0001",
        birth_month="2010-01",
        involvement=Involvement.EARLY_HELP,
        opened_on=dt.date(2010, 1, 1),
        proposed_closure_on=dt.date(2010, 1, 1),
    )
)
_EDGE_TEXT = "Ünïcödé ✓ 日本語 🙂\n\tline two "
LIMIT_REVIEW = Review.model_validate(
    {
        **BARE_REVIEW.model_dump(),
        "evidence": [
            EvidenceItem(
                id="E" * 24,
                agency=Agency.SCHOOL,
                kind=EvidenceKind.RECORD,
                observed_on=dt.date(2010, 1, 1),
                direction=Direction.CHANGE,
                shows=_EDGE_TEXT + "x" * (LONG_TEXT_MAX - len(_EDGE_TEXT)),
            ).model_dump()
        ],
        "answers": {"change": {"cited": ["E" * 24]}},
    }
)

TWIN_NEEDS_REVIEW = Review.model_validate(
    {
        **BARE_REVIEW.model_dump(),
        "answers": {"support": {"needs": [{"need": "Mentoring"}, {"need": "Mentoring"}]}},
    }
)


def _with(review: Review, **changes: Any) -> Review:
    """A copy of the review with some fields replaced, validated again."""
    return Review.model_validate({**review.model_dump(), **changes})


def _exception(key: str) -> dict[str, Any]:
    return {
        "finding": key,
        "reason": "Accepted at panel.",
        "manager": MANAGER,
        "granted_on": GRANTED_ON,
    }


def _stale(key: str) -> str:
    """The same check, a different fingerprint: an exception granted against other data."""
    check_id, fingerprint = key.split(":")
    flipped = "0" if fingerprint[-1] != "0" else "1"
    return f"{check_id}:{fingerprint[:-1]}{flipped}"


def _crashing_registry(check_id: str, *, overridable: bool = False) -> Registry:
    registry = Registry()

    @registry.register(
        id=check_id,
        title="Always crashes",
        question="Does a crash block sign-off?",
        satisfied_by="Never.",
        hint="Nothing the caseworker can do.",
        overridable=overridable,
    )
    def crashes(review: Review, *, as_of: dt.date, thresholds: object) -> list[Problem]:
        raise RuntimeError("boom")

    return registry


@given(reviews_without_evidence())
@example(BARE_REVIEW)
def test_review_without_evidence_is_never_signed_off_even_with_every_finding_excepted(
    review: Review,
) -> None:
    # Closing because things changed (the strictest route; an unrecorded reason is judged on
    # it too). A transfer or a move to adult services is rightly not asked for change.
    assume(review.case.route(review.case.proposed_closure_on) is Route.CHANGE)
    first = evaluate(review)
    excepted = _with(
        review,
        exceptions=[_exception(f.key) for f in first.findings(level="blocker")],
        rationales={f.check_id: "Explained." for f in first.findings(level="caution")},
    )

    report = evaluate(excepted)

    assert not report.sign_off_possible
    assert "change.E001" in [f.check_id for f in report.open_blockers]


@given(reviews())
@example(BARE_REVIEW)
@example(LIMIT_REVIEW)
def test_runner_returns_one_result_per_registered_check_in_registry_order(
    review: Review,
) -> None:
    report = evaluate(review)

    assert [result.id for result in report.results] == REGISTRY.ids()


@given(reviews(), st.data())
def test_runner_never_raises_for_any_as_of_date_after_everything_recorded(
    review: Review, data: st.DataObject
) -> None:
    dated = [item.observed_on for item in review.evidence]
    dated += [incident.occurred_on for incident in review.incidents]
    earliest = max([review.case.opened_on, *dated])
    as_of = data.draw(st.dates(earliest, earliest + dt.timedelta(days=1000)), label="as_of")

    report = evaluate(review, as_of=as_of)

    assert report.as_of == as_of
    assert len(report.results) == len(REGISTRY)


@given(reviews())
@example(BARE_REVIEW)
@example(LIMIT_REVIEW)
def test_no_registered_check_crashes_on_a_valid_review(review: Review) -> None:
    report = evaluate(review)

    assert [result.id for result in report.results if result.crashed] == []


@given(reviews())
@example(BARE_REVIEW)
@example(LIMIT_REVIEW)
def test_review_survives_a_json_round_trip_exactly(review: Review) -> None:
    assert Review.model_validate_json(review.model_dump_json()) == review


@given(reviews())
@example(BARE_REVIEW)
def test_readiness_report_survives_a_json_round_trip_exactly(review: Review) -> None:
    report = evaluate(review)

    assert ReadinessReport.model_validate_json(report.model_dump_json()) == report


@given(reviews())
def test_evaluate_gives_the_same_report_for_the_same_review(review: Review) -> None:
    assert evaluate(review) == evaluate(review)


@given(reviews())
def test_sign_off_is_possible_exactly_when_no_blocker_or_caution_is_open(review: Review) -> None:
    report = evaluate(review)

    open_ones = [f for f in report.open_findings if f.level in ("blocker", "caution")]
    assert report.sign_off_possible is (open_ones == [])


@given(reviews())
@example(BARE_REVIEW)
def test_a_crashing_overridable_check_becomes_a_blocker_no_exception_can_resolve(
    review: Review,
) -> None:
    registry = _crashing_registry("change.E999", overridable=True)
    crash_key = evaluate(review, registry=registry).results[0].findings[0].key
    review = _with(review, exceptions=[_exception(crash_key)])

    report = evaluate(review, registry=registry)

    [result] = report.results
    [finding] = result.findings
    assert result.crashed
    assert not result.passed
    assert result.level == finding.level == "blocker"
    assert not result.overridable
    assert finding.resolution is Resolution.OPEN
    assert "could not run (RuntimeError)" in finding.message
    assert not report.sign_off_possible


@given(reviews())
def test_a_crashing_caution_becomes_a_blocker_a_rationale_cannot_resolve(review: Review) -> None:
    registry = _crashing_registry("change.W999")
    review = _with(review, rationales={"change.W999": "We looked into it."})

    report = evaluate(review, registry=registry)

    [finding] = report.results[0].findings
    assert finding.level == "blocker"
    assert finding.resolution is Resolution.OPEN
    assert not report.sign_off_possible


@given(reviews(), st.data())
def test_a_caution_with_a_rationale_is_resolved_and_one_without_stays_open(
    review: Review, data: st.DataObject
) -> None:
    review = _with(review, rationales={})
    cautioned = sorted({f.check_id for f in evaluate(review).findings(level="caution")})
    assume(cautioned)
    explained = data.draw(st.lists(st.sampled_from(cautioned), unique=True), label="explained")
    texts = {check_id: data.draw(long_text(min_size=1), label=check_id) for check_id in explained}

    report = evaluate(_with(review, rationales=texts))

    for finding in report.findings(level="caution"):
        if finding.check_id in texts:
            assert finding.resolution is Resolution.RATIONALE
            assert finding.resolution_text == texts[finding.check_id]
        else:
            assert finding.resolution is Resolution.OPEN


@given(reviews(), st.data())
def test_an_exception_matching_the_finding_key_resolves_an_overridable_blocker(
    review: Review, data: st.DataObject
) -> None:
    review = _with(review, exceptions=[])
    first = evaluate(review)
    overridable = [f for r in first.results if r.overridable for f in r.findings]
    assume(overridable)
    target = data.draw(st.sampled_from(overridable), label="target")

    report = evaluate(_with(review, exceptions=[_exception(target.key)]))

    by_key = {f.key: f for f in report.findings()}
    assert by_key[target.key].resolution is Resolution.EXCEPTION
    assert by_key[target.key].resolved_by == MANAGER
    others = [f for f in report.findings(level="blocker") if f.key != target.key]
    assert all(f.resolution is Resolution.OPEN for f in others)


@given(reviews(), st.data())
def test_a_stale_exception_with_a_different_key_leaves_the_blocker_open(
    review: Review, data: st.DataObject
) -> None:
    review = _with(review, exceptions=[])
    first = evaluate(review)
    overridable = [f for r in first.results if r.overridable for f in r.findings]
    assume(overridable)
    target = data.draw(st.sampled_from(overridable), label="target")
    assume(_stale(target.key) not in {f.key for f in first.findings()})

    report = evaluate(_with(review, exceptions=[_exception(_stale(target.key))]))

    by_key = {f.key: f for f in report.findings()}
    assert by_key[target.key].resolution is Resolution.OPEN
    assert not report.sign_off_possible


@given(reviews())
def test_an_exception_never_resolves_a_blocker_that_is_not_overridable(review: Review) -> None:
    first = evaluate(_with(review, exceptions=[]))
    fixed = [
        f for r in first.results if r.level == "blocker" and not r.overridable for f in r.findings
    ]
    assume(fixed)

    report = evaluate(_with(review, exceptions=[_exception(f.key) for f in fixed]))

    by_key = {f.key: f for f in report.findings()}
    assert all(by_key[f.key].resolution is Resolution.OPEN for f in fixed)
    assert not report.sign_off_possible


@given(reviews())
@example(TWIN_NEEDS_REVIEW)
def test_every_finding_in_a_report_has_its_own_key(review: Review) -> None:
    keys = [finding.key for finding in evaluate(review).findings()]

    assert len(keys) == len(set(keys))
