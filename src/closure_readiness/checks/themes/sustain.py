"""Sustainability: can the change be maintained once services stop?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import CHANGE, LOCAL_END, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.dates import add_months, human
from closure_readiness.core.review import Review
from closure_readiness.core.text import meaningful

REPEATED_PLANS = 2
"""Earlier closures after which this is at least the third plan: a manager must decide."""


@check(
    id="sustain.E001",
    title="No protective factor continues after closure",
    question="What protects the young person once we close?",
    satisfied_by="At least one protective factor, described, that continues after closure.",
    hint="Record a protective factor that continues after closure (a trusted adult, a school "
    "place, a positive activity) rather than a service that stops.",
    overridable=True,
    routes=CHANGE,
    reads=("sustain.protective_factors",),
)
def nothing_continues(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    factors = [f for f in review.answers.sustain.protective_factors if meaningful(f.description)]
    continuing = [f for f in factors if f.continues_after_closure]
    if continuing:
        return []
    facts = (("protective factors", str(len(factors))), ("continuing", "0"))
    if not factors:
        return [Problem("No protective factors are recorded.", facts=facts)]
    return [
        Problem(
            f"{_all(len(factors))} {'stops' if len(factors) == 1 else 'stop'} when the case "
            "closes.",
            facts=facts,
        )
    ]


def _all(count: int) -> str:
    """ "The only protective factor recorded" or "All 3 protective factors"."""
    if count == 1:
        return "The only protective factor recorded"
    return f"All {count} protective factors"


@check(
    id="sustain.E002",
    title="Third plan or repeated re-referral",
    question="Has this case closed and come back before, more than once?",
    satisfied_by="Fewer than two earlier closures. From the third plan on, a team manager "
    "decides with a recorded exception, whatever the interval between them.",
    hint="Ask your manager to decide: say what is different now from the closures that did "
    "not hold.",
    overridable=True,
    routes=LOCAL_END,
    source="Published reviews in tests/fidelity/SOURCES.md: "
    "hackney-child-c-2020 and croydon-vulnerable-adolescents-2019: repeated referrals and short"
    " interventions without lasting change.",
)
def repeated_plans(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    earlier = review.case.previous_closures
    if len(earlier) < REPEATED_PLANS:
        return []
    dates = ", ".join(human(previous.closed_on) for previous in earlier)
    return [
        Problem(
            f"This is at least plan {len(earlier) + 1}: the case closed before on {dates}.",
            facts=(("earlier closures", ", ".join(p.closed_on.isoformat() for p in earlier)),),
        )
    ]


@check(
    id="sustain.W001",
    title="No trusted adult with an agreed action",
    question="Who in the young person's life will act, and how?",
    satisfied_by="At least one safety network member with an agreed action.",
    hint="Name (by role) a trusted adult or safety network member and the action agreed with them.",
    routes=CHANGE,
)
def no_trusted_adult(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if any(
        meaningful(member.role) and meaningful(member.agreed_action)
        for member in review.answers.sustain.safety_network
    ):
        return []
    return [Problem("No trusted adult or safety network member has an agreed action.")]


@check(
    id="sustain.W002",
    title="An earlier closure was followed by re-referral",
    question="What is different from the last time this case closed?",
    satisfied_by="No previous closure followed by re-referral within the re-referral window.",
    hint="In the rationale, say what is different now from the closure that did not hold.",
    routes=CHANGE,
)
def earlier_re_referral(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    window = thresholds.re_referral_window_months
    return [
        Problem(
            f"The case closed on {human(previous.closed_on)} and was re-referred on "
            f"{human(previous.re_referred_on)}, within {window} months.",
            subject=previous.closed_on.isoformat(),
        )
        for previous in review.case.previous_closures
        if previous.re_referred_on is not None
        and previous.re_referred_on <= add_months(previous.closed_on, window)
    ]
