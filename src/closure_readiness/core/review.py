"""The review model: everything a closure review records, validated as a caseworker would expect.

Every model is frozen and refuses unknown fields. A draft is a valid review with most answers
still at their defaults; the readiness checks, not the model, say what is missing. Every answer a
check relies on starts as "not recorded" (None), never as the hopeful answer: absent data is
never good news.

Schema version 2 (checks 2.0.0) added the closure route, structured plans, household adults,
statutory orders and plan outcomes; `core.upgrade` reads version 1 files.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, PydanticSerializationError, to_json

from closure_readiness.core import case_reference as reference_rule
from closure_readiness.core.text import CaseRef, LongText, RecordId, ShortText, YearMonth
from closure_readiness.core.upgrade import upgrade_document
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
    OrderKind,
    OutcomeStatus,
    ReferralStatus,
    RiskLevel,
    Route,
    ServiceFocus,
    StepDown,
    route_of_reason,
)

SCHEMA_VERSION = 2
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
ADULTHOOD = 18


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


class StatutoryOrder(Model):
    kind: OrderKind = Field(title="order")
    ends_on: Day | None = Field(default=None, title="date the order ends")


class Case(Model):
    """The case being closed. A case reference, never a name."""

    case_reference: CaseRef = Field(title="case reference")
    birth_month: YearMonth = Field(title="month of birth")
    involvement: Involvement = Field(title="type of involvement")
    opened_on: Day = Field(title="date opened")
    proposed_closure_on: Day = Field(title="proposed closure date")
    plan_reviews_held: int = Field(default=0, ge=0, le=100, title="plan reviews held")
    closure_reason: ClosureReason | None = Field(default=None, title="closure reason")
    exploitation_concern: bool | None = Field(default=None, title="exploitation concern flagged")
    risk_at_opening: RiskLevel | None = Field(default=None, title="risk level at opening")
    risk_now: RiskLevel | None = Field(default=None, title="risk level now")
    orders_in_force: bool | None = Field(
        default=None, title="a statutory order is in force (referral order, licence...)"
    )
    allocated_worker: ShortText = Field(default="", title="allocated worker")
    team: ShortText = Field(default="", title="team")
    involved_agencies: list[Agency] = Field(
        default_factory=list, max_length=len(Agency), title="agencies involved"
    )
    previous_closures: list[PreviousClosure] = Field(
        default_factory=list, max_length=50, title="previous closures"
    )
    orders: list[StatutoryOrder] = Field(
        default_factory=list, max_length=20, title="statutory orders"
    )

    @field_validator("case_reference", mode="wrap")
    @classmethod
    def _new_reference_is_not_a_name(
        cls, typed: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> str:
        """Input for a new review (validation context `case_reference.new_reference`) is held
        to the council's rule; a stored review's reference is not, so it always loads."""
        rule = reference_rule.rule_in(info.context)
        reference_rule.refuse_name(typed, rule)
        reference: str = handler(typed)
        return reference_rule.refuse_wrong_form(reference, rule)

    def route(self, as_of: dt.date) -> Route:
        """The closure route. A young person closing at 18 or over moves to adult services;
        an unrecorded reason is judged on the strictest route (needs met by change)."""
        if self.closure_reason is None:
            return Route.CHANGE
        route = route_of_reason(self.closure_reason)
        if route is Route.CHANGE and self.age_on(as_of) >= ADULTHOOD:
            return Route.TRANSITION
        return route

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


class PlanOutcome(Model):
    outcome: ShortText = Field(min_length=1, title="plan outcome or safety goal")
    status: OutcomeStatus | None = Field(default=None, title="achieved")
    cited: Items = Field(default_factory=list, title="evidence cited")


class ChangeAnswer(Answer):
    """Evidence of change: what has changed, and who saw it (cited items are relied on)."""

    plan_outcomes: list[PlanOutcome] = Field(
        default_factory=list, max_length=50, title="plan outcomes and safety goals"
    )


class PaceAnswer(Answer):
    plan_names_period: bool | None = Field(
        default=None, title="the plan agreed a maintenance period"
    )
    maintenance_weeks: Weeks | None = Field(
        default=None, title="maintenance period agreed in the plan (weeks)"
    )


class Cause(Model):
    """A cause of the fall in risk; a circumstantial one needs a plan for the day it ends."""

    kind: CauseKind = Field(title="cause")
    ends_on: Day | None = Field(default=None, title="date the circumstance ends")
    plan_agency: Agency | None = Field(default=None, title="plan: agency that acts")
    plan_role: ShortText = Field(default="", title="plan: who acts (role)")
    plan_action: ShortText = Field(default="", title="plan: what they will do")
    plan_by: Day | None = Field(default=None, title="plan: by when")
    plan_check: ShortText = Field(default="", title="plan: how we will know it happened")
    plan_notes: LongText = Field(default="", title="plan: notes")


class CauseAnswer(Answer):
    causes: list[Cause] = Field(default_factory=list, max_length=20, title="causes")
    network_status: NetworkStatus | None = Field(
        default=None, title="exploiting network or location"
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
    area: NeedArea | None = Field(default=None, title="kind of need")
    status: ReferralStatus = Field(default=ReferralStatus.NONE, title="referral status")
    service: ShortText = Field(default="", title="onward service")
    agency: Agency | None = Field(default=None, title="agency providing the service")
    focus: ServiceFocus | None = Field(default=None, title="whom the service works with")
    named_contact: ShortText = Field(default="", title="named contact (role)")
    first_contact_on: Day | None = Field(default=None, title="date of first contact")
    consent_to_share: bool = Field(default=False, title="consent to share recorded")
    alternative_after_decline: ShortText = Field(
        default="", title="alternative offered after the family declined"
    )
    no_alternative_agreed_on: Day | None = Field(
        default=None, title="date the manager agreed no further offer"
    )


class SupportAnswer(Answer):
    remaining_needs: bool | None = Field(default=None, title="needs remain after closure")
    no_needs_because: LongText = Field(default="", title="why no needs remain")
    needs: list[Need] = Field(default_factory=list, max_length=50, title="remaining needs")


class Trigger(Model):
    trigger: ShortText = Field(min_length=1, title="re-referral trigger")
    who_acts: ShortText = Field(default="", title="who acts (role)")
    agency: Agency | None = Field(default=None, title="their agency")


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
    disagreement: bool | None = Field(default=None, title="someone disagrees with closure")
    disagreement_response: LongText = Field(default="", title="how the disagreement was handled")
    contacts_given: bool = Field(default=False, title="contacts given for when worries return")
    step_down: StepDown | None = Field(default=None, title="the exit relies on")
    review_point_on: Day | None = Field(
        default=None, title="date the step-down plan's progress is reviewed"
    )
    escalation_role: ShortText = Field(default="", title="who escalates if it stalls (role)")
    escalation_agency: Agency | None = Field(default=None, title="their agency")


class CuriosityAnswer(Answer):
    network_mapped_on: Day | None = Field(default=None, title="date peers and network mapped")
    engagement: Engagement | None = Field(default=None, title="engagement")
    engagement_reasons: LongText = Field(default="", title="reasons behind the engagement")
    last_direct_contact_on: Day | None = Field(
        default=None, title="date of last direct contact with the young person"
    )


class FactorAnswer(Model):
    status: FactorStatus = Field(default=FactorStatus.NOT_ASSESSED, title="status")
    response: ShortText = Field(default="", title="plan element or onward support")
    agency: Agency | None = Field(default=None, title="agency that provides it")


class HouseholdAdult(Model):
    role: ShortText = Field(min_length=1, title="adult in the household (role, not name)")
    police_checked_on: Day | None = Field(default=None, title="date police history checked")
    social_care_checked_on: Day | None = Field(
        default=None, title="date children's social care history checked"
    )


class FamilyAnswer(Answer):
    factors: dict[FamilyFactor, FactorAnswer] = Field(default_factory=dict, title="family factors")
    male_carer: MaleCarer | None = Field(default=None, title="father or male carer")
    siblings_considered: bool = Field(default=False, title="impact on other children considered")
    adults: list[HouseholdAdult] = Field(
        default_factory=list, max_length=20, title="adults in the household"
    )

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
    pending_charges: bool | None = Field(default=None, title="charges pending")
    police_told_of_exploitation: bool = Field(
        default=False, title="police and prosecutors told of exploitation concerns"
    )
    transition_plan: bool = Field(default=False, title="transition plan for turning 18")
    diversionary_offer: ShortText = Field(default="", title="diversionary or positive activity")


class ExploitAnswer(Answer):
    rit_completed_on: Day | None = Field(
        default=None, title="date risk indicator tool (RIT) last completed"
    )
    mace_status: MaceStatus | None = Field(default=None, title="MACE status")
    mace_closed_on: Day | None = Field(default=None, title="date MACE closed the case")
    mace_closure_reason: ShortText = Field(default="", title="the MACE panel's reason for closing")
    nrm_status: NrmStatus = Field(default=NrmStatus.NOT_DECIDED, title="NRM referral")
    nrm_reason: LongText = Field(default="", title="reason for not referring to the NRM")
    vemt_consulted_on: Day | None = Field(default=None, title="date of VEMT consultation")


class MentalHealthAnswer(Answer):
    wellbeing_need: bool | None = Field(default=None, title="emotional wellbeing need recorded")
    camhs: CamhsOutcome | None = Field(default=None, title="CAMHS outcome")
    alternative_support: ShortText = Field(default="", title="alternative support offered")
    alternative_agency: Agency | None = Field(
        default=None, title="agency providing the alternative support"
    )
    alternative_shared: bool = Field(
        default=False, title="alternative shared with family and partner agencies"
    )


class RouteAnswer(Answer):
    """What each closure route needs: a transfer, a move to adult services, or an assessment."""

    receiving_authority: ShortText = Field(default="", title="transfer: receiving authority")
    receiving_accepted_on: Day | None = Field(
        default=None, title="transfer: date the receiving authority accepted in writing"
    )
    transfer_meeting_on: Day | None = Field(
        default=None, title="transfer: date of the transfer meeting or conference (held or booked)"
    )
    chronology_sent_on: Day | None = Field(
        default=None, title="transfer: date chronology and case summary sent"
    )
    police_force_told_on: Day | None = Field(
        default=None, title="transfer: date the receiving police force was told"
    )
    new_school_told_on: Day | None = Field(
        default=None, title="transfer: date the new school or college was told"
    )
    handover_agency: Agency | None = Field(
        default=None, title="adulthood: service that accepted the handover"
    )
    handover_accepted_on: Day | None = Field(
        default=None, title="adulthood: date the handover was accepted"
    )
    transition_plan_on: Day | None = Field(
        default=None, title="adulthood: date the transition plan was agreed"
    )
    exploitation_carried_across: bool | None = Field(
        default=None, title="adulthood: exploitation concerns and processes handed over"
    )
    threshold_decided_on: Day | None = Field(
        default=None, title="assessment: date of the threshold decision"
    )
    threshold_decided_by: ShortText = Field(
        default="", title="assessment: who made the threshold decision (role)"
    )
    offered: ShortText = Field(default="", title="assessment: what was offered")
    offered_agency: Agency | None = Field(default=None, title="assessment: agency offering it")


_FORWARD_DATES = frozenset(
    {"ends_on", "first_contact_on", "review_point_on", "transfer_meeting_on"}
)


class Answers(Model):
    route: RouteAnswer = Field(default_factory=RouteAnswer)
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
    """A team manager's accountable exception to one finding of an overridable blocker.

    It holds what the finding said and the facts the check read when it was granted, so that
    when those facts change the app can say what changed and the worker asks again.
    """

    finding: Annotated[str, Field(pattern=r"^[a-z]+\.E\d{3}:[0-9a-f]{12}$")] = Field(
        title="finding"
    )
    subject: ShortText = Field(default="", title="what the finding concerned")
    facts: dict[Annotated[str, Field(max_length=200)], ShortText] = Field(
        default_factory=dict, max_length=50, title="facts the check read"
    )
    message: LongText = Field(default="", title="the finding as granted")
    reason: LongText = Field(min_length=1, title="reason for the exception")
    manager: ShortText = Field(min_length=1, title="manager (staff id)")
    granted_on: Day = Field(title="date granted")


ReplyKey = Annotated[
    str,
    Field(
        pattern=r"^\d{1,12}:(overall|step:[a-z_]{1,24}"
        r"|finding:[a-z_]{1,24}\.[A-Z]\d{3}:[0-9a-f]{12})$"
    ),
]
"""What a reply answers: the return (its decision id), then the manager's overall reason, a
step's reason or a finding's reason ("12:overall", "12:step:support", "12:finding:exit.W002:…")."""
MAX_REPLIES = 1000


def _no_replies(replies: dict[str, str]) -> bool:
    return not replies


class FamilySummary(Model):
    """The summary for the young person and family as the worker settled it at "Check and sign
    off". A part left unset (None) is sent in the words written from the answers
    (`core.family_words`); what an evidence item shows is quoted only for the items in `quoted`.
    Sealed with the review at sign-off; printed as sealed once the closure is approved."""

    changed: LongText | None = Field(default=None, title="summary for the family: what has changed")
    support: LongText | None = Field(
        default=None, title="summary for the family: what help carries on"
    )
    worse: LongText | None = Field(
        default=None, title="summary for the family: if things get worse"
    )
    contact: LongText | None = Field(default=None, title="summary for the family: who to contact")
    quoted: Items = Field(
        default_factory=list, title="evidence quoted in the summary for the family"
    )


def _is_none(value: object) -> bool:
    return value is None


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
    family_summary: FamilySummary | None = Field(
        # Left out of the document until the worker settles one, so a review without it keeps
        # the same bytes and content hash as before the field existed.
        default=None,
        exclude_if=_is_none,
        title="summary for the young person and family",
    )
    replies: dict[ReplyKey, ShortText] = Field(
        # Left out of the document while empty, so a review never returned (or not yet
        # answered) keeps the same bytes and content hash as before the field existed.
        default_factory=dict,
        exclude_if=_no_replies,
        max_length=MAX_REPLIES,
        title="the caseworker's one-line replies to the reasons a manager returned it with",
    )

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        return upgrade_document(data)[0] if isinstance(data, dict) else data

    @model_validator(mode="before")
    @classmethod
    def _forget_quotes_of_removed_evidence(cls, data: Any) -> Any:
        """An evidence item removed from the register is no longer quoted to the family (and a
        later item given its id is not quoted unless the worker ticks it)."""
        if not isinstance(data, dict):
            return data
        summary = data.get("family_summary")
        if isinstance(summary, FamilySummary):
            summary = summary.model_dump()
        evidence = data.get("evidence")
        if not isinstance(summary, dict) or not isinstance(evidence, list):
            return data
        quoted = summary.get("quoted")
        if not isinstance(quoted, list):
            return data
        known = {
            item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
            for item in evidence
        }
        kept = [ref for ref in quoted if ref in known]
        if len(kept) == len(quoted):
            return data
        return {**data, "family_summary": {**summary, "quoted": kept}}

    def item(self, evidence_id: str) -> EvidenceItem:
        for item in self.evidence:
            if item.id == evidence_id:
                return item
        raise KeyError(evidence_id)

    # Changing the registers. Each change returns a new, valid review, or raises InvalidChange
    # holding the document as changed (so each problem can be shown beside its field).

    @property
    def next_evidence_id(self) -> str:
        """The id the next evidence item is given: one more than the highest "E" number in the
        register, so no id in use is given twice. Removing the highest item frees its number."""
        return _next_id(EVIDENCE_PREFIX, [item.id for item in self.evidence])

    @property
    def next_incident_id(self) -> str:
        """The id the next incident is given (as next_evidence_id, with "I")."""
        return _next_id(INCIDENT_PREFIX, [incident.id for incident in self.incidents])

    def with_evidence(self, item: EvidenceItem | Mapping[str, Any]) -> Review:
        """The review with `item` added at the end of the evidence register, under its own id."""
        document = self.model_dump(mode="json")
        document["evidence"].append(_as_document(item))
        return _changed(document)

    def with_changed_evidence(self, item: EvidenceItem | Mapping[str, Any]) -> Review:
        """The review with the evidence item of the same id replaced, where it stands."""
        values = _as_document(item)
        self.item(str(values.get("id")))  # KeyError for an item not in the register
        document = self.model_dump(mode="json")
        document["evidence"] = [
            values if entry["id"] == values["id"] else entry for entry in document["evidence"]
        ]
        return _changed(document)

    def without_evidence(self, evidence_id: str) -> Review:
        """The review with the item removed from the register and every citation of it taken
        out, wherever it is cited (answers, plan outcomes); the family summary no longer quotes
        it. Nothing else changes."""
        self.item(evidence_id)  # KeyError for an item not in the register
        document = self.model_dump(mode="json")
        document["evidence"] = [e for e in document["evidence"] if e["id"] != evidence_id]
        document["answers"] = _without_citation(document["answers"], evidence_id)
        return _changed(document)

    def citing(self, evidence_id: str) -> list[str]:
        """The steps whose answers cite the item (a plan outcome counts for its step), as the
        answers' names ("change", "pace"), in the wizard's order."""
        return [
            name
            for name, answer in self.answers.each()
            if _cites(answer.model_dump(mode="json"), evidence_id)
        ]

    def with_incident(self, incident: Incident | Mapping[str, Any]) -> Review:
        """The review with `incident` added at the end of the incidents, under its own id."""
        document = self.model_dump(mode="json")
        document["incidents"].append(_as_document(incident))
        return _changed(document)

    def without_incident(self, incident_id: str) -> Review:
        """The review with the incident removed (nothing cites an incident)."""
        if all(incident.id != incident_id for incident in self.incidents):
            raise KeyError(incident_id)
        document = self.model_dump(mode="json")
        document["incidents"] = [i for i in document["incidents"] if i["id"] != incident_id]
        return _changed(document)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _refuse_duplicates("evidence", [item.id for item in self.evidence])
        _refuse_duplicates("incidents", [incident.id for incident in self.incidents])
        known = {item.id for item in self.evidence}
        cited_by = [(theme, answer.cited) for theme, answer in self.answers.each()]
        cited_by += [("plan outcomes", o.cited) for o in self.answers.change.plan_outcomes]
        for theme, cited in cited_by:
            missing = [ref for ref in cited if ref not in known]
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
            # First letter up only: "the date risk indicator tool (RIT) ..." keeps its RIT.
            _refuse_outside(label[:1].upper() + label[1:], day, born, closure)
        return self


EVIDENCE_PREFIX = "E"
INCIDENT_PREFIX = "I"


class InvalidChange(ValueError):
    """A change that would leave the review invalid. `error` says why; `document` is the review
    as changed, which names each problem's place (an entry by its id, a field by its question)."""

    def __init__(self, error: ValidationError, document: dict[str, Any]) -> None:
        super().__init__(str(error))
        self.error = error
        self.document = document


