"""Information sharing: everyone holding the same picture, triangulated with history."""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.dates import add_working_days, human
from closure_readiness.core.review import Review
from closure_readiness.evidence.register import involved_agencies, older_contacts


@check(
    id="sharing.E001",
    title="Involved agency not consulted on closure",
    question="Has every agency involved contributed to the closure decision?",
    satisfied_by="Every involved agency recorded as consulted: those listed as involved, and "
    "those that supplied evidence within the recent-evidence window.",
    hint="Consult the agency on the closure decision and record it.",
    overridable=True,
    reads=("sharing.consulted",),
)
def not_consulted(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    consulted = set(review.answers.sharing.consulted)
    return [
        Problem(f"{agency.label} was not consulted on the closure.", subject=agency.value)
        for agency in involved_agencies(
            review, as_of=as_of, recent_weeks=thresholds.recent_evidence_weeks
        )
        if agency not in consulted
    ]


@check(
    id="sharing.I001",
    title="Earlier contacts not asked",
    question="Should agencies that knew the young person earlier hear of the closure?",
    satisfied_by="Every agency whose only evidence is older than the recent-evidence window is "
    "consulted or notified.",
    hint="Consider asking the agency what it knows now, or telling it of the closure.",
)
def older(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    told = set(review.answers.sharing.consulted) | set(review.answers.exit.notified)
    return [
        Problem(
            f"{agency.label} last gave evidence on {human(day)}, before the recent-evidence "
            "window; it is not asked or told about the closure.",
            subject=agency.value,
        )
        for agency, day in older_contacts(
            review, as_of=as_of, recent_weeks=thresholds.recent_evidence_weeks
        ).items()
        if agency not in told
    ]


@check(
    id="sharing.W001",
    title="History not reviewed",
    question="Have earlier referrals, plans and police history been reviewed?",
    satisfied_by="Historical information recorded as reviewed.",
    hint="Review earlier referrals, plans and police history before closing.",
)
def history(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if review.answers.sharing.history_reviewed:
        return []
    return [Problem("Historical information has not been reviewed.")]


@check(
    id="sharing.W002",
    title="Final meeting minutes late or professionals missing",
    question="Were relevant professionals invited, and minutes circulated in time?",
    satisfied_by="A final multi-agency meeting with all relevant professionals invited, and "
    "minutes circulated within the working-day limit.",
    hint="Invite every relevant professional and circulate the minutes promptly; record dates.",
)
def minutes(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    answer = review.answers.sharing
    limit = thresholds.minutes_circulated_working_days
    if answer.final_meeting_on is None:
        return [Problem("No final multi-agency meeting is recorded.", subject="meeting")]
    problems = []
    if not answer.all_relevant_invited:
        problems.append(Problem("Not all relevant professionals were invited.", subject="invited"))
    due = add_working_days(answer.final_meeting_on, limit)
    circulated = answer.minutes_circulated_on
    if circulated is None and as_of > due:
        problems.append(
            Problem(
                f"Minutes of the meeting on {human(answer.final_meeting_on)} have not been "
                f"circulated within {limit} working days.",
                subject="minutes",
            )
        )
    elif circulated is not None and circulated > due:
        problems.append(
            Problem(
                f"Minutes were circulated on {human(circulated)}, later than {limit} working "
                "days after the meeting.",
                subject="minutes",
            )
        )
    return problems
