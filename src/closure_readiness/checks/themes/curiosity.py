"""Professional curiosity: peers, networks, and the reasons behind poor engagement."""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import NOT_ENDED, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.answers_text import in_sentence
from closure_readiness.core.dates import human, weeks
from closure_readiness.core.review import Review
from closure_readiness.core.text import meaningful
from closure_readiness.core.vocabulary import Engagement


@check(
    id="curiosity.E001",
    title="Peers and network not mapped",
    question="Where exploitation is a concern, have peer associates and the network been mapped?",
    satisfied_by="No exploitation concern, or a date recorded for mapping peers and network.",
    hint="Map peer associates and the wider network, family members included, and record when.",
    overridable=True,
    routes=NOT_ENDED,
    reads=("curiosity.network_mapped_on",),
)
def not_mapped(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.case.exploitation_concern is False or review.answers.curiosity.network_mapped_on:
        return []
    return [
        Problem(
            "Exploitation is a concern (or not yet recorded either way) but peers and network "
            "have not been mapped."
        )
    ]


@check(
    id="curiosity.W001",
    title="Reasons for poor engagement not explored",
    question="Why was engagement reluctant or sporadic?",
    satisfied_by="Engagement recorded as good, or the reasons behind it recorded.",
    hint="Record how the young person engaged, and what you found out about why engagement "
    "was reluctant or sporadic.",
    routes=NOT_ENDED,
)
def engagement_unexplored(
    review: Review, *, as_of: dt.date, thresholds: Thresholds
) -> list[Problem]:
    answer = review.answers.curiosity
    if answer.engagement is None:
        return [Problem("How the young person engaged is not recorded.")]
    if answer.engagement is Engagement.GOOD or meaningful(answer.engagement_reasons):
        return []
    return [
        Problem(
            f"Engagement was {in_sentence(answer.engagement.label)} and the reasons are not "
            "explored."
        )
    ]


@check(
    id="curiosity.W002",
    title="No recent direct contact",
    question="When did anyone last have direct contact with the young person?",
    satisfied_by="Direct contact within the seen-alone threshold before the as-of date.",
    hint="Make direct contact with the young person before closing; no news is not good news.",
    routes=NOT_ENDED,
)
def no_recent_contact(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    last = review.answers.curiosity.last_direct_contact_on
    limit = thresholds.child_seen_alone_weeks
    if last is not None and last >= as_of - weeks(limit):
        return []
    if last is None:
        return [
            Problem(
                "No date is recorded for the last direct contact with the young person; it "
                f"should be within {limit} weeks before closure."
            )
        ]
    return [
        Problem(
            f"The last direct contact with the young person was on {human(last)}, more than "
            f"{limit} weeks before closure."
        )
    ]
