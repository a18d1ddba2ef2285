"""Onward support: does the young person or family need other services after closure?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.dates import human, weeks
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import ReferralStatus

_WEAK = (ReferralStatus.SIGNPOSTED, ReferralStatus.AWAITING_TRIAGE)
_MADE = (ReferralStatus.REFERRED, ReferralStatus.ACCEPTED, ReferralStatus.AWAITING_TRIAGE)


@check(
    id="support.E001",
    title="Remaining need without a referral",
    question="Has every remaining need been referred to someone who will act?",
    satisfied_by="Every remaining need is referred or accepted, or signposted or awaiting "
    "triage with a named contact, or was offered and declined by the family.",
    hint="Refer the need to a service and record a named contact (a role) there.",
    overridable=True,
)
def unmet_need(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    problems = []
    for need in review.answers.support.needs:
        if need.status is ReferralStatus.NONE:
            problems.append(Problem(f"'{need.need}' has no referral.", subject=need.need))
        elif need.status in _WEAK and not need.named_contact:
            problems.append(
                Problem(
                    f"'{need.need}' is {need.status.label.lower()} with nobody named to contact.",
                    subject=need.need,
                )
            )
    return problems


@check(
    id="support.W001",
    title="Long wait for first onward contact",
    question="How soon after closure will the onward service first make contact?",
    satisfied_by="Every referral has a first-contact date within the onward gap after closure.",
    hint="Agree a first-contact date with the onward service, or explain how the gap is covered.",
)
def long_gap(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    latest = as_of + weeks(thresholds.onward_first_contact_gap_weeks)
    problems = []
    for need in review.answers.support.needs:
        if need.status not in _MADE:
            continue
        if need.first_contact_on is None:
            problems.append(
                Problem(
                    f"'{need.need}': the date of first contact is not known.", subject=need.need
                )
            )
        elif need.first_contact_on > latest:
            problems.append(
                Problem(
                    f"'{need.need}': first contact on {human(need.first_contact_on)}, more than "
                    f"{thresholds.onward_first_contact_gap_weeks} weeks after closure.",
                    subject=need.need,
                )
            )
    return problems


@check(
    id="support.W002",
    title="Consent to share not recorded",
    question="Has consent to share with the onward service been recorded?",
    satisfied_by="Consent to share recorded for every referral made.",
    hint="Record consent to share with the onward service, or why information is shared "
    "without it.",
)
def no_consent(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    return [
        Problem(f"'{need.need}': consent to share is not recorded.", subject=need.need)
        for need in review.answers.support.needs
        if need.status in _MADE and not need.consent_to_share
    ]
