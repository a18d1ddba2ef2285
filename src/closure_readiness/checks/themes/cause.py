"""Circumstance or choice: did risk fall because of circumstances rather than choices?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.dates import human, weeks
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import EvidenceKind, NetworkStatus
from closure_readiness.evidence.register import cited_items


@check(
    id="cause.E001",
    title="No cause of the risk reduction recorded",
    question="What caused risk to fall?",
    satisfied_by="At least one cause recorded.",
    hint="Record what caused the fall in risk (for example remand, a new school place, or the "
    "young person's own decision).",
)
def no_cause(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.answers.cause.causes:
        return []
    return [Problem("No cause is recorded for the fall in risk.")]


@check(
    id="cause.E002",
    title="Circumstance ends soon with no plan",
    question="What happens when a circumstance that holds risk down comes to an end?",
    satisfied_by="Every circumstantial cause that ends (or has no known end) between the as-of "
    "date and the circumstance horizon after it has a plan for that date.",
    hint="Record the plan for the day the circumstance ends (release, end of tag, start of "
    "term): who does what.",
    overridable=True,
)
def cliff_edge(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    horizon = as_of + weeks(thresholds.circumstance_horizon_weeks)
    problems = []
    for index, cause in enumerate(review.answers.cause.causes, start=1):
        if not cause.kind.is_circumstantial or cause.plan_for_end:
            continue
        if cause.ends_on is None:
            when = "has no known end date"
        elif cause.ends_on < as_of:
            continue  # already over: what happened since is in the evidence and incidents
        elif cause.ends_on <= horizon:
            when = f"ends on {human(cause.ends_on)}"
        else:
            continue
        problems.append(
            Problem(
                f"{cause.kind.label} {when}, within {thresholds.circumstance_horizon_weeks} "
                "weeks of closure, and there is no plan for then.",
                subject=f"{index}:{cause.kind.value}",
            )
        )
    return problems


@check(
    id="cause.W001",
    title="Young person's own account not recorded",
    question="What does the young person say changed, and why?",
    satisfied_by="A cited evidence item of kind 'young person's own account' at this step.",
    hint="Ask the young person why things changed and cite their account.",
)
def no_own_account(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    cited = cited_items(review, review.answers.cause)
    if any(item.kind is EvidenceKind.YOUNG_PERSON_ACCOUNT for item in cited):
        return []
    return [Problem("The young person's own account of why things changed is not recorded.")]


@check(
    id="cause.W002",
    title="Exploiting network still active",
    question="Is the exploiting network or location still active?",
    satisfied_by="Network recorded as disrupted, not applicable or not known.",
    hint="Explain why the young person is safe from a network that is still active.",
)
def network_active(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.answers.cause.network_status is not NetworkStatus.ACTIVE:
        return []
    return [Problem("The exploiting network or location is recorded as still active.")]
