"""Hypothesis strategies that build valid reviews and their parts, for the property tests.

Every strategy here yields objects the model accepts: dates in order, citations that point at
evidence in the register, unique ids, text free of control and text-direction characters.
Dates stay within a few decades of today, as real cases do.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import TypeVar

from hypothesis import strategies as st

from closure_readiness.checks import REGISTRY
from closure_readiness.core.review import (
    Answers,
    Case,
    Cause,
    CauseAnswer,
    ChangeAnswer,
    CuriosityAnswer,
    DiversionAnswer,
    EvidenceItem,
    ExitAnswer,
    ExploitAnswer,
    FactorAnswer,
    FamilyAnswer,
    Incident,
    ManagerException,
    MentalHealthAnswer,
    Need,
    NetworkMember,
    PaceAnswer,
    PreviousClosure,
    ProtectiveFactor,
    Review,
    SharingAnswer,
    SupportAnswer,
    SustainAnswer,
    Trigger,
)
from closure_readiness.core.text import LONG_TEXT_MAX, SHORT_TEXT_MAX
from closure_readiness.core.vocabulary import (
    Agency,
    CamhsOutcome,
    CauseKind,
    ClosureReason,
    Direction,
    Engagement,
    EvidenceKind,
    FactorStatus,
    FamilyFactor,
    IncidentKind,
    Involvement,
    MaceStatus,
    MaleCarer,
    NeedArea,
    NetworkStatus,
    NrmStatus,
    ReferralStatus,
    RiskLevel,
    ServiceFocus,
    StepDown,
)

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
EARLIEST_BIRTH = dt.date(1995, 1, 1)
LATEST_BIRTH = dt.date(2024, 12, 1)
UNDER_25_DAYS = 9000  # opening at most this long after birth keeps the young person under 25

CAUTION_IDS = [spec.id for spec in REGISTRY if spec.level == "caution"]
BLOCKER_IDS = [spec.id for spec in REGISTRY if spec.level == "blocker"]

_UNSAFE_CATEGORIES = ("Cc", "Cs")
T = TypeVar("T")


@functools.cache  # a text strategy is costly to build; answers() asks for dozens per example
def safe_text(
    max_size: int = SHORT_TEXT_MAX, *, min_size: int = 0, multiline: bool = False
) -> st.SearchStrategy[str]:
    """Text the model stores as given: no control, surrogate or text-direction characters.

    Mostly ASCII, with any other printable character mixed in. Surrounding whitespace is
    stripped up front, as the model would strip it. With min_size, the text starts with a
    visible character, so stripping never empties it.
    """
    ascii_printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    anything_safe = st.characters(
        exclude_categories=_UNSAFE_CATEGORIES, exclude_characters=BIDI_CONTROLS
    )
    alphabet = st.one_of(ascii_printable, anything_safe)
    if multiline:
        alphabet = st.one_of(alphabet, st.sampled_from("\n\t"))
    if min_size == 0:
        return st.text(alphabet, max_size=max_size).map(str.strip)
    visible = st.one_of(ascii_printable, anything_safe).filter(lambda char: not char.isspace())
    return st.builds(
        lambda head, rest: (head + rest).strip(),
        visible,
        st.text(alphabet, min_size=min_size - 1, max_size=max_size - 1),
    ).filter(lambda text: len(text) >= min_size)


@functools.cache
def labels() -> st.SearchStrategy[str]:
    """A one-line name (a need, a trigger, a role): often a common one, so repeats occur."""
    common = st.sampled_from(["Mentoring", "Any missing episode", "Maternal aunt", "Housing"])
    return st.one_of(common, safe_text(min_size=1))


@functools.cache
def long_text(*, min_size: int = 0) -> st.SearchStrategy[str]:
    return safe_text(LONG_TEXT_MAX, min_size=min_size, multiline=True)


def record_ids() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,23}", fullmatch=True)


def case_references() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Z0-9][A-Z0-9/-]{2,23}", fullmatch=True)


def dates_between(first: dt.date, last: dt.date) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=first, max_value=last)


def maybe(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


@st.composite
def previous_closures(draw: st.DrawFn, before: dt.date) -> PreviousClosure:
    closed_on = draw(dates_between(before - dt.timedelta(days=3000), before))
    re_referred_on = draw(maybe(dates_between(closed_on, before)))
    return PreviousClosure(closed_on=closed_on, re_referred_on=re_referred_on)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A case whose dates make sense: born, then opened before 25, then closed."""
    born = draw(dates_between(EARLIEST_BIRTH, LATEST_BIRTH)).replace(day=1)
    opened_on = born + dt.timedelta(days=draw(st.integers(0, UNDER_25_DAYS)))
    proposed_closure_on = opened_on + dt.timedelta(days=draw(st.integers(0, 1500)))
    return Case(
        case_reference=draw(case_references()),
        birth_month=f"{born:%Y-%m}",
        involvement=draw(st.sampled_from(Involvement)),
        opened_on=opened_on,
        proposed_closure_on=proposed_closure_on,
        plan_reviews_held=draw(st.integers(0, 100)),
        closure_reason=draw(maybe(st.sampled_from(ClosureReason))),
        exploitation_concern=draw(maybe(st.booleans())),
        risk_at_opening=draw(maybe(st.sampled_from(RiskLevel))),
        risk_now=draw(maybe(st.sampled_from(RiskLevel))),
        allocated_worker=draw(safe_text()),
        team=draw(safe_text()),
        involved_agencies=draw(st.lists(st.sampled_from(Agency), unique=True)),
        previous_closures=draw(st.lists(previous_closures(opened_on), max_size=3)),
    )


