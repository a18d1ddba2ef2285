"""The closure route: the case facts every route needs, and what each route needs of its own.

A transfer is ready when the receiving authority has it; a move to adult services when they
have accepted it; a closure after assessment when the threshold decision and the offer are
recorded. Over-optimism's questions apply to closures because things changed (see
docs/checks.md for which checks apply on which route).
"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import ALL_ROUTES, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.answers_text import in_sentence, plural
from closure_readiness.core.dates import add_working_days, human
from closure_readiness.core.review import Review
from closure_readiness.core.text import meaningful
from closure_readiness.core.vocabulary import Agency, Route
from closure_readiness.evidence.register import current_concerns

TRANSFER = frozenset({Route.TRANSFER})
TRANSITION = frozenset({Route.TRANSITION})
ASSESSMENT = frozenset({Route.ASSESSMENT})
ADULT_SERVICES = (Agency.ADULT_SOCIAL_CARE, Agency.PROBATION, Agency.HEALTH, Agency.GP)


@check(
    id="route.E001",
    title="Case facts not recorded",
    question="Are the closure reason, the exploitation concern, the risk levels and any "
    "statutory order recorded?",
    satisfied_by="Closure reason, exploitation concern (yes or no), risk at opening and now, and "
    "whether a statutory order is in force, all recorded.",
    hint="Record the missing case facts at the Case details step.",
    routes=ALL_ROUTES,
    reads=("case.closure_reason", "case.exploitation_concern", "case.risk_now"),
)
def facts_missing(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    case = review.case
    missing = [
        title
        for title, value in (
            ("the closure reason", case.closure_reason),
            ("whether there is an exploitation concern", case.exploitation_concern),
            ("the risk level at opening", case.risk_at_opening),
            ("the risk level now", case.risk_now),
            ("whether a statutory order is in force", case.orders_in_force),
        )
        if value is None
    ]
    return [Problem(f"Not recorded: {what}.", subject=what) for what in missing]


@check(
    id="route.E002",
    title="A statutory order runs past closure",
    question="Does any statutory order run past the closure date?",
    satisfied_by="No order in force, or every order named, with an end date on or before the "
    "proposed closure date.",
    hint="Close when the order ends, or ask your manager to record why closure goes ahead "
    "while the order's holder continues.",
    overridable=True,
    routes=ALL_ROUTES,
    reads=("case.orders_in_force", "case.orders"),
    source="Published reviews in tests/fidelity/SOURCES.md: "
    "croydon-child-q-2019 and kingston-tom-and-vic-2013: orders and bail conditions running, or"
    " ending, around the time support stopped.",
)
def order_running(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    case = review.case
    if not case.orders_in_force:
        return []
    if not case.orders:
        return [Problem("A statutory order is in force but not named.", subject="unnamed")]
    problems = []
    for index, order in enumerate(case.orders, start=1):
        if order.ends_on is not None and order.ends_on <= case.proposed_closure_on:
            continue
        when = "has no end date" if order.ends_on is None else f"ends on {human(order.ends_on)}"
        problems.append(
            Problem(
                f"The {in_sentence(order.kind.label)} {when}, after the proposed closure date.",
                subject=f"{index}:{order.kind.value}",
                facts=(("ends on", str(order.ends_on)),),
            )
        )
    return problems


@check(
    id="route.E003",
    title="Transfer not accepted in writing",
    question="Has the receiving authority accepted the transfer in writing?",
    satisfied_by="The receiving authority named and the date of its written acceptance recorded.",
    hint="Get the receiving authority's written acceptance and record its name and the date.",
    routes=TRANSFER,
    reads=("route.receiving_authority", "route.receiving_accepted_on"),
)
def transfer_unaccepted(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.route
    if meaningful(answer.receiving_authority) and answer.receiving_accepted_on is not None:
        return []
    return [
        Problem("The receiving authority's written acceptance of the transfer is not recorded.")
    ]


@check(
    id="route.E004",
    title="No transfer meeting",
    question="Has a transfer meeting or conference been held, or booked soon enough?",
    satisfied_by="A transfer meeting or conference held, or booked within the transfer-meeting "
    "working days of the as-of date.",
    hint="Hold or book the transfer meeting (a transfer-in conference for a child protection "
    "plan) with the receiving authority and record the date.",
    overridable=True,
    routes=TRANSFER,
    reads=("route.transfer_meeting_on",),
)
def no_transfer_meeting(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    meeting = review.answers.route.transfer_meeting_on
    limit = thresholds.transfer_meeting_working_days
    if meeting is None:
        return [
            Problem(
                "No transfer meeting or conference is held or booked.", facts=(("meeting", "none"),)
            )
        ]
    if meeting <= add_working_days(as_of, limit):
        return []
    return [
        Problem(
            f"The transfer meeting is booked for {human(meeting)}, more than {limit} working "
            "days after closure.",
            facts=(("meeting", meeting.isoformat()),),
        )
    ]


@check(
    id="route.E005",
    title="Chronology and case summary not sent",
    question="Has the receiving authority been sent the chronology and case summary?",
    satisfied_by="The date the chronology and case summary were sent is recorded, on or after "
    "the newest incident or agency concern (a summary older than what happened since is out "
    "of date).",
    hint="Send the chronology and case summary to the receiving authority and record the date.",
    overridable=True,
    routes=TRANSFER,
    reads=("route.chronology_sent_on",),
)
def no_chronology(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    sent = review.answers.route.chronology_sent_on
    if sent is None:
        return [Problem("The chronology and case summary have not been sent.")]
    later = current_concerns(review, after=sent, up_to=as_of)
    if not later:
        return []
    newest = later[-1]
    return [
        Problem(
            f"The chronology and case summary were sent on {human(sent)}, before "
            f"{plural(len(later), 'later incident or concern', 'later incidents or concerns')}, "
            f"the newest {newest.id}: the receiving authority has an out-of-date picture.",
            facts=(("sent on", sent.isoformat()), ("newest since", newest.id)),
        )
    ]


@check(
    id="route.E006",
    title="Receiving police and school not told",
    question="Do the police force and the school or college in the new area know?",
    satisfied_by="Dates recorded for telling the receiving police force and the new school or "
    "college.",
    hint="Tell the police force and the school or college in the new area, and record when.",
    overridable=True,
    routes=TRANSFER,
    reads=("route.police_force_told_on", "route.new_school_told_on"),
    source="Published reviews in tests/fidelity/SOURCES.md: "
    "national-panel-it-was-hard-to-escape-2020 and waltham-forest-child-c-2020: moves between "
    "areas without the new area's agencies knowing.",
)
def new_area_not_told(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.route
    return [
        Problem(f"The {who} has not been told of the transfer.", subject=who)
        for who, day in (
            ("receiving police force", answer.police_force_told_on),
            ("new school or college", answer.new_school_told_on),
        )
        if day is None
    ]


@check(
    id="route.E007",
    title="No accepted handover to adult services",
    question="Has an adult service (adult social care after a Care Act assessment, probation, "
    "adult health) accepted the handover?",
    satisfied_by="The accepting adult service and the date it accepted recorded.",
    hint="Agree the handover with adult social care (Care Act assessment), probation or adult "
    "health services, and record who accepted it and when.",
    routes=TRANSITION,
    reads=("route.handover_agency", "route.handover_accepted_on"),
)
def no_handover(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.route
    if answer.handover_agency in ADULT_SERVICES and answer.handover_accepted_on is not None:
        return []
    return [Problem("No adult service is recorded as having accepted the handover.")]


@check(
    id="route.E008",
    title="No transition plan",
    question="Is there an agreed plan for the move to adulthood?",
    satisfied_by="The date the transition plan was agreed is recorded.",
    hint="Agree a transition plan with the young person and the adult service, and record when.",
    overridable=True,
    routes=TRANSITION,
    reads=("route.transition_plan_on",),
)
def no_transition_plan(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.answers.route.transition_plan_on is not None:
        return []
    return [Problem("No transition plan for adulthood is recorded.")]


@check(
    id="route.E009",
    title="Exploitation not carried into adulthood",
    question="Have the exploitation concerns and processes (NRM, MACE, adult safeguarding) been "
    "handed over?",
    satisfied_by="No exploitation concern, or the handover of exploitation concerns and "
    "processes recorded as done.",
    hint="Hand over the exploitation concerns, the NRM decision and MACE information to adult "
    "safeguarding and the accepting service, and record it.",
    overridable=True,
    routes=TRANSITION,
    reads=("route.exploitation_carried_across",),
)
def exploitation_dropped(
    review: Review, *, as_of: dt.date, thresholds: Thresholds
) -> list[Problem]:
    if review.case.exploitation_concern is False:
        return []
    if review.answers.route.exploitation_carried_across:
        return []
    return [Problem("The exploitation concerns and processes are not recorded as handed over.")]


@check(
    id="route.E010",
    title="Threshold decision not recorded",
    question="Who decided, and when, that the assessment does not lead to statutory support?",
    satisfied_by="The date of the threshold decision and who made it (role) recorded.",
    hint="Record the threshold decision: the date and who made it.",
    routes=ASSESSMENT,
    reads=("route.threshold_decided_on", "route.threshold_decided_by"),
)
def no_threshold_decision(
    review: Review, *, as_of: dt.date, thresholds: Thresholds
) -> list[Problem]:
    answer = review.answers.route
    if answer.threshold_decided_on is not None and meaningful(answer.threshold_decided_by):
        return []
    return [Problem("The threshold decision (when, and who made it) is not recorded.")]


@check(
    id="route.E011",
    title="Nothing offered after assessment",
    question="What was offered to the young person and family after the assessment?",
    satisfied_by="What was offered and the agency offering it recorded.",
    hint="Record what was offered (advice, early help, a universal service) and by whom.",
    overridable=True,
    routes=ASSESSMENT,
    reads=("route.offered", "route.offered_agency"),
)
def nothing_offered(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.route
    if meaningful(answer.offered) and answer.offered_agency is not None:
        return []
    return [
        Problem(
            "What was offered after the assessment, and by which agency, is not recorded.",
            facts=(("offered", answer.offered),),
        )
    ]
