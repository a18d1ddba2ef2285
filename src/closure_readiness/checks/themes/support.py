"""Onward support: does the young person or family need other services after closure?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import STAYING, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.answers_text import in_sentence
from closure_readiness.core.dates import human, weeks
from closure_readiness.core.review import Need, Review
from closure_readiness.core.text import meaningful
from closure_readiness.core.vocabulary import ReferralStatus, ServiceFocus

_WEAK = (ReferralStatus.SIGNPOSTED, ReferralStatus.AWAITING_TRIAGE)
_MADE = (ReferralStatus.REFERRED, ReferralStatus.ACCEPTED, ReferralStatus.AWAITING_TRIAGE)


def _need_gap(need: Need) -> str:
    """Why one need has nobody who will act, or "" when someone will."""
    if not meaningful(need.need):
        return "does not say what the need is"
    if need.status is ReferralStatus.NONE:
        return "has no referral"
    if need.status is ReferralStatus.DECLINED_BY_FAMILY:
        return ""  # support.E002 asks what was done next
    if not meaningful(need.service) or need.agency is None:
        return "does not name the service and its agency"
    if need.status in _WEAK and not meaningful(need.named_contact):
        return f"is {in_sentence(need.status.label)} with nobody named to contact"
    if (
        need.status is ReferralStatus.SIGNPOSTED
        and need.area is not None
        and need.area.needs_prompt_contact
        and need.first_contact_on is None
    ):
        return (
            f"is about {in_sentence(need.area.label)} and only signposted, with no "
            "first-contact date"
        )
    return ""


@check(
    id="support.E001",
    title="Remaining need without a referral",
    question="Has every remaining need been referred to someone who will act?",
    satisfied_by="Whether needs remain is recorded (none remaining needs a reason); every "
    "remaining need names the service and its agency and is referred or accepted, or is "
    "signposted or awaiting triage with a named contact; a signposted need about exploitation "
    "or substance use also has a first-contact date.",
    hint="List each remaining need with the service, its agency and a named contact (a role), "
    "or record that none remain and why.",
    overridable=True,
    routes=STAYING,
    reads=("support.remaining_needs", "support.no_needs_because", "support.needs"),
)
def unmet_need(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.support
    if answer.remaining_needs is None:
        return [Problem("Whether any needs remain after closure is not recorded.", subject="asked")]
    if not answer.remaining_needs:
        if meaningful(answer.no_needs_because):
            return []
        return [Problem("No needs remain, but the review does not say why.", subject="asked")]
    if not answer.needs:
        return [Problem("Needs remain, but none is listed.", subject="asked")]
    problems = []
    for need in answer.needs:
        gap = _need_gap(need)
        if gap:
            problems.append(
                Problem(
                    f"'{need.need}' {gap}.",
                    subject=need.need,
                    facts=(
                        ("status", need.status.label),
                        ("service", need.service),
                        ("named contact", need.named_contact),
                        ("first contact", str(need.first_contact_on)),
                    ),
                )
            )
    return problems


@check(
    id="support.E002",
    title="An offer declined, and nothing else",
    question="When the family declined the only offer, what happened next?",
    satisfied_by="Every need the family declined has an alternative offered, or a date the "
    "manager agreed that nothing further would be offered.",
    hint="Offer an alternative the family may accept, or record the threshold decision you made "
    "with your manager.",
    overridable=True,
    routes=STAYING,
    source="Published reviews in tests/fidelity/SOURCES.md: "
    "newham-chris-2018 (the family declined and nothing else was offered), croydon-"
    "child-q-2019, nspcc-summary-adam-2022.",
)
def declined_only(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    return [
        Problem(
            f"'{need.need}': the family declined the offer and nothing else was offered or "
            "decided with a manager.",
            subject=need.need,
        )
        for need in review.answers.support.needs
        if need.status is ReferralStatus.DECLINED_BY_FAMILY
        and not meaningful(need.alternative_after_decline)
        and need.no_alternative_agreed_on is None
    ]


@check(
    id="support.E003",
    title="Onward support does not fit the risk outside the home",
    question="Where the risk is outside the home, does any onward service work with the young "
    "person?",
    satisfied_by="No exploitation concern, or at least one onward service that goes on after "
    "closure (referred, accepted, awaiting triage or signposted) is recorded as working with "
    "the young person. An offer the family declined does not count. Whom each service works "
    "with must be recorded.",
    hint="Add support that works with the young person (youth work, mentoring, a substance use "
    "worker); parenting support alone does not reach risk outside the home.",
    overridable=True,
    routes=STAYING,
    source="Published reviews in tests/fidelity/SOURCES.md: "
    "national-panel-it-was-hard-to-escape-2020, newham-chris-2018, croydon-vulnerable-"
    "adolescents-2019, hackney-child-c-2020: family-focused responses to harm outside the home.",
)
def wrong_focus(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.support
    if review.case.exploitation_concern is not True or not answer.remaining_needs:
        return []  # support.E001 asks whether needs remain
    needs = [n for n in answer.needs if n.status in (*_MADE, *_WEAK)]
    if not needs:
        return [
            Problem(
                "The risk is outside the home, but no onward service goes on after closure: "
                "every offer was declined or not made.",
                subject="focus",
                facts=(("services going on", "none"),),
            )
        ]
    unknown = [n.need for n in needs if n.focus is None]
    if unknown:
        return [
            Problem(
                "Whom the onward service works with is not recorded for: "
                + ", ".join(f"'{name}'" for name in unknown)
                + ".",
                subject="focus",
                facts=(("not recorded", ", ".join(unknown)),),
            )
        ]
    if any(n.focus in (ServiceFocus.YOUNG_PERSON, ServiceFocus.BOTH) for n in needs):
        return []
    return [
        Problem(
            "The risk is outside the home, but every onward service works only with the parents "
            "or family.",
            subject="focus",
            facts=(("services", ", ".join(n.service for n in needs)),),
        )
    ]


@check(
    id="support.W001",
    title="Long wait for first onward contact",
    question="How soon after closure will the onward service first make contact?",
    satisfied_by="Every referral has a first-contact date within the onward gap after closure.",
    hint="Agree a first-contact date with the onward service, or explain how the gap is covered.",
    routes=STAYING,
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
    routes=STAYING,
)
def no_consent(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    return [
        Problem(f"'{need.need}': consent to share is not recorded.", subject=need.need)
        for need in review.answers.support.needs
        if need.status in _MADE and not need.consent_to_share
    ]