@st.composite
def evidence_items(
    draw: st.DrawFn, ids: Sequence[str], *, first: dt.date, last: dt.date
) -> list[EvidenceItem]:
    """One evidence item per id, each observed between first and last."""
    return [
        EvidenceItem(
            id=ident,
            agency=draw(st.sampled_from(Agency)),
            kind=draw(st.sampled_from(EvidenceKind)),
            observed_on=draw(dates_between(first, last)),
            direction=draw(st.sampled_from(Direction)),
            shows=draw(long_text(min_size=1)),
            record_ref=draw(safe_text()),
        )
        for ident in ids
    ]


@st.composite
def incidents(
    draw: st.DrawFn, ids: Sequence[str], *, first: dt.date, last: dt.date
) -> list[Incident]:
    """One incident per id, each occurring between first and last."""
    return [
        Incident(
            id=ident,
            kind=draw(st.sampled_from(IncidentKind)),
            occurred_on=draw(dates_between(first, last)),
            summary=draw(long_text()),
            record_ref=draw(safe_text()),
        )
        for ident in ids
    ]


def _near(day: dt.date) -> st.SearchStrategy[dt.date]:
    """A date within a couple of years either side of day: answers' own dates."""
    return dates_between(day - dt.timedelta(days=730), day + dt.timedelta(days=730))


