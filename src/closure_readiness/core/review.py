"""The review model: everything a closure review records, validated as a caseworker would expect.

Every model is frozen and refuses unknown fields. A draft is a valid review with most answers
still at their defaults; the readiness checks, not the model, say what is missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from closure_readiness.core.text import CaseRef, LongText, RecordId, ShortText, YearMonth
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
    NetworkStatus,
    NrmStatus,
    ReferralStatus,
    RiskLevel,
)

SCHEMA_VERSION = 1
EARLIEST_DAY = dt.date(1900, 1, 1)
LATEST_DAY = dt.date(2199, 12, 31)


def _plausible_day(value: dt.date) -> dt.date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise PydanticCustomError(
            "date_range", "Enter a real date between 1900 and 2199, for example 2025-03-14."
        )
    return value


Day = Annotated[dt.date, AfterValidator(_plausible_day)]
"""A calendar date within the range any case can have (keeps date arithmetic safe)."""
MAX_ITEMS = 200  # evidence items, incidents, needs... per review: far beyond any real case


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


Items = Annotated[list[RecordId], Field(max_length=MAX_ITEMS)]
Weeks = Annotated[int, Field(ge=1, le=520)]


class PreviousClosure(Model):
    closed_on: Day = Field(title="date closed")
    re_referred_on: Day | None = Field(default=None, title="date re-referred")

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.re_referred_on is not None and self.re_referred_on < self.closed_on:
            raise PydanticCustomError(
                "date_order", "The re-referral date is before the date the case was closed."
            )
        return self


class Case(Model):
    """The case being closed. A case reference, never a name."""

    case_reference: CaseRef = Field(title="case reference")
    birth_month: YearMonth = Field(title="month of birth")
    involvement: Involvement = Field(title="type of involvement")
    opened_on: Day = Field(title="date opened")
    proposed_closure_on: Day = Field(title="proposed closure date")
    plan_reviews_held: int = Field(default=0, ge=0, le=100, title="plan reviews held")
    closure_reason: ClosureReason = Field(default=ClosureReason.RC7, title="closure reason")
    exploitation_concern: bool = Field(default=False, title="exploitation concern flagged")
    risk_at_opening: RiskLevel = Field(default=RiskLevel.NONE, title="risk level at opening")
    risk_now: RiskLevel = Field(default=RiskLevel.NONE, title="risk level now")
    allocated_worker: ShortText = Field(default="", title="allocated worker")
    team: ShortText = Field(default="", title="team")
    involved_agencies: list[Agency] = Field(
        default_factory=list, max_length=len(Agency), title="agencies involved"
    )
    previous_closures: list[PreviousClosure] = Field(
        default_factory=list, max_length=50, title="previous closures"
    )

    @property
    def born(self) -> dt.date:
        year, month = self.birth_month.split("-")
        return dt.date(int(year), int(month), 1)

    def age_on(self, day: dt.date) -> int:
        born = self.born
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @model_validator(mode="after")
    def _dates_make_sense(self) -> Self:
        if self.proposed_closure_on < self.opened_on:
            raise PydanticCustomError(
                "date_order",
                "The proposed closure date ({closure}) is before the date the case was opened "
                "({opened}).",
                {
                    "closure": self.proposed_closure_on.isoformat(),
                    "opened": self.opened_on.isoformat(),
                },
            )
        if self.opened_on < self.born:
            raise PydanticCustomError(
                "date_order",
                "The case was opened ({opened}) before the month of birth ({born}).",
                {"opened": self.opened_on.isoformat(), "born": self.birth_month},
            )
        if self.age_on(self.opened_on) > 25:
            raise PydanticCustomError(
                "date_order",
                "The month of birth makes the young person over 25 when the case opened; check it.",
            )
        return self


class Incident(Model):
    """A dated event indicating risk."""

    id: RecordId = Field(title="incident id")
    kind: IncidentKind = Field(title="kind of incident")
    occurred_on: Day = Field(title="date of incident")
    summary: LongText = Field(default="", title="what happened")
    record_ref: ShortText = Field(default="", title="case record reference")


class EvidenceItem(Model):
    """One piece of evidence: who saw or recorded what, when, and where it sits in the record."""

    id: RecordId = Field(title="evidence id")
    agency: Agency = Field(title="source agency")
    kind: EvidenceKind = Field(title="kind of evidence")
    observed_on: Day = Field(title="date observed")
    direction: Direction = Field(title="what it points to")
    shows: LongText = Field(min_length=1, title="what it shows")
    record_ref: ShortText = Field(default="", title="case record reference")


class Answer(Model):
    """Fields every theme's answer has: the evidence it cites and the worker's notes."""

    cited: Items = Field(default_factory=list, title="evidence cited")
    notes: LongText = Field(default="", title="notes")


class ChangeAnswer(Answer):
    """Evidence of change: what has changed, and who saw it (cited items are relied on)."""


class PaceAnswer(Answer):
    maintenance_weeks: Weeks | None = Field(
        default=None, title="maintenance period agreed in the plan (weeks)"
    )


class Cause(Model):
    kind: CauseKind = Field(title="cause")
    ends_on: Day | None = Field(default=None, title="date the circumstance ends")
    plan_for_end: LongText = Field(default="", title="plan for when it ends")


class CauseAnswer(Answer):
    causes: list[Cause] = Field(default_factory=list, max_length=20, title="causes")
    network_status: NetworkStatus = Field(
        default=NetworkStatus.UNKNOWN, title="exploiting network or location"
    )


class ProtectiveFactor(Model):
    description: ShortText = Field(min_length=1, title="protective factor")
    continues_after_closure: bool = Field(title="continues after closure")


class NetworkMember(Model):
    role: ShortText = Field(min_length=1, title="who (role, not name)")
    agreed_action: ShortText = Field(default="", title="agreed action")


class SustainAnswer(Answer):
    protective_factors: list[ProtectiveFactor] = Field(
        default_factory=list, max_length=50, title="protective factors"
    )
    safety_network: list[NetworkMember] = Field(
        default_factory=list, max_length=50, title="safety network"
    )


class Need(Model):
    need: ShortText = Field(min_length=1, title="remaining need")
    status: ReferralStatus = Field(default=ReferralStatus.NONE, title="referral status")
    service: ShortText = Field(default="", title="onward service")
    named_contact: ShortText = Field(default="", title="named contact (role)")
    first_contact_on: Day | None = Field(default=None, title="date of first contact")
    consent_to_share: bool = Field(default=False, title="consent to share recorded")


class SupportAnswer(Answer):
    needs: list[Need] = Field(default_factory=list, max_length=50, title="remaining needs")


class Trigger(Model):
    trigger: ShortText = Field(min_length=1, title="re-referral trigger")
    who_acts: ShortText = Field(default="", title="who acts")


class ExitAnswer(Answer):
    lead_agency: Agency | None = Field(default=None, title="lead agency after closure")
    lead_role: ShortText = Field(default="", title="lead professional (role)")
    triggers: list[Trigger] = Field(default_factory=list, max_length=50, title="triggers")
    notified: list[Agency] = Field(
        default_factory=list, max_length=len(Agency), title="agencies notified of closure"
    )
    seen_alone_on: Day | None = Field(default=None, title="date last seen alone")
    views_recorded_when_seen_alone: bool = Field(default=False, title="views recorded then")
    young_person_view: LongText = Field(default="", title="young person's view on closure")
    parent_view: LongText = Field(default="", title="parent or carer's view on closure")
    disagreement: bool = Field(default=False, title="someone disagrees with closure")
    disagreement_response: LongText = Field(default="", title="how the disagreement was handled")
    contacts_given: bool = Field(default=False, title="contacts given for when worries return")


class CuriosityAnswer(Answer):
    network_mapped_on: Day | None = Field(default=None, title="date peers and network mapped")
    engagement: Engagement = Field(default=Engagement.GOOD, title="engagement")
    engagement_reasons: LongText = Field(default="", title="reasons behind the engagement")
    last_direct_contact_on: Day | None = Field(
        default=None, title="date of last direct contact with the young person"
    )


class FactorAnswer(Model):
    status: FactorStatus = Field(default=FactorStatus.NOT_ASSESSED, title="status")
    response: ShortText = Field(default="", title="plan element or onward support")


class FamilyAnswer(Answer):
    factors: dict[FamilyFactor, FactorAnswer] = Field(default_factory=dict, title="family factors")
    male_carer: MaleCarer = Field(default=MaleCarer.NOT_SEEN, title="father or male carer")
    siblings_considered: bool = Field(default=False, title="impact on other children considered")

    def factor(self, factor: FamilyFactor) -> FactorAnswer:
        return self.factors.get(factor, FactorAnswer())


class SharingAnswer(Answer):
    consulted: list[Agency] = Field(
        default_factory=list, max_length=len(Agency), title="agencies consulted on closure"
    )
    history_reviewed: bool = Field(default=False, title="historical information reviewed")
    final_meeting_on: Day | None = Field(default=None, title="date of final meeting")
    minutes_circulated_on: Day | None = Field(default=None, title="date minutes circulated")
    all_relevant_invited: bool = Field(default=False, title="all relevant professionals invited")

    @model_validator(mode="after")
    def _order(self) -> Self:
        if (
            self.final_meeting_on is not None
            and self.minutes_circulated_on is not None
            and self.minutes_circulated_on < self.final_meeting_on
        ):
            raise PydanticCustomError(
                "date_order", "The minutes were circulated before the meeting was held."
            )
        return self


class DiversionAnswer(Answer):
    pending_charges: bool = Field(default=False, title="charges pending")
    police_told_of_exploitation: bool = Field(
        default=False, title="police and prosecutors told of exploitation concerns"
    )
    transition_plan: bool = Field(default=False, title="transition plan for turning 18")
    diversionary_offer: ShortText = Field(default="", title="diversionary or positive activity")


class ExploitAnswer(Answer):
    rit_completed_on: Day | None = Field(
        default=None, title="date risk indicator tool (RIT) last completed"
    )
    mace_status: MaceStatus = Field(default=MaceStatus.NEVER_OPEN, title="MACE status")
    nrm_status: NrmStatus = Field(default=NrmStatus.NOT_DECIDED, title="NRM referral")
    nrm_reason: LongText = Field(default="", title="reason for not referring to the NRM")
    vemt_consulted_on: Day | None = Field(default=None, title="date of VEMT consultation")


class MentalHealthAnswer(Answer):
    wellbeing_need: bool = Field(default=False, title="emotional wellbeing need recorded")
    camhs: CamhsOutcome = Field(default=CamhsOutcome.NOT_REFERRED, title="CAMHS outcome")
    alternative_support: ShortText = Field(default="", title="alternative support offered")
    alternative_shared: bool = Field(
        default=False, title="alternative shared with family and partner agencies"
    )


_FORWARD_DATES = frozenset({"ends_on", "first_contact_on"})


class Answers(Model):
    change: ChangeAnswer = Field(default_factory=ChangeAnswer)
    pace: PaceAnswer = Field(default_factory=PaceAnswer)
    cause: CauseAnswer = Field(default_factory=CauseAnswer)
    sustain: SustainAnswer = Field(default_factory=SustainAnswer)
    support: SupportAnswer = Field(default_factory=SupportAnswer)
    exit: ExitAnswer = Field(default_factory=ExitAnswer)
    curiosity: CuriosityAnswer = Field(default_factory=CuriosityAnswer)
    family: FamilyAnswer = Field(default_factory=FamilyAnswer)
    sharing: SharingAnswer = Field(default_factory=SharingAnswer)
    diversion: DiversionAnswer = Field(default_factory=DiversionAnswer)
    exploit: ExploitAnswer = Field(default_factory=ExploitAnswer)
    mh: MentalHealthAnswer = Field(default_factory=MentalHealthAnswer)

    def each(self) -> list[tuple[str, Answer]]:
        return [(name, getattr(self, name)) for name in type(self).model_fields]

    def past_dates(self) -> list[tuple[str, dt.date]]:
        """Dates recording something done (seen alone, tool completed...): never in the future.

        Dates that look ahead (a circumstance's end, a first onward contact) are not included.
        """
        found: list[tuple[str, dt.date]] = []
        for _, answer in self.each():
            for name, field in type(answer).model_fields.items():
                value = getattr(answer, name)
                if isinstance(value, dt.date) and name not in _FORWARD_DATES:
                    found.append((f"the {field.title}", value))
        return found


class ManagerException(Model):
    """A team manager's accountable exception to one finding of an overridable blocker."""

    finding: Annotated[str, Field(pattern=r"^[a-z]+\.E\d{3}:[0-9a-f]{12}$")] = Field(
        title="finding"
    )
    reason: LongText = Field(min_length=1, title="reason for the exception")
    manager: ShortText = Field(min_length=1, title="manager (staff id)")
    granted_on: Day = Field(title="date granted")


class Review(Model):
    """A closure review: the case, what happened, the evidence, the answers, and resolutions."""

    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    case: Case
    incidents: list[Incident] = Field(default_factory=list, max_length=MAX_ITEMS)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=MAX_ITEMS)
    answers: Answers = Field(default_factory=Answers)
    rationales: dict[Annotated[str, Field(pattern=r"^[a-z]+\.W\d{3}$")], LongText] = Field(
        default_factory=dict, title="rationales for cautions"
    )
    exceptions: list[ManagerException] = Field(default_factory=list, max_length=100)

    def item(self, evidence_id: str) -> EvidenceItem:
        for item in self.evidence:
            if item.id == evidence_id:
                return item
        raise KeyError(evidence_id)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _refuse_duplicates("evidence", [item.id for item in self.evidence])
        _refuse_duplicates("incidents", [incident.id for incident in self.incidents])
        known = {item.id for item in self.evidence}
        for theme, answer in self.answers.each():
            missing = [ref for ref in answer.cited if ref not in known]
            if missing:
                raise PydanticCustomError(
                    "unknown_evidence",
                    "The {theme} answer cites evidence {missing} that is not in the evidence "
                    "register; add it to the register or remove the citation.",
                    {"theme": theme, "missing": ", ".join(missing)},
                )
        closure = self.case.proposed_closure_on
        born = self.case.born
        for item in self.evidence:
            _refuse_outside("Evidence " + item.id, item.observed_on, born, closure)
        for incident in self.incidents:
            _refuse_outside("Incident " + incident.id, incident.occurred_on, born, closure)
        for label, day in self.answers.past_dates():
            _refuse_outside(label.capitalize(), day, born, closure)
        return self


