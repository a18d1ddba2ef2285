"""Sustainability: can the change be maintained once services stop?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.dates import add_months, human
from closure_readiness.core.review import Review


@check(
    id="sustain.E001",
    title="No protective factor continues after closure",
    question="What protects the young person once we close?",
    satisfied_by="At least one protective factor that continues after closure.",
    hint="Record a protective factor that continues after closure (a trusted adult, a school "
    "place, a positive activity) rather than a service that stops.",
    overridable=True,
)
def nothing_continues(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    factors = review.answers.sustain.protective_factors
    if any(factor.continues_after_closure for factor in factors):
        return []
    if not factors:
        return [Problem("No protective factors are recorded.")]
    return [Problem(f"All {len(factors)} protective factor(s) stop when the case closes.")]


@check(
    id="sustain.W001",
    title="No trusted adult with an agreed action",
    question="Who in the young person's life will act, and how?",
    satisfied_by="At least one safety network member with an agreed action.",
    hint="Name (by role) a trusted adult or safety network member and the action agreed with them.",
)
def no_trusted_adult(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if any(member.agreed_action for member in review.answers.sustain.safety_network):
        return []
    return [Problem("No trusted adult or safety network member has an agreed action.")]


@check(
    id="sustain.W002",
    title="An earlier closure was followed by re-referral",
    question="What is different from the last time this case closed?",
    satisfied_by="No previous closure followed by re-referral within the re-referral window.",
    hint="In the rationale, say what is different now from the closure that did not hold.",
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