@st.composite
def answers(
    draw: st.DrawFn,
    evidence_ids: Sequence[str],
    *,
    around: dt.date = dt.date(2025, 5, 30),
    born: dt.date = EARLIEST_BIRTH,
) -> Answers:
    """Answers for all twelve themes, citing only the given evidence ids.

    Dates recording something done lie between birth and `around` (the proposed closure);
    dates looking ahead (a circumstance's end, a first onward contact) may fall after it.
    """
    ids = list(evidence_ids)

    def cited() -> list[str]:
        if not ids:
            return []
        return draw(st.lists(st.sampled_from(ids), unique=True))

    def optional_date() -> dt.date | None:
        earliest = max(born, around - dt.timedelta(days=730))
        return draw(maybe(dates_between(earliest, around)))

    def forward_date() -> dt.date | None:
        return draw(maybe(_near(around)))

    def short() -> str:
        return draw(safe_text())

    def long() -> str:
        return draw(long_text())

    final_meeting_on = optional_date()
    minutes_circulated_on = (
        None if final_meeting_on is None else draw(maybe(dates_between(final_meeting_on, around)))
    )
    return Answers(
        change=ChangeAnswer(cited=cited(), notes=long()),
        pace=PaceAnswer(
            cited=cited(), notes=long(), maintenance_weeks=draw(maybe(st.integers(1, 520)))
        ),
        cause=CauseAnswer(
            cited=cited(),
            notes=long(),
            causes=[
                Cause(
                    kind=kind,
                    ends_on=forward_date(),
                    plan_agency=draw(maybe(st.sampled_from(Agency))),
                    plan_role=short(),
                    plan_action=short(),
                    plan_by=forward_date(),
                    plan_check=short(),
                    plan_notes=long(),
                )
                for kind in draw(st.lists(st.sampled_from(CauseKind), max_size=3))
            ],
            network_status=draw(maybe(st.sampled_from(NetworkStatus))),
        ),
        sustain=SustainAnswer(
            cited=cited(),
            notes=long(),
            protective_factors=[
                ProtectiveFactor(description=text, continues_after_closure=draw(st.booleans()))
                for text in draw(st.lists(labels(), max_size=3))
            ],
            safety_network=[
                NetworkMember(role=role, agreed_action=short())
                for role in draw(st.lists(labels(), max_size=3))
            ],
        ),
        support=SupportAnswer(
            cited=cited(),
            notes=long(),
            needs=[
                Need(
                    need=need,
                    status=draw(st.sampled_from(ReferralStatus)),
                    area=draw(maybe(st.sampled_from(NeedArea))),
                    agency=draw(maybe(st.sampled_from(Agency))),
                    focus=draw(maybe(st.sampled_from(ServiceFocus))),
                    service=short(),
                    named_contact=short(),
                    first_contact_on=forward_date(),
                    consent_to_share=draw(st.booleans()),
                )
                for need in draw(st.lists(labels(), max_size=3))
            ],
        ),
        exit=ExitAnswer(
            cited=cited(),
            notes=long(),
            lead_agency=draw(maybe(st.sampled_from(Agency))),
            lead_role=short(),
            triggers=[
                Trigger(
                    trigger=trigger,
                    who_acts=short(),
                    agency=draw(maybe(st.sampled_from(Agency))),
                )
                for trigger in draw(st.lists(labels(), max_size=3))
            ],
            notified=draw(st.lists(st.sampled_from(Agency), unique=True)),
            seen_alone_on=optional_date(),
            views_recorded_when_seen_alone=draw(st.booleans()),
            young_person_view=long(),
            parent_view=long(),
            disagreement=draw(maybe(st.booleans())),
            step_down=draw(maybe(st.sampled_from(StepDown))),
            review_point_on=forward_date(),
            escalation_role=short(),
            disagreement_response=long(),
            contacts_given=draw(st.booleans()),
        ),
        curiosity=CuriosityAnswer(
            cited=cited(),
            notes=long(),
            network_mapped_on=optional_date(),
            engagement=draw(maybe(st.sampled_from(Engagement))),
            engagement_reasons=long(),
            last_direct_contact_on=optional_date(),
        ),
        family=FamilyAnswer(
            cited=cited(),
            notes=long(),
            factors=draw(
                st.dictionaries(
                    st.sampled_from(FamilyFactor),
                    st.builds(
                        FactorAnswer,
                        status=st.sampled_from(FactorStatus),
                        response=safe_text(),
                    ),
                )
            ),
            male_carer=draw(maybe(st.sampled_from(MaleCarer))),
            siblings_considered=draw(st.booleans()),
        ),
        sharing=SharingAnswer(
            cited=cited(),
            notes=long(),
            consulted=draw(st.lists(st.sampled_from(Agency), unique=True)),
            history_reviewed=draw(st.booleans()),
            final_meeting_on=final_meeting_on,
            minutes_circulated_on=minutes_circulated_on,
            all_relevant_invited=draw(st.booleans()),
        ),
        diversion=DiversionAnswer(
            cited=cited(),
            notes=long(),
            pending_charges=draw(maybe(st.booleans())),
            police_told_of_exploitation=draw(st.booleans()),
            transition_plan=draw(st.booleans()),
            diversionary_offer=short(),
        ),
        exploit=ExploitAnswer(
            cited=cited(),
            notes=long(),
            rit_completed_on=optional_date(),
            mace_status=draw(maybe(st.sampled_from(MaceStatus))),
            nrm_status=draw(st.sampled_from(NrmStatus)),
            nrm_reason=long(),
            vemt_consulted_on=optional_date(),
        ),
        mh=MentalHealthAnswer(
            cited=cited(),
            notes=long(),
            wellbeing_need=draw(maybe(st.booleans())),
            camhs=draw(maybe(st.sampled_from(CamhsOutcome))),
            alternative_support=short(),
            alternative_shared=draw(st.booleans()),
        ),
    )


def rationales() -> st.SearchStrategy[dict[str, str]]:
    """Rationales keyed by the ids of registered cautions."""
    return st.dictionaries(st.sampled_from(CAUTION_IDS), long_text(min_size=1), max_size=5)


@st.composite
def manager_exceptions(draw: st.DrawFn, *, around: dt.date) -> ManagerException:
    """An exception to some blocker finding; the fingerprint is random, so usually stale."""
    check_id = draw(st.sampled_from(BLOCKER_IDS))
    fingerprint = draw(st.text("0123456789abcdef", min_size=12, max_size=12))
    return ManagerException(
        finding=f"{check_id}:{fingerprint}",
        reason=draw(long_text(min_size=1)),
        manager=draw(safe_text(min_size=1)),
        granted_on=draw(_near(around)),
    )


@st.composite
def reviews(draw: st.DrawFn, *, max_evidence: int = 8, max_incidents: int = 4) -> Review:
    """A random but valid review: everything dated between birth and the proposed closure."""
    case = draw(cases())
    born, closure = case.born, case.proposed_closure_on
    evidence_ids = draw(st.lists(record_ids(), unique=True, max_size=max_evidence))
    incident_ids = draw(st.lists(record_ids(), unique=True, max_size=max_incidents))
    return Review(
        case=case,
        incidents=draw(incidents(incident_ids, first=born, last=closure)),
        evidence=draw(evidence_items(evidence_ids, first=born, last=closure)),
        answers=draw(answers(evidence_ids, around=closure, born=born)),
        rationales=draw(rationales()),
        exceptions=draw(st.lists(manager_exceptions(around=closure), max_size=3)),
    )


def reviews_without_evidence() -> st.SearchStrategy[Review]:
    """Valid reviews with an empty evidence register (so nothing can be cited)."""
    return reviews(max_evidence=0)
