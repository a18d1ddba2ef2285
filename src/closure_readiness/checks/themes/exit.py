"""Exit strategy: is it robust?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import (
    ALL_ROUTES,
    LOCAL_END,
    NOT_ENDED,
    STAYING,
    Problem,
    check,
)
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.answers_text import in_sentence
from closure_readiness.core.dates import human, weeks
from closure_readiness.core.review import Review
from closure_readiness.core.text import meaningful
from closure_readiness.core.vocabulary import StepDown
from closure_readiness.evidence.register import involved_agencies


@check(
    id="exit.E001",
    title="No lead professional after closure",
    question="Who leads for the young person after closure?",
    satisfied_by="A lead agency and the lead professional's role recorded (a placeholder such as "
    "'tbc' is not a role).",
    hint="Name the lead agency and the lead professional's role after closure.",
    routes=NOT_ENDED,
    reads=("exit.lead_agency", "exit.lead_role"),
)
def no_lead(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.exit
    if answer.lead_agency is not None and meaningful(answer.lead_role):
        return []
    return [Problem("No lead professional or agency is named for after closure.")]


@check(
    id="exit.E002",
    title="No re-referral triggers with owners",
    question="What would bring services back, and who acts?",
    satisfied_by="At least one re-referral trigger, and every trigger names who acts: a role and "
    "their agency.",
    hint="List the signs that should trigger a re-referral and who acts on each (role and agency).",
    overridable=True,
    routes=STAYING,
    reads=("exit.triggers",),
)
def no_triggers(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    triggers = [t for t in review.answers.exit.triggers if meaningful(t.trigger)]
    if not triggers:
        return [Problem("No re-referral triggers are recorded.", facts=(("triggers", "0"),))]
    return [
        Problem(
            f"Nobody (role and agency) is named to act on '{trigger.trigger}'.",
            subject=trigger.trigger,
            facts=(
                ("who acts", trigger.who_acts),
                ("agency", trigger.agency.label if trigger.agency else "not recorded"),
            ),
        )
        for trigger in triggers
        if not meaningful(trigger.who_acts) or trigger.agency is None
    ]


@check(
    id="exit.E003",
    title="Involved agency not notified of closure",
    question="Does every agency involved know the case is closing?",
    satisfied_by="Every involved agency recorded as notified: those listed as involved, and "
    "those that supplied evidence within the recent-evidence window. Older contacts are shown "
    "(sharing.I001), not demanded.",
    hint="Notify the agency of the closure and record it.",
    overridable=True,
    routes=ALL_ROUTES,
    reads=("exit.notified",),
)
def not_notified(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    notified = set(review.answers.exit.notified)
    involved = involved_agencies(review, as_of=as_of, recent_weeks=thresholds.recent_evidence_weeks)
    return [
        Problem(f"{agency.label} has not been notified of the closure.", subject=agency.value)
        for agency in involved
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
    routes=NOT_ENDED,
    reads=("exit.seen_alone_on", "exit.views_recorded_when_seen_alone"),
)
def not_seen_alone(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.exit
    limit = thresholds.child_seen_alone_weeks
    facts = (
        ("seen alone on", str(answer.seen_alone_on) if answer.seen_alone_on else "not recorded"),
        ("views recorded then", "yes" if answer.views_recorded_when_seen_alone else "no"),
    )
    if answer.seen_alone_on is None:
        return [Problem("No date is recorded for seeing the young person alone.", facts=facts)]
    if answer.seen_alone_on < as_of - weeks(limit):
        return [
            Problem(
                f"Last seen alone on {human(answer.seen_alone_on)}, more than {limit} weeks "
                "before closure.",
                facts=facts,
            )
        ]
    if not answer.views_recorded_when_seen_alone:
        return [
            Problem(
                "The young person was seen alone but their views were not recorded.", facts=facts
            )
        ]
    return []


@check(
    id="exit.E005",
    title="Step-down with no review point",
    question="If the exit relies on early help, an EHCP or MACE, when will progress be reviewed "
    "and who escalates if it stalls?",
    satisfied_by="What the exit relies on is recorded; if it is a step-down plan, a review date "
    "and who escalates (role and agency) are recorded.",
    hint="Agree a review date with the step-down service and name who escalates (role and "
    "agency) if progress stalls.",
    overridable=True,
    routes=LOCAL_END,
    reads=("exit.step_down", "exit.review_point_on", "exit.escalation_role"),
    source="Published reviews in tests/fidelity/SOURCES.md: "
    "sutton-child-v-lcspr and newham-chris-2018: step-down with no one reviewing whether it was"
    " working.",
)
def no_review_point(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.exit
    if answer.step_down is None:
        return [
            Problem(
                "What the exit relies on (a step-down plan or universal services only) is not "
                "recorded.",
                subject="step_down",
            )
        ]
    if answer.step_down is StepDown.NONE:
        return []
    missing = []
    if answer.review_point_on is None:
        missing.append("a review date")
    if not meaningful(answer.escalation_role) or answer.escalation_agency is None:
        missing.append("who escalates (role and agency)")
    if not missing:
        return []
    return [
        Problem(
            f"The exit relies on {in_sentence(answer.step_down.label)} but the review lacks "
            + " and ".join(missing)
            + ".",
            subject="step_down",
            facts=(
                ("relies on", answer.step_down.label),
                ("review date", str(answer.review_point_on)),
                ("escalates", answer.escalation_role),
            ),
        )
    ]


@check(
    id="exit.W001",
    title="Views on closure not recorded",
    question="What do the young person and parent think about closure?",
    satisfied_by="Both views recorded, whether anyone disagrees recorded, and any disagreement "
    "recorded with how it was handled.",
    hint="Record the young person's and parent's views on closure, and any disagreement.",
    routes=NOT_ENDED,
)
def views_missing(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.exit
    missing = [
        who
        for who, view in (
            ("young person", answer.young_person_view),
            ("parent", answer.parent_view),
        )
        if not meaningful(view)
    ]
    problems = [
        Problem(f"The {who}'s view on closure is not recorded.", subject=who) for who in missing
    ]
    if answer.disagreement is None:
        problems.append(
            Problem(
                "Whether anyone disagrees with closure is not recorded.", subject="disagreement"
            )
        )
    elif answer.disagreement and not meaningful(answer.disagreement_response):
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
    routes=NOT_ENDED,
)
def no_contacts(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.answers.exit.contacts_given:
        return []
    return [Problem("The young person and family have not been given contacts for later.")]
