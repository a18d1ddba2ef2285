"""Questions the checks ask of the evidence register, answered in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from closure_readiness.core.dates import weeks
from closure_readiness.core.review import Answer, Case, EvidenceItem, Incident, Review
from closure_readiness.core.text import meaningful
from closure_readiness.core.vocabulary import Agency, Direction, EvidenceKind, Involvement

_NOT_CHANGE = (EvidenceKind.ATTENDANCE, EvidenceKind.ABSENCE_OF_REPORTS)

_CASE_HOLDER = {
    Involvement.EARLY_HELP: Agency.EARLY_HELP,
    Involvement.YOUTH_JUSTICE: Agency.YOUTH_JUSTICE,
}


def case_holding_agency(case: Case) -> Agency:
    """The service that holds the case (and proposes to close it)."""
    return _CASE_HOLDER.get(case.involvement, Agency.CHILDRENS_SOCIAL_CARE)


def cited_items(review: Review, answer: Answer | list[str]) -> list[EvidenceItem]:
    """The evidence items cited, leaving out any whose "what it shows" is a placeholder:
    an item that shows "tbc" shows nothing."""
    by_id = {item.id: item for item in review.evidence}
    refs = answer if isinstance(answer, list) else answer.cited
    return [by_id[ref] for ref in refs if ref in by_id and meaningful(by_id[ref].shows)]


def change_evidence(review: Review) -> list[EvidenceItem]:
    """Items the change answer relies on that show change.

    Attendance is never change, and neither is the absence of reports ("nothing since March").
    """
    return [
        item
        for item in cited_items(review, review.answers.change)
        if item.direction is Direction.CHANGE and item.kind not in _NOT_CHANGE
    ]


def independent_change_evidence(review: Review) -> list[EvidenceItem]:
    """Change seen by a professional or shown by a record, from outside the case-holding service
    and the family. Only these dates count: an account or an opinion never moves a date check."""
    return [
        item
        for item in change_evidence(review)
        if item.kind.is_independent_kind and is_independent(item, review.case)
    ]


def current_concerns(
    review: Review, *, after: dt.date, up_to: dt.date
) -> list[Incident | EvidenceItem]:
    """Concerns from an agency dated after `after`: incidents, and evidence items that show
    concern from anyone but the family. One idea, whichever list holds it."""
    found: list[Incident | EvidenceItem] = [
        incident for incident in review.incidents if after < incident.occurred_on <= up_to
    ]
    found += [
        item
        for item in review.evidence
        if item.direction is Direction.CONCERN
        and not item.agency.is_family
        and after < item.observed_on <= up_to
    ]
    return sorted(found, key=_day)


def _day(entry: Incident | EvidenceItem) -> dt.date:
    return entry.occurred_on if isinstance(entry, Incident) else entry.observed_on


def is_independent(item: EvidenceItem, case: Case) -> bool:
    """From outside both the case-holding service and the family."""
    return not item.agency.is_family and item.agency is not case_holding_agency(case)


def involved_agencies(review: Review, *, as_of: dt.date, recent_weeks: int) -> list[Agency]:
    """Agencies other than the case holder and the family that are part of the picture now:
    listed as involved, or the source of evidence within the recent-evidence window."""
    since = as_of - weeks(recent_weeks)
    found = set(review.case.involved_agencies) | {
        item.agency for item in review.evidence if item.observed_on >= since
    }
    return _others(review, found)


def older_contacts(review: Review, *, as_of: dt.date, recent_weeks: int) -> dict[Agency, dt.date]:
    """Agencies whose only evidence is older than the window, with their newest date: shown,
    not demanded."""
    current = set(involved_agencies(review, as_of=as_of, recent_weeks=recent_weeks))
    newest_by: dict[Agency, dt.date] = {}
    for item in review.evidence:
        if item.agency not in current:
            newest_by[item.agency] = max(
                item.observed_on, newest_by.get(item.agency, item.observed_on)
            )
    return {agency: newest_by[agency] for agency in _others(review, set(newest_by))}


def _others(review: Review, agencies: set[Agency]) -> list[Agency]:
    holder = case_holding_agency(review.case)
    return sorted(
        (agency for agency in agencies if not agency.is_family and agency is not holder),
        key=list(Agency).index,
    )


def newest(items: Iterable[EvidenceItem]) -> EvidenceItem | None:
    return max(items, key=lambda item: item.observed_on, default=None)


def oldest(items: Iterable[EvidenceItem]) -> EvidenceItem | None:
    return min(items, key=lambda item: item.observed_on, default=None)


def last_incident_on(review: Review, *, up_to: dt.date) -> dt.date | None:
    dates = [incident.occurred_on for incident in review.incidents if incident.occurred_on <= up_to]
    return max(dates, default=None)
