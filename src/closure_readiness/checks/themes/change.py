"""Evidence of change: what has actually changed, and who saw it?"""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks.registry import Problem, check
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.dates import human, weeks
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import Direction
from closure_readiness.evidence.register import (
    case_holding_agency,
    change_evidence,
    cited_items,
    is_independent,
    newest,
    oldest,
)


@check(
    id="change.E001",
    title="No evidence of change cited",
    question="Which evidence shows that things have changed?",
    satisfied_by="At least one cited evidence item whose direction is 'shows change' and whose "
    "kind is not attendance or compliance.",
    hint="Cite at least one evidence item that shows change, from the evidence register.",
)
def no_change_cited(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    if change_evidence(review):
        return []
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
)
def change_only_accounts(
    review: Review, *, as_of: dt.date, thresholds: Thresholds
) -> list[Problem]:
    cited = [
        item
        for item in cited_items(review, review.answers.change)
        if item.direction is Direction.CHANGE
    ]
    if not cited or any(item.kind.is_independent_kind for item in cited):
        return []
    return [
        Problem(
            "The change rests only on what people say, professional opinion or attendance; "
            "nobody has observed it and no record shows it.",
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
    return [
        Problem(
            (
                f"Change is seen only by {next(iter(agencies)).label}; a second agency must see "
                "it too."
                if len(agencies) == 1 and independent
                else f"None of the {len(agencies)} agencies seeing change is independent of "
                f"{holder} and the family."
                if not independent
                else f"Change is seen by {len(agencies)} agencies."
            ),
            evidence=tuple(item.id for item in items),
        )
    ]


@check(
    id="change.E004",
    title="Evidence of change is stale",
    question="Is the newest evidence of change recent?",
    satisfied_by="Newest change evidence within the recent-evidence threshold of the as-of date.",
    hint="Get an up-to-date observation or record of the change and cite it.",
    overridable=True,
)
def stale(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    latest = newest(change_evidence(review))
    if latest is None or latest.observed_on >= as_of - weeks(thresholds.recent_evidence_weeks):
        return []
    return [
        Problem(
            f"The newest evidence of change ({latest.id}, {human(latest.observed_on)}) is more "
            f"than {thresholds.recent_evidence_weeks} weeks old.",
            evidence=(latest.id,),
        )
    ]


@check(
    id="change.E005",
    title="Incident after the evidence of change",
    question="Has anything happened since the evidence of change was recorded?",
    satisfied_by="No incident dated after the newest change evidence relied on.",
    hint="Weigh the incident: cite newer evidence that the change holds despite it, or "
    "reconsider closure.",
    overridable=True,
)
def incident_after(review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
    latest = newest(change_evidence(review))
    if latest is None:
        return []
    return [
        Problem(
            f"{incident.kind.label} on {human(incident.occurred_on)} ({incident.id}) came after "
            f"the newest evidence of change ({latest.id}, {human(latest.observed_on)}).",
            evidence=(latest.id,),
            subject=incident.id,
        )
        for incident in review.incidents
        if latest.observed_on < incident.occurred_on <= as_of
    ]


@check(
    id="change.W001",
    title="Concern recorded during the claimed change",
    question="Does any evidence point the other way while change was claimed?",
    satisfied_by="No evidence showing concern dated inside the period of claimed change.",
    hint="Explain in the rationale why the concern does not undermine the change (conflicting "
    "accounts can be a sign of disguised compliance).",
)
def concern_during_change(
    review: Review, *, as_of: dt.date, thresholds: Thresholds
) -> list[Problem]:
    first = oldest(change_evidence(review))
    if first is None:
        return []
    concerns = [
        item
        for item in review.evidence
        if item.direction is Direction.CONCERN and first.observed_on <= item.observed_on <= as_of
    ]
    if not concerns:
        return []
    return [
        Problem(
            f"{len(concerns)} evidence item(s) show concern since change was first seen on "
            f"{human(first.observed_on)}.",
            evidence=tuple(item.id for item in concerns),
        )
    ]
