"""Mental health: support for emotional wellbeing below the CAMHS threshold."""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import STAYING, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.review import Review
from closure_readiness.core.text import meaningful
from closure_readiness.core.vocabulary import CamhsOutcome

_NOT_MET = (CamhsOutcome.DECLINED, CamhsOutcome.THRESHOLD_NOT_MET)


@check(
    id="mh.E001",
    title="No alternative to CAMHS offered",
    question="When CAMHS declined or the threshold was not met, what support was offered?",
    satisfied_by="Whether there is a wellbeing need and what CAMHS decided are recorded; when "
    "CAMHS declined or the threshold was not met, an alternative service and its agency are "
    "recorded.",
    hint="Offer other emotional wellbeing support (school counselling, a local directory of "
    "services) and record the service and who provides it.",
    overridable=True,
    routes=STAYING,
    reads=("mh.wellbeing_need", "mh.camhs", "mh.alternative_support", "mh.alternative_agency"),
)
def no_alternative(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.mh
    if answer.wellbeing_need is None:
        return [
            Problem("Whether there is an emotional wellbeing need is not recorded.", subject="need")
        ]
    if not answer.wellbeing_need:
        return []
    if answer.camhs is None:
        return [Problem("What CAMHS decided is not recorded.", subject="camhs")]
    if answer.camhs not in _NOT_MET:
        return []
    if meaningful(answer.alternative_support) and answer.alternative_agency is not None:
        return []
    return [
        Problem(
            f"{answer.camhs.label} and no alternative support (service and agency) was offered.",
            subject="alternative",
            facts=(
                ("CAMHS", answer.camhs.label),
                ("alternative", answer.alternative_support),
            ),
        )
    ]


@check(
    id="mh.W001",
    title="Alternative support not shared",
    question="Has the alternative support been shared with the family and partner agencies?",
    satisfied_by="No alternative support offered, or it is recorded as shared.",
    hint="Share the alternative support with the family and partner agencies, and record it.",
    routes=STAYING,
)
def not_shared(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.mh
    if meaningful(answer.alternative_support) and not answer.alternative_shared:
        return [
            Problem(
                "The alternative support has not been shared with the family and partner agencies."
            )
        ]
    return []
