"""Family and context: needs inside the family alongside the contextual ones."""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import FactorStatus, FamilyFactor, MaleCarer


@check(
    id="family.E001",
    title="Family need present with nothing planned",
    question="Does every family need that is present have a plan element or onward support?",
    satisfied_by="Every family factor recorded as present has a plan element or onward support.",
    hint="Record the plan element or onward support for the family need.",
    overridable=True,
)
def unplanned(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.family
    return [
        Problem(
            f"{factor.label} is present with no plan element or onward support.",
            subject=factor.value,
        )
        for factor in FamilyFactor
        if answer.factor(factor).status is FactorStatus.PRESENT
        and not answer.factor(factor).response
    ]


@check(
    id="family.W001",
    title="Family factors not assessed",
    question="Has each family factor been assessed?",
    satisfied_by="Every family factor recorded as present or not present.",
    hint="Assess the factor, or explain in the rationale why it could not be assessed.",
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
)
def male_carer(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    status = review.answers.family.male_carer
    if status in (MaleCarer.SEEN_AND_INCLUDED, MaleCarer.NOT_APPLICABLE):
        return []
    return [Problem(f"Father or male carer: {status.label.lower()}.")]


@check(
    id="family.W003",
    title="Other children not considered",
    question="Has the impact on siblings or other children at home been considered?",
    satisfied_by="Impact on other children in the home recorded as considered.",
    hint="Consider siblings and other children in the home, and record it.",
)
def siblings(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.answers.family.siblings_considered:
        return []
    return [Problem("The impact on siblings or other children at home is not considered.")]
