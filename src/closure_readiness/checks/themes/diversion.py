"""Early intervention and diversion: avoid criminalising young people where appropriate."""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import LOCAL_END, NOT_ENDED, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.review import Review
from closure_readiness.core.text import meaningful


@check(
    id="diversion.W001",
    title="Pending charges without exploitation context",
    question="Where charges are pending, do police and prosecutors know of the exploitation "
    "concerns?",
    satisfied_by="No pending charges with an exploitation concern, or police and prosecutors told.",
    hint="Record whether charges are pending; if so, tell police and prosecutors about the "
    "exploitation concerns, and record it.",
    routes=NOT_ENDED,
)
def charges(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.diversion
    if answer.pending_charges is None:
        return [Problem("Whether any charges are pending is not recorded.")]
    if (
        answer.pending_charges
        and review.case.exploitation_concern is not False
        and not answer.police_told_of_exploitation
    ):
        return [
            Problem(
                "Charges are pending and police and prosecutors have not been told of "
                "the exploitation concerns."
            )
        ]
    return []


@check(
    id="diversion.W002",
    title="No transition plan at 17 or over",
    question="Is there a plan for turning 18?",
    satisfied_by="Under the transition age, or a transition plan in place.",
    hint="Make a transition plan with adult services for when the young person turns 18.",
    routes=LOCAL_END,
)
def transition(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    age = review.case.age_on(as_of)
    if age < thresholds.transition_age or review.answers.diversion.transition_plan:
        return []
    return [Problem(f"The young person is {age} and has no transition plan for turning 18.")]


@check(
    id="diversion.I001",
    title="No diversionary or positive activity offered",
    question="What diversionary or positive activity has been offered?",
    satisfied_by="A diversionary or positive activity recorded.",
    hint="Consider offering a diversionary or positive activity (sport, youth work, mentoring).",
    routes=LOCAL_END,
)
def no_offer(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if meaningful(review.answers.diversion.diversionary_offer):
        return []
    return [Problem("No diversionary or positive activity offer is recorded.")]
