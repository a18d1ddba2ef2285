"""Evidence of change: what has actually changed, and who saw it?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import CHANGE, Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.answers_text import in_sentence, plural
from closure_readiness.core.dates import human, weeks
from closure_readiness.core.review import EvidenceItem, Incident, Review
from closure_readiness.core.text import meaningful
from closure_readiness.core.vocabulary import Direction, EvidenceKind, OutcomeStatus
from closure_readiness.evidence.register import (
    case_holding_agency,
    change_evidence,
    cited_items,
    current_concerns,
    independent_change_evidence,
    is_independent,
    newest,
    oldest,
)


@check(
    id="change.E001",
    title="No evidence of change cited",
    question="Which evidence shows that things have changed?",
    satisfied_by="At least one cited evidence item whose direction is 'shows change' and whose "
    "kind is not attendance, compliance or the absence of reports.",
    hint="Cite at least one evidence item that shows change, from the evidence register.",
    routes=CHANGE,
)
def no_change_cited(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if change_evidence(review):
        return []
    absent = [
        item.id
        for item in cited_items(review, review.answers.change)
        if item.kind is EvidenceKind.ABSENCE_OF_REPORTS
    ]
    if absent:
        return [
            Problem(
                "The only change cited is that nothing new was reported; no reports is not "
                "evidence that anything got better.",
                evidence=tuple(absent),
            )
        ]
    return [
        Problem(
            "No cited evidence shows change (attendance does not count), so nothing shows that "
            "risk has reduced."
        )
    ]


@check(
    id="change.E002",
    title="Change rests only on accounts, opinion or attendance",
    question="Has a professional seen the change, or does a record show it?",
    satisfied_by="At least one cited change item of kind 'observed by a professional' or "
    "'record or data'.",
    hint="Add evidence a professional observed, or a record (attendance figures, police "
    "data), that shows the change.",
    routes=CHANGE,
)
def change_only_accounts(
    review: Review, *, as_of: dt.date, thresholds: Thresholds
) -> list[Problem]:
    cited = change_evidence(review)
    if not cited or any(item.kind.is_independent_kind for item in cited):
        return []
    return [
        Problem(
            "The change rests only on what people say or professional opinion; nobody has "
            "observed it and no record shows it.",
            evidence=tuple(item.id for item in cited),
        )
    ]


@check(
    id="change.E003",
    title="Change not triangulated",
    question="Do at least two agencies see the change, one of them independent?",
    satisfied_by="Change evidence from two or more agencies, at least one outside the "
    "case-holding service and the family.",
    hint="Ask another agency that knows the young person (school, police, health, youth work) "
    "whether they see the change, and cite what they report.",
    overridable=True,
    routes=CHANGE,
)
def not_triangulated(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    items = change_evidence(review)
    if not items:
        return []
    agencies = {item.agency for item in items}
    independent = [item for item in items if is_independent(item, review.case)]
    if len(agencies) >= 2 and independent:
        return []
    holder = case_holding_agency(review.case).label
    if len(agencies) == 1 and independent:
        message = (
            f"Change is seen only by {next(iter(agencies)).label}; a second agency must see it too."
        )
    else:
        message = (
            f"None of the {len(agencies)} agencies seeing change is independent of {holder} and "
            "the family."
        )
    return [
        Problem(
            message,
            evidence=tuple(item.id for item in items),
            facts=(("agencies seeing change", ", ".join(sorted(a.label for a in agencies))),),
        )
    ]


@check(
    id="change.E004",
    title="Evidence of change is stale",
    question="Is the newest independent evidence of change recent?",
    satisfied_by="The newest change observed or recorded by an agency outside the case-holding "
    "service and the family is within the recent-evidence threshold of the as-of date. "
    "Accounts and opinions do not make old change fresh.",
    hint="Get an up-to-date observation or record of the change from an independent agency "
    "and cite it.",
    overridable=True,
    routes=CHANGE,
)
def stale(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    latest = newest(independent_change_evidence(review))
    if latest is None or latest.observed_on >= as_of - weeks(thresholds.recent_evidence_weeks):
        return []  # with no independent change at all, change.E006 blocks (not overridable)
    return [
        Problem(
            f"The newest independent evidence of change ({latest.id}, "
            f"{human(latest.observed_on)}) is more than {thresholds.recent_evidence_weeks} weeks "
            "old; accounts and opinions since then do not count.",
            evidence=(latest.id,),
            facts=(("newest independent change", f"{latest.id} {latest.observed_on}"),),
        )
    ]


def _day(entry: Incident | EvidenceItem) -> dt.date:
    return entry.occurred_on if isinstance(entry, Incident) else entry.observed_on


def _concern_words(entry: Incident | EvidenceItem) -> str:
    if isinstance(entry, Incident):
        return f"{entry.kind.label} on {human(entry.occurred_on)} ({entry.id})"
    return (
        f"{entry.agency.label} reported a concern on {human(entry.observed_on)} ({entry.id}: "
        f"{entry.shows})"
    )


@check(
    id="change.E005",
    title="A concern after the evidence of change",
    question="Has anything worrying happened since change was last seen independently?",
    satisfied_by="No incident, and no evidence item showing concern from an agency, dated after "
    "the newest independent change evidence.",
    hint="Weigh the concern: cite newer independent evidence that the change holds despite it, "
    "or reconsider closure. A manager may accept it with a written reason.",
    overridable=True,
    routes=CHANGE,
)
def concern_after(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    latest = newest(independent_change_evidence(review))
    if latest is None:
        return []  # change.E006 blocks: there is no independent change to come after
    return [
        Problem(
            f"{_concern_words(entry)} came after the newest independent evidence of change "
            f"({latest.id}, {human(latest.observed_on)}).",
            evidence=(latest.id,),
            subject=entry.id,
            facts=(
                ("newest independent change", f"{latest.id} {latest.observed_on}"),
                (
                    "concern",
                    f"{entry.id} {_day(entry)}",
                ),
            ),
        )
        for entry in current_concerns(review, after=latest.observed_on, up_to=as_of)
    ]


@check(
    id="change.E006",
    title="No change seen by an independent professional",
    question="Has a professional outside our service and the family seen a positive change?",
    satisfied_by="At least one cited change item observed by a professional, or shown by a "
    "record, from an agency outside the case-holding service and the family. No reports, "
    "accounts, opinions and attendance do not count.",
    hint="Ask school, police, health or youth work what they have seen change, and cite it. "
    "'No reports since March' is not change.",
    routes=CHANGE,
    source="Published reviews in tests/fidelity/SOURCES.md: "
    "hmip-inspection-rhianna-2014 and nspcc-summary-adam-2022: the absence of new reports was "
    "read as progress.",
)
def nothing_independent(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if not change_evidence(review) or independent_change_evidence(review):
        return []  # change.E001 already says no change is cited
    return [
        Problem(
            "No professional outside "
            f"{case_holding_agency(review.case).label} and the family has seen or recorded a "
            "positive change."
        )
    ]


@check(
    id="change.E007",
    title="Plan outcomes not achieved",
    question="Has each outcome or safety goal of the plan been met, with evidence?",
    satisfied_by="Every plan outcome recorded as met, each citing evidence that a professional "
    "observed or a record shows. None recorded, or one partly met or not met, blocks.",
    hint="Record each outcome of the plan and whether it was met, citing the evidence; keep the "
    "case open, or ask your manager for an exception, if one is not met.",
    overridable=True,
    routes=CHANGE,
    source="Published reviews in tests/fidelity/SOURCES.md: "
    "sutton-child-v-lcspr and hmip-inspection-rhianna-2014: the case closed or stepped down "
    "while the plan's outcomes were unmet.",
)
def outcomes_unmet(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    outcomes = [o for o in review.answers.change.plan_outcomes if meaningful(o.outcome)]
    if not outcomes:
        return [Problem("No plan outcomes or safety goals are recorded.", subject="none")]
    problems = []
    for outcome in outcomes:
        status = outcome.status
        facts = (("achieved", status.label if status else "not recorded"),)
        seen = [i for i in cited_items(review, outcome.cited) if i.kind.is_independent_kind]
        if status is not OutcomeStatus.MET:
            word = in_sentence(status.label) if status else "not recorded as met or not"
            problems.append(
                Problem(f"'{outcome.outcome}' is {word}.", subject=outcome.outcome, facts=facts)
            )
        elif not seen:
            problems.append(
                Problem(
                    f"'{outcome.outcome}' is recorded as met, but no evidence a professional "
                    "observed or a record shows is cited for it (accounts and opinions are not "
                    "enough).",
                    subject=outcome.outcome,
                    facts=(*facts, ("evidence", ", ".join(outcome.cited) or "none")),
                )
            )
    return problems


@check(
    id="change.W001",
    title="Concern recorded during the claimed change",
    question="Does any evidence point the other way while change was claimed?",
    satisfied_by="No evidence showing concern dated inside the period of claimed change (those "
    "after the newest independent change block under change.E005).",
    hint="Explain in the rationale why the concern does not undermine the change (conflicting "
    "accounts can be a sign of disguised compliance).",
    routes=CHANGE,
)
def concern_during_change(
    review: Review, *, as_of: dt.date, thresholds: Thresholds
) -> list[Problem]:
    first = oldest(change_evidence(review))
    if first is None:
        return []
    latest = newest(independent_change_evidence(review))
    blocking = (
        {e.id for e in current_concerns(review, after=latest.observed_on, up_to=as_of)}
        if latest is not None
        else set()
    )
    concerns = [
        item
        for item in review.evidence
        if item.direction is Direction.CONCERN
        and first.observed_on <= item.observed_on <= as_of
        and item.id not in blocking
    ]
    if not concerns:
        return []
    return [
        Problem(
            f"{plural(len(concerns), 'evidence item shows', 'evidence items show')} concern "
            f"since change was first seen on {human(first.observed_on)}.",
            evidence=tuple(item.id for item in concerns),
        )
    ]
