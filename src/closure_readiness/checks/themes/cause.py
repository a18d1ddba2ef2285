"""Circumstance or choice: did risk fall because of circumstances rather than choices?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import CHANGE, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.dates import human, weeks
from closure_readiness.core.review import Cause, Review
from closure_readiness.core.text import meaningful
from closure_readiness.core.vocabulary import EvidenceKind, NetworkStatus
from closure_readiness.evidence.register import cited_items


@check(
    id="cause.E001",
    title="No cause of the risk reduction recorded",
    question="What caused risk to fall?",
    satisfied_by="At least one cause recorded.",
    hint="Record what caused the fall in risk (for example remand, a new school place, or the "
    "young person's own decision).",
    routes=CHANGE,
    reads=("cause.causes",),
)
def no_cause(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.answers.cause.causes:
        return []
    return [Problem("No cause is recorded for the fall in risk.")]


def plan_gaps(cause: Cause) -> list[str]:
    """What a plan for the day a circumstance ends still lacks: who, what, by when, how known."""
    missing = []
    if cause.plan_agency is None or not meaningful(cause.plan_role):
        missing.append("who acts (role and agency)")
    if not meaningful(cause.plan_action):
        missing.append("what they will do")
    if cause.plan_by is None:
        missing.append("by when")
    if not meaningful(cause.plan_check):
        missing.append("how we will know it happened")
    return missing


@check(
    id="cause.E002",
    title="Circumstance ends soon with no plan",
    question="What happens when a circumstance that holds risk down comes to an end?",
    satisfied_by="Every circumstantial cause that ends (or has no known end) between the as-of "
    "date and the circumstance horizon after it has a plan recorded as structure: who acts "
    "(role and agency), what, by when, and how it will be known that it happened. Notes "
    "explain; they never satisfy the check.",
    hint="Record the plan for the day the circumstance ends (release, end of tag, start of "
    "term): who acts, what, by when, and how you will know it happened.",
    overridable=True,
    routes=CHANGE,
    reads=("cause.causes",),
)
def cliff_edge(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    horizon = as_of + weeks(thresholds.circumstance_horizon_weeks)
    problems = []
    for index, cause in enumerate(review.answers.cause.causes, start=1):
        if not cause.kind.is_circumstantial:
            continue
        if cause.ends_on is None:
            when = "has no known end date"
        elif cause.ends_on < as_of:
            continue  # already over: what happened since is in the evidence and incidents
        elif cause.ends_on <= horizon:
            when = f"ends on {human(cause.ends_on)}"
        else:
            continue
        missing = plan_gaps(cause)
        if not missing:
            continue
        problems.append(
            Problem(
                f"{cause.kind.label} {when}, within {thresholds.circumstance_horizon_weeks} "
                "weeks of closure, and the plan for then does not say " + ", ".join(missing) + ".",
                subject=f"{index}:{cause.kind.value}",
                facts=(
                    ("ends on", cause.ends_on.isoformat() if cause.ends_on else "not known"),
                    ("plan lacks", ", ".join(missing)),
                ),
            )
        )
    return problems


@check(
    id="cause.W001",
    title="Young person's own account not recorded",
    question="What does the young person say changed, and why?",
    satisfied_by="A cited evidence item of kind 'young person's own account' at this step.",
    hint="Ask the young person why things changed and cite their account.",
    routes=CHANGE,
)
def no_own_account(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    cited = cited_items(review, review.answers.cause)
    if any(item.kind is EvidenceKind.YOUNG_PERSON_ACCOUNT for item in cited):
        return []
    return [Problem("The young person's own account of why things changed is not recorded.")]


@check(
    id="cause.W002",
    title="Exploiting network still active or not recorded",
    question="Is the exploiting network or location still active?",
    satisfied_by="Network recorded as disrupted, not applicable or not known.",
    hint="Record whether the network is active; if it is, explain why the young person is safe "
    "from it.",
    routes=CHANGE,
    reads=("cause.network_status",),
)
def network_active(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    status = review.answers.cause.network_status
    if status is None:
        return [
            Problem("Whether the exploiting network or location is still active is not recorded.")
        ]
    if status is not NetworkStatus.ACTIVE:
        return []
    return [Problem("The exploiting network or location is recorded as still active.")]