def _refuse_duplicates(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise PydanticCustomError(
                "duplicate_id",
                "Two {what} entries share the id {ident}; give each its own id.",
                {"what": what, "ident": ident},
            )
        seen.add(ident)


def _refuse_outside(what: str, day: dt.date, born: dt.date, closure: dt.date) -> None:
    if day > closure:
        raise PydanticCustomError(
            "date_order",
            "{what} is dated {day}, after the proposed closure date ({closure}).",
            {"what": what, "day": day.isoformat(), "closure": closure.isoformat()},
        )
    if day < born:
        raise PydanticCustomError(
            "date_order",
            "{what} is dated {day}, before the young person was born.",
            {"what": what, "day": day.isoformat()},
        )


def review_from_json(text: str | bytes) -> Review:
    """Parse and validate a review file; raises pydantic.ValidationError."""
    return Review.model_validate_json(text)


def review_schema() -> dict[str, Any]:
    return Review.model_json_schema()


def dated_after(review: Review, as_of: dt.date) -> list[str]:
    """What the review records as happening after the as-of date: impossible to rely on."""
    late = [f"Evidence {item.id}" for item in review.evidence if item.observed_on > as_of]
    late += [f"Incident {inc.id}" for inc in review.incidents if inc.occurred_on > as_of]
    late += [label for label, day in review.answers.past_dates() if day > as_of]
    return late
