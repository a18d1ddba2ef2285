"""Family and context: needs inside the family alongside the contextual ones."""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import NOT_ENDED, STAYING, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.answers_text import in_sentence
from closure_readiness.core.review import Review
from closure_readiness.core.text import meaningful
from closure_readiness.core.vocabulary import FactorStatus, FamilyFactor, MaleCarer


@check(
    id="family.E001",
    title="Family need present with nothing planned",
    question="Does every family need that is present have a plan element or onward support?",
    satisfied_by="Every family factor recorded as present has a plan element or onward support "
    "and the agency that provides it.",
    hint="Record the plan element or onward support for the family need, and who provides it.",
    overridable=True,
    routes=STAYING,
    reads=("family.factors",),
)
def unplanned(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.family
    problems = []
    for factor in FamilyFactor:
        found = answer.factor(factor)
        if found.status is not FactorStatus.PRESENT:
            continue
        if meaningful(found.response) and found.agency is not None:
            continue
        problems.append(
            Problem(
                f"{factor.label} is present with no plan element or onward support (what, and "
                "which agency).",
                subject=factor.value,
                facts=(("response", found.response), ("agency", str(found.agency))),
            )
        )
    return problems


@check(
    id="family.E002",
    title="Adults in the household not checked",
    question="Has the history of every adult in the household been checked?",
    satisfied_by="The adults in the household are recorded (by role), each with the dates their "
    "police and children's social care histories were checked.",
    hint="List each adult in the household by role and check their police and children's "
    "social care history.",
    overridable=True,
    routes=NOT_ENDED,
    reads=("family.adults",),
    source="Published reviews in tests/fidelity/SOURCES.md: "
    "the local learning review (intrafamilial alongside contextual needs); no published review "
    "in the corpus states it, see tests/fidelity/SOURCES.md.",
)
def adults_unchecked(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    adults = [adult for adult in review.answers.family.adults if meaningful(adult.role)]
    if not adults:
        return [Problem("The adults in the household are not recorded.", subject="none")]
    problems = []
    for adult in adults:
        missing = [
            what
            for what, day in (
                ("police", adult.police_checked_on),
                ("children's social care", adult.social_care_checked_on),
            )
            if day is None
        ]
        if missing:
            problems.append(
                Problem(
                    f"{adult.role}: {' and '.join(missing)} history not checked.",
                    subject=adult.role,
                    facts=(("not checked", ", ".join(missing)),),
                )
            )
    return problems


@check(
    id="family.W001",
    title="Family factors not assessed",
    question="Has each family factor been assessed?",
    satisfied_by="Every family factor recorded as present or not present.",
    hint="Assess the factor, or explain in the rationale why it could not be assessed.",
    routes=NOT_ENDED,
)
def not_assessed(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.family
    missing = [
        factor.label
        for factor in FamilyFactor
        if answer.factor(factor).status is FactorStatus.NOT_ASSESSED
    ]
    if not missing:
        return []
    return [Problem(f"Not assessed: {', '.join(missing)}.")]


@check(
    id="family.W002",
    title="Father or male carer not included",
    question="Has the father or significant male carer been seen and included in safety planning?",
    satisfied_by="Seen and included, or no father or male carer involved.",
    hint="See the father or male carer and include him in safety planning, or explain why not.",
    routes=NOT_ENDED,
)
def male_carer(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    status = review.answers.family.male_carer
    if status is None:
        return [Problem("Whether a father or male carer was seen and included is not recorded.")]
    if status in (MaleCarer.SEEN_AND_INCLUDED, MaleCarer.NOT_APPLICABLE):
        return []
    return [Problem(f"Father or male carer: {in_sentence(status.label)}.")]


@check(
    id="family.W003",
    title="Other children not considered",
    question="Has the impact on siblings or other children at home been considered?",
    satisfied_by="Impact on other children in the home recorded as considered.",
    hint="Consider siblings and other children in the home, and record it.",
    routes=NOT_ENDED,
)
def siblings(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.answers.family.siblings_considered:
        return []
    return [Problem("The impact on siblings or other children at home is not considered.")]
