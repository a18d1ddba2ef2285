"""Questions the checks ask of the evidence register, answered in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from closure_readiness.core.review import Answer, Case, EvidenceItem, Review
from closure_readiness.core.vocabulary import Agency, Direction, EvidenceKind, Involvement

_CASE_HOLDER = {
    Involvement.EARLY_HELP: Agency.EARLY_HELP,
    Involvement.YOUTH_JUSTICE: Agency.YOUTH_JUSTICE,
}


def case_holding_agency(case: Case) -> Agency:
    """The service that holds the case (and proposes to close it)."""
    return _CASE_HOLDER.get(case.involvement, Agency.CHILDRENS_SOCIAL_CARE)


def cited_items(review: Review, answer: Answer) -> list[EvidenceItem]:
    by_id = {item.id: item for item in review.evidence}
    return [by_id[ref] for ref in answer.cited if ref in by_id]


def change_evidence(review: Review) -> list[EvidenceItem]:
    """Items the change answer relies on that show change. Attendance is never change."""
    return [
        item
        for item in cited_items(review, review.answers.change)
        if item.direction is Direction.CHANGE and item.kind is not EvidenceKind.ATTENDANCE
    ]


def is_independent(item: EvidenceItem, case: Case) -> bool:
    """From outside both the case-holding service and the family."""
    return not item.agency.is_family and item.agency is not case_holding_agency(case)


def involved_agencies(review: Review) -> list[Agency]:
    """Agencies other than the case holder and the family that are part of the picture."""
    found = set(review.case.involved_agencies) | {item.agency for item in review.evidence}
    holder = case_holding_agency(review.case)
    return sorted(
        (agency for agency in found if not agency.is_family and agency is not holder),
        key=list(Agency).index,
    )


def newest(items: Iterable[EvidenceItem]) -> EvidenceItem | None:
    return max(items, key=lambda item: item.observed_on, default=None)


def oldest(items: Iterable[EvidenceItem]) -> EvidenceItem | None:
    return min(items, key=lambda item: item.observed_on, default=None)


def last_incident_on(review: Review, *, up_to: dt.date) -> dt.date | None:
    dates = [incident.occurred_on for incident in review.incidents if incident.occurred_on <= up_to]
    return max(dates, default=None)
