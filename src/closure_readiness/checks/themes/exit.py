"""Exit strategy: is it robust?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.dates import human, weeks
from closure_readiness.core.review import Review
from closure_readiness.evidence.register import involved_agencies


@check(
    id="exit.E001",
    title="No lead professional after closure",
    question="Who leads for the young person after closure?",
    satisfied_by="A lead agency and the lead professional's role recorded.",
    hint="Name the lead agency and the lead professional's role after closure.",
)
def no_lead(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.exit
    if answer.lead_agency is not None and answer.lead_role:
        return []
    return [Problem("No lead professional or agency is named for after closure.")]


@check(
    id="exit.E002",
    title="No re-referral triggers with owners",
    question="What would bring services back, and who acts?",
    satisfied_by="At least one re-referral trigger, and every trigger names who acts.",
    hint="List the signs that should trigger a re-referral and who acts on each.",
    overridable=True,
)
def no_triggers(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    triggers = review.answers.exit.triggers
    if not triggers:
        return [Problem("No re-referral triggers are recorded.")]
    return [
        Problem(f"Nobody is named to act on '{trigger.trigger}'.", subject=trigger.trigger)
        for trigger in triggers
        if not trigger.who_acts
    ]


@check(
    id="exit.E003",
    title="Involved agency not notified of closure",
    question="Does every agency involved know the case is closing?",
    satisfied_by="Every involved agency (listed or in the evidence) recorded as notified.",
    hint="Notify the agency of the closure and record it.",
    overridable=True,
)
def not_notified(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    notified = set(review.answers.exit.notified)
    return [
        Problem(f"{agency.label} has not been notified of the closure.", subject=agency.value)
        for agency in involved_agencies(review)
        if agency not in notified
    ]


@check(
    id="exit.E004",
    title="Child not seen alone recently",
    question="Has the young person been seen alone, with their views recorded, just before "
    "closure?",
    satisfied_by="Seen alone with views recorded within the seen-alone threshold of the as-of "
    "date.",
    hint="See the young person alone, record their views, and record the date.",
    overridable=True,
)
def not_seen_alone(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.exit
    limit = thresholds.child_seen_alone_weeks
    if answer.seen_alone_on is None:
        return [Problem("No date is recorded for seeing the young person alone.")]
    if answer.seen_alone_on < as_of - weeks(limit):
        return [
            Problem(
                f"Last seen alone on {human(answer.seen_alone_on)}, more than {limit} weeks "
                "before closure."
            )
        ]
    if not answer.views_recorded_when_seen_alone:
        return [Problem("The young person was seen alone but their views were not recorded.")]
    return []


@check(
    id="exit.W001",
    title="Views on closure not recorded",
    question="What do the young person and parent think about closure?",
    satisfied_by="Both views recorded, and any disagreement recorded with how it was handled.",
    hint="Record the young person's and parent's views on closure, and any disagreement.",
)
def views_missing(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.exit
    missing = [
        who
        for who, view in (
            ("young person", answer.young_person_view),
            ("parent", answer.parent_view),
        )
        if not view
    ]
    problems = [
        Problem(f"The {who}'s view on closure is not recorded.", subject=who) for who in missing
    ]
    if answer.disagreement and not answer.disagreement_response:
        problems.append(
            Problem(
                "A disagreement with closure is not recorded with how it was handled.",
                subject="disagreement",
            )
        )
    return problems


@check(
    id="exit.W002",
    title="No contacts for when worries return",
    question="Do the young person and family know whom to contact if worries return?",
    satisfied_by="Contacts given to the young person and family.",
    hint="Give the young person and family contacts for when worries return, and record it.",
)
def no_contacts(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.answers.exit.contacts_given:
        return []
    return [Problem("The young person and family have not been given contacts for later.")]
