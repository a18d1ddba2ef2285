"""Mental health: support for emotional wellbeing below the CAMHS threshold."""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import CamhsOutcome

_NOT_MET = (CamhsOutcome.DECLINED, CamhsOutcome.THRESHOLD_NOT_MET)


@check(
    id="mh.E001",
    title="No alternative to CAMHS offered",
    question="When CAMHS declined or the threshold was not met, what support was offered?",
    satisfied_by="No wellbeing need, CAMHS not declined, or alternative support recorded.",
    hint="Offer other emotional wellbeing support (school counselling, a local directory of "
    "services) and record it.",
    overridable=True,
)
def no_alternative(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.mh
    if answer.wellbeing_need and answer.camhs in _NOT_MET and not answer.alternative_support:
        return [Problem(f"{answer.camhs.label} and no alternative support was offered.")]
    return []


@check(
    id="mh.W001",
    title="Alternative support not shared",
    question="Has the alternative support been shared with the family and partner agencies?",
    satisfied_by="No alternative support offered, or it is recorded as shared.",
    hint="Share the alternative support with the family and partner agencies, and record it.",
)
def not_shared(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.mh
    if answer.alternative_support and not answer.alternative_shared:
        return [
            Problem(
                "The alternative support has not been shared with the family and partner agencies."
            )
        ]
    return []
