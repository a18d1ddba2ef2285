"""Pace: is it realistic that such change happened so quickly?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.dates import human
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import Involvement
from closure_readiness.evidence.register import change_evidence, last_incident_on, oldest


@check(
    id="pace.E001",
    title="Change not sustained long enough",
    question="Has the change lasted through the agreed maintenance period?",
    satisfied_by="From the first observed change (or the last incident, if later) to the as-of "
    "date is at least the plan's maintenance period (the default when the plan names none).",
    hint="Keep the case open until the change has held for the maintenance period, or record "
    "the period the plan agreed.",
    overridable=True,
)
def too_soon(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    required = review.answers.pace.maintenance_weeks or thresholds.default_maintenance_weeks
    first = oldest(change_evidence(review))
    if first is None:
        return []  # change.E001 already blocks: there is no change whose pace to judge
    start, since = first.observed_on, f"change was first seen ({human(first.observed_on)})"
    last_incident = last_incident_on(review, up_to=as_of)
    if last_incident is not None and last_incident > start:
        start, since = last_incident, f"the last incident ({human(last_incident)})"
    held = (as_of - start).days // 7
    if (as_of - start).days >= required * 7:
        return []
    return [
        Problem(
            f"Only {held} week(s) since {since}; the plan needs {required} weeks of sustained "
            "change.",
            evidence=(first.id,),
        )
    ]


@check(
    id="pace.W001",
    title="Closing at the first child protection review",
    question="Is closure proposed at the first review of a child protection plan?",
    satisfied_by="Not a child protection case, or more than one plan review held.",
    hint="Say why the plan's goals are met so soon and what makes the change more than a "
    "first response to the plan.",
)
def first_cp_review(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    case = review.case
    if case.involvement is not Involvement.CHILD_PROTECTION or case.plan_reviews_held > 1:
        return []
    return [
        Problem("Closure is proposed at or before the first review of the child protection plan.")
    ]


@check(
    id="pace.W002",
    title="Large fall in risk with no cause",
    question="Has risk fallen two or more levels without a recorded cause?",
    satisfied_by="Risk fell fewer than two levels, or a cause of the fall is recorded.",
    hint="Record what caused the fall in risk at the 'Circumstance or choice' step.",
)
def big_drop(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    case = review.case
    fall = case.risk_at_opening.band - case.risk_now.band
    if fall < 2 or review.answers.cause.causes:
        return []
    return [
        Problem(
            f"Risk fell from {case.risk_at_opening.label.lower()} to "
            f"{case.risk_now.label.lower()} and no cause is recorded."
        )
    ]