def _changed(document: dict[str, Any]) -> Review:
    try:
        return Review.model_validate(document)
    except ValidationError as error:
        raise InvalidChange(error, document) from error


def _as_document(item: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    return item.model_dump(mode="json") if isinstance(item, BaseModel) else dict(item)


def _next_id(prefix: str, existing: list[str]) -> str:
    numbers = [
        int(ident[len(prefix) :])
        for ident in existing
        if ident.startswith(prefix) and ident[len(prefix) :].isdigit()
    ]
    return f"{prefix}{max(numbers, default=0) + 1}"


def _cites(node: Any, ref: str) -> bool:
    """Whether any list of evidence cited in `node` (an answer as a document) holds `ref`."""
    if isinstance(node, dict):
        return any(
            (name == "cited" and isinstance(value, list) and ref in value) or _cites(value, ref)
            for name, value in node.items()
        )
    if isinstance(node, list):
        return any(_cites(value, ref) for value in node)
    return False


def _without_citation(node: Any, ref: str) -> Any:
    """`node` (answers as a document) with `ref` taken out of every list of evidence cited."""
    if isinstance(node, dict):
        return {
            name: [cited for cited in value if cited != ref]
            if name == "cited" and isinstance(value, list)
            else _without_citation(value, ref)
            for name, value in node.items()
        }
    if isinstance(node, list):
        return [_without_citation(value, ref) for value in node]
    return node


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


def review_schema() -> dict[str, Any]:
    return Review.model_json_schema()


_FILE_FIELDS: dict[str, Any] = {
    name: (field.annotation, field) for name, field in Review.model_fields.items()
}
_ReviewFile = create_model("ReviewFile", __base__=Model, **_FILE_FIELDS)
"""A review's fields without its reading of older files (`Review._upgrade`, done first) or its
tidying: those run as Python, which would take strictness out of reading the JSON."""


def refuse_lax_values(document: Any, *, context: Any = None) -> None:
    """Refuse a review document from outside whose values are of the wrong JSON type.

    Read laxly, `true` would be 1 week, 1717372800 a date, "2024-06-03T10:00:00" the 3rd of June
    and "4" the number 4: a file that says something else is silently taken to say that. This
    reads the document strictly, as JSON (a date is a "YYYY-MM-DD" string, a number is a number,
    yes or no is true or false, a choice is its code), after upgrading an older schema version.
    Python values (a date, a choice) count as what they are. Raises ValidationError, located as
    `Review` locates it; a document that is not an object, or cannot be written as JSON, is left
    to the usual validation to describe.
    """
    if not isinstance(document, dict):
        return
    try:
        encoded = to_json(upgrade_document(document)[0])
    except (PydanticSerializationError, ValueError, RecursionError):
        return
    _ReviewFile.model_validate_json(encoded, strict=True, context=context)


def review_from_file(text: str | bytes, *, context: Any = None) -> Review:
    """A review file from outside (the command line's FILE): strictly typed, then validated as
    every review is. What we stored ourselves is read with `Review.model_validate_json`, as it
    always was. Raises ValidationError."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        document = None  # not JSON: the model's own reading says why
    refuse_lax_values(document, context=context)
    return Review.model_validate_json(text, context=context)


def dated_after(review: Review, as_of: dt.date) -> list[str]:
    """What the review records as happening after the as-of date: impossible to rely on."""
    late = [f"Evidence {item.id}" for item in review.evidence if item.observed_on > as_of]
    late += [f"Incident {inc.id}" for inc in review.incidents if inc.occurred_on > as_of]
    late += [label for label, day in review.answers.past_dates() if day > as_of]
    return late


class AsOfRefused(ValueError):
    """A review cannot be judged as of this date; the message says why, in plain words."""


def refuse_as_of(review: Review, as_of: dt.date) -> None:
    """Refuse an as-of date a person chose (the command line's --as-of) that the review cannot
    be judged on: outside the dates any case can have, before the case was opened, or before
    something the review relies on happened. `evaluate` itself never raises (it fails closed):
    call this first wherever the as-of date is not the review's own proposed closure date."""
    if not EARLIEST_DAY <= as_of <= LATEST_DAY:
        raise AsOfRefused(f"The as-of date {as_of} is not a plausible date (1900 to 2199).")
    if as_of < review.case.opened_on:
        raise AsOfRefused(
            f"The as-of date {as_of} is before the case was opened ({review.case.opened_on})."
        )
    late = dated_after(review, as_of)
    if late:
        raise AsOfRefused(
            f"{', '.join(late)} dated after the as-of date ({as_of}); evidence cannot be relied "
            "on before it exists."
        )
