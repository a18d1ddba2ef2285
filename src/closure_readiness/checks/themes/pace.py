"""Pace of change: is it realistic that such change happened so quickly?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import CHANGE, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.answers_text import in_sentence, plural
from closure_readiness.core.dates import human
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import Involvement
from closure_readiness.evidence.register import (
    independent_change_evidence,
    last_incident_on,
    oldest,
)


@check(
    id="pace.E001",
    title="Change not sustained long enough",
    question="Has the change lasted through the agreed maintenance period?",
    satisfied_by="Whether the plan agreed a maintenance period is recorded, and from the first "
    "change seen independently (or the last incident, if later) to the as-of date is at least "
    "that period (the default when the plan names none). Accounts and opinions do not start "
    "the clock.",
    hint="Record whether the plan agreed a maintenance period, and keep the case open until "
    "independently seen change has held for it.",
    overridable=True,
    routes=CHANGE,
    reads=("pace.plan_names_period", "pace.maintenance_weeks"),
)
def too_soon(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.pace
    if answer.plan_names_period is None or (
        answer.plan_names_period and answer.maintenance_weeks is None
    ):
        return [
            Problem(
                "The maintenance period the plan agreed is not recorded (or that the plan "
                "names none).",
                subject="period",
                facts=(("plan names a period", str(answer.plan_names_period)),),
            )
        ]
    required = (
        answer.maintenance_weeks
        if answer.plan_names_period and answer.maintenance_weeks
        else thresholds.default_maintenance_weeks
    )
    first = oldest(independent_change_evidence(review))
    if first is None:
        return []  # change.E006 blocks: no independent change whose pace to judge
    start, since, driver = (
        first.observed_on,
        f"change was first seen independently ({first.id}, {human(first.observed_on)})",
        first.id,
    )
    last_incident = last_incident_on(review, up_to=as_of)
    if last_incident is not None and last_incident > start:
        # The clock restarts at the last incident: the finding names that incident, not the
        # evidence item it no longer counts from.
        incident = [i for i in review.incidents if i.occurred_on == last_incident][-1]
        start, driver = last_incident, incident.id
        since = (
            f"the last incident ({incident.id}, {in_sentence(incident.kind.label)}, "
            f"{human(last_incident)})"
        )
    held = (as_of - start).days // 7
    if (as_of - start).days >= required * 7:
        return []
    return [
        Problem(
            f"Only {plural(held, 'week')} since {since}; the plan needs {required} weeks of "
            "sustained change.",
            evidence=(driver,),
            subject="held",
            facts=(("counted from", start.isoformat()), ("weeks needed", str(required))),
        )
    ]


@check(
    id="pace.W001",
    title="Closing at the first child protection review",
    question="Is closure proposed at the first review of a child protection plan?",
    satisfied_by="Not a child protection case, or more than one plan review held.",
    hint="Say why the plan's goals are met so soon and what makes the change more than a "
    "first response to the plan.",
    routes=CHANGE,
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
    title="Large fall in risk explained only by circumstances",
    question="Has risk fallen two or more levels with only circumstances to explain it?",
    satisfied_by="Risk fell fewer than two levels, or at least one recorded cause is not a "
    "passing circumstance (for example the young person's own decision or a new education "
    "place).",
    hint="Say in the rationale what, beyond remand, a tag, a move or the holidays, makes the "
    "lower risk last.",
    routes=CHANGE,
)
def big_drop(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    case = review.case
    causes = review.answers.cause.causes
    if case.risk_at_opening is None or case.risk_now is None or not causes:
        return []  # route.E001 and cause.E001 block on what is not recorded
    fall = case.risk_at_opening.band - case.risk_now.band
    if fall < 2 or not all(cause.kind.is_circumstantial for cause in causes):
        return []
    return [
        Problem(
            f"Risk fell from {in_sentence(case.risk_at_opening.label)} to "
            f"{in_sentence(case.risk_now.label)} and every recorded cause is a circumstance "
            "that ends: " + ", ".join(in_sentence(cause.kind.label) for cause in causes) + "."
        )
    ]
