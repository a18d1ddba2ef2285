"""The fixed vocabularies a review is recorded in, each value with a plain-language label."""

from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A vocabulary whose values carry a label for people."""

    @property
    def label(self) -> str:
        # Keyed by vocabulary and value: members of two vocabularies with equal values
        # (`none`, `referred`, `not_applicable`) compare equal and must not share a label.
        return _LABELS[(type(self), self.value)]


class Involvement(Labelled):
    EARLY_HELP = "early_help"
    CHILD_IN_NEED = "child_in_need"
    CHILD_PROTECTION = "child_protection"
    YOUTH_JUSTICE = "youth_justice"
    OTHER = "other"


class ClosureReason(Labelled):
    """The national children-in-need census reasons for closure (RC1 to RC9)."""

    RC1 = "RC1"
    RC2 = "RC2"
    RC3 = "RC3"
    RC4 = "RC4"
    RC5 = "RC5"
    RC6 = "RC6"
    RC7 = "RC7"
    RC8 = "RC8"
    RC9 = "RC9"


class Route(Labelled):
    """How statutory involvement ends: it decides which questions a closure must answer."""

    CHANGE = "change"
    TRANSFER = "transfer"
    TRANSITION = "transition"
    ASSESSMENT = "assessment"
    ENDED = "ended"


_ROUTE_OF_REASON = {
    ClosureReason.RC1: Route.ENDED,
    ClosureReason.RC2: Route.ENDED,
    ClosureReason.RC3: Route.ENDED,
    ClosureReason.RC4: Route.ENDED,
    ClosureReason.RC5: Route.TRANSFER,
    ClosureReason.RC6: Route.TRANSITION,
    ClosureReason.RC7: Route.CHANGE,
    ClosureReason.RC8: Route.ASSESSMENT,
    ClosureReason.RC9: Route.ASSESSMENT,
}


def route_of_reason(reason: ClosureReason) -> Route:
    return _ROUTE_OF_REASON[reason]


class RiskLevel(Labelled):
    NONE = "none"
    EMERGING = "emerging"
    MODERATE = "moderate"
    SIGNIFICANT = "significant"

    @property
    def band(self) -> int:
        return list(RiskLevel).index(self)


class IncidentKind(Labelled):
    MISSING_EPISODE = "missing_episode"
    ARREST_OR_CHARGE = "arrest_or_charge"
    POLICE_INTELLIGENCE = "police_intelligence"
    EMERGENCY_DEPARTMENT = "emergency_department"
    VIOLENCE = "violence"
    EXCLUSION = "exclusion"
    UNEXPLAINED_MONEY = "unexplained_money"
    OTHER = "other"

    @property
    def is_exploitation_sign(self) -> bool:
        """A sign the published reviews keep finding before exploitation was recognised."""
        return self in (
            IncidentKind.MISSING_EPISODE,
            IncidentKind.ARREST_OR_CHARGE,
            IncidentKind.POLICE_INTELLIGENCE,
            IncidentKind.UNEXPLAINED_MONEY,
        )


class Agency(Labelled):
    CHILDRENS_SOCIAL_CARE = "childrens_social_care"
    EARLY_HELP = "early_help"
    SCHOOL = "school"
    POLICE = "police"
    YOUTH_JUSTICE = "youth_justice"
    HEALTH = "health"
    EMERGENCY_DEPARTMENT = "emergency_department"
    CAMHS = "camhs"
    VOLUNTARY = "voluntary"
    HOUSING = "housing"
    GP = "gp"
    ADULT_SOCIAL_CARE = "adult_social_care"
    PROBATION = "probation"
    OTHER_LOCAL_AUTHORITY = "other_local_authority"
    PARENT_CARER = "parent_carer"
    YOUNG_PERSON = "young_person"

    @property
    def is_family(self) -> bool:
        return self in (Agency.PARENT_CARER, Agency.YOUNG_PERSON)


class EvidenceKind(Labelled):
    OBSERVED = "observed"
    RECORD = "record"
    PARENT_ACCOUNT = "parent_account"
    YOUNG_PERSON_ACCOUNT = "young_person_account"
    OPINION = "opinion"
    ATTENDANCE = "attendance"
    ABSENCE_OF_REPORTS = "absence_of_reports"

    @property
    def is_independent_kind(self) -> bool:
        """Seen or recorded by someone: not said, believed, attended or merely unreported."""
        return self in (EvidenceKind.OBSERVED, EvidenceKind.RECORD)


class Direction(Labelled):
    CHANGE = "shows_change"
    CONCERN = "shows_concern"
    NEUTRAL = "neutral"


class CauseKind(Labelled):
    CUSTODY_OR_REMAND = "custody_or_remand"
    BAIL_CURFEW_TAG = "bail_curfew_tag"
    RELOCATION = "relocation"
    HOSPITAL_ADMISSION = "hospital_admission"
    EXPLOITER_REMOVED = "exploiter_removed"
    PHONE_SEIZED = "phone_seized"
    NEW_EDUCATION_PLACE = "new_education_place"
    SCHOOL_HOLIDAYS = "school_holidays"
    INCREASED_SUPERVISION = "increased_supervision"
    OWN_DECISION = "own_decision"
    OTHER = "other"

    @property
    def is_circumstantial(self) -> bool:
        """A circumstance that holds risk down for a while and then ends."""
        return self in _CIRCUMSTANTIAL


_CIRCUMSTANTIAL = frozenset(
    {
        CauseKind.CUSTODY_OR_REMAND,
        CauseKind.BAIL_CURFEW_TAG,
        CauseKind.RELOCATION,
        CauseKind.HOSPITAL_ADMISSION,
        CauseKind.EXPLOITER_REMOVED,
        CauseKind.PHONE_SEIZED,
        CauseKind.SCHOOL_HOLIDAYS,
        CauseKind.INCREASED_SUPERVISION,
    }
)


class NetworkStatus(Labelled):
    ACTIVE = "active"
    DISRUPTED = "disrupted"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"


class ReferralStatus(Labelled):
    NONE = "none"
    SIGNPOSTED = "signposted"
    AWAITING_TRIAGE = "awaiting_triage"
    REFERRED = "referred"
    ACCEPTED = "accepted"
    DECLINED_BY_FAMILY = "declined_by_family"


class Engagement(Labelled):
    GOOD = "good"
    RELUCTANT = "reluctant"
    SPORADIC = "sporadic"


class FamilyFactor(Labelled):
    DOMESTIC_ABUSE = "domestic_abuse"
    PARENTAL_MENTAL_HEALTH = "parental_mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    CHILD_TO_PARENT_VIOLENCE = "child_to_parent_violence"
    FAMILY_CRIMINALITY = "family_criminality"


class FactorStatus(Labelled):
    PRESENT = "present"
    NOT_PRESENT = "not_present"
    NOT_ASSESSED = "not_assessed"


class MaleCarer(Labelled):
    SEEN_AND_INCLUDED = "seen_and_included"
    SEEN_NOT_INCLUDED = "seen_not_included"
    NOT_SEEN = "not_seen"
    NOT_APPLICABLE = "not_applicable"


class MaceStatus(Labelled):
    NEVER_OPEN = "never_open"
    OPEN = "open"
    CLOSED = "closed"


class NrmStatus(Labelled):
    NOT_DECIDED = "not_decided"
    REFERRED = "referred"
    NOT_REFERRED_WITH_REASON = "not_referred_with_reason"


class CamhsOutcome(Labelled):
    NOT_REFERRED = "not_referred"
    ACCEPTED = "accepted"
    THRESHOLD_NOT_MET = "threshold_not_met"
    DECLINED = "declined"


class OutcomeStatus(Labelled):
    MET = "met"
    PARTLY_MET = "partly_met"
    NOT_MET = "not_met"


class NeedArea(Labelled):
    EXPLOITATION = "exploitation"
    SUBSTANCE_USE = "substance_use"
    MENTAL_HEALTH = "mental_health"
    EDUCATION = "education"
    FAMILY = "family"
    OTHER = "other"

    @property
    def needs_prompt_contact(self) -> bool:
        """Needs where signposting without a first contact has left young people unprotected."""
        return self in (NeedArea.EXPLOITATION, NeedArea.SUBSTANCE_USE)


class ServiceFocus(Labelled):
    YOUNG_PERSON = "young_person"
    FAMILY = "family"
    BOTH = "both"


class StepDown(Labelled):
    NONE = "none"
    EARLY_HELP = "early_help"
    EHCP = "ehcp"
    MACE = "mace"
    OTHER_PLAN = "other_plan"


class OrderKind(Labelled):
    REFERRAL_ORDER = "referral_order"
    YOUTH_REHABILITATION_ORDER = "youth_rehabilitation_order"
    DTO_LICENCE = "dto_licence"
    SUPERVISION_ORDER = "supervision_order"
    CRIMINAL_BEHAVIOUR_ORDER = "criminal_behaviour_order"
    OTHER = "other"


_LABEL_LIST: list[tuple[StrEnum, str]] = [
    (Involvement.EARLY_HELP, "Early help"),
    (Involvement.CHILD_IN_NEED, "Child in need"),
    (Involvement.CHILD_PROTECTION, "Child protection"),
    (Involvement.YOUTH_JUSTICE, "Youth justice"),
    (Involvement.OTHER, "Other"),
    (ClosureReason.RC1, "RC1 Adopted"),
    (ClosureReason.RC2, "RC2 Died"),
    (ClosureReason.RC3, "RC3 Child arrangements order"),
    (ClosureReason.RC4, "RC4 Special guardianship order"),
    (ClosureReason.RC5, "RC5 Transferred to another local authority"),
    (ClosureReason.RC6, "RC6 Transferred to adult social care"),
    (ClosureReason.RC7, "RC7 Services ceased, including child no longer in need"),
    (ClosureReason.RC8, "RC8 Closed after assessment, no further action"),
    (ClosureReason.RC9, "RC9 Closed after assessment, referred to early help"),
    (RiskLevel.NONE, "None"),
    (RiskLevel.EMERGING, "Emerging"),
    (RiskLevel.MODERATE, "Moderate"),
    (RiskLevel.SIGNIFICANT, "Significant"),
    (IncidentKind.MISSING_EPISODE, "Missing episode"),
    (IncidentKind.ARREST_OR_CHARGE, "Arrest or charge"),
    (IncidentKind.POLICE_INTELLIGENCE, "Police intelligence"),
    (IncidentKind.EMERGENCY_DEPARTMENT, "Emergency department attendance"),
    (IncidentKind.VIOLENCE, "Violence"),
    (IncidentKind.EXCLUSION, "Exclusion from school"),
    (IncidentKind.OTHER, "Other incident"),
    (Agency.CHILDRENS_SOCIAL_CARE, "Children's social care"),
    (Agency.EARLY_HELP, "Early help"),
    (Agency.SCHOOL, "School or college"),
    (Agency.POLICE, "Police"),
    (Agency.YOUTH_JUSTICE, "Youth justice service"),
    (Agency.HEALTH, "Health"),
    (Agency.EMERGENCY_DEPARTMENT, "Emergency department"),
    (Agency.CAMHS, "CAMHS (child and adolescent mental health services)"),
    (Agency.VOLUNTARY, "Voluntary or community sector"),
    (Agency.HOUSING, "Housing"),
    (Agency.PARENT_CARER, "Parent or carer"),
    (Agency.YOUNG_PERSON, "Young person"),
    (EvidenceKind.OBSERVED, "Observed by a professional"),
    (EvidenceKind.RECORD, "Record or data"),
    (EvidenceKind.PARENT_ACCOUNT, "Account from parent or carer"),
    (EvidenceKind.YOUNG_PERSON_ACCOUNT, "Young person's own account"),
    (EvidenceKind.OPINION, "Professional opinion"),
    (EvidenceKind.ATTENDANCE, "Attendance or compliance"),
    (Direction.CHANGE, "Shows change"),
    (Direction.CONCERN, "Shows concern"),
    (Direction.NEUTRAL, "Neutral"),
    (CauseKind.CUSTODY_OR_REMAND, "Custody or remand"),
    (CauseKind.BAIL_CURFEW_TAG, "Bail conditions, curfew or tag"),
    (CauseKind.RELOCATION, "Relocation or placement move"),
    (CauseKind.HOSPITAL_ADMISSION, "Hospital admission"),
    (CauseKind.EXPLOITER_REMOVED, "Exploiter arrested or remanded"),
    (CauseKind.PHONE_SEIZED, "Phone seized"),
    (CauseKind.NEW_EDUCATION_PLACE, "New education place"),
    (CauseKind.SCHOOL_HOLIDAYS, "School holidays"),
    (CauseKind.INCREASED_SUPERVISION, "Increased supervision"),
    (CauseKind.OWN_DECISION, "The young person's own decision"),
    (CauseKind.OTHER, "Other"),
    (NetworkStatus.ACTIVE, "Still active"),
    (NetworkStatus.DISRUPTED, "Disrupted"),
    (NetworkStatus.UNKNOWN, "Not known"),
    (NetworkStatus.NOT_APPLICABLE, "No exploiting network identified"),
    (ReferralStatus.NONE, "No referral"),
    (ReferralStatus.SIGNPOSTED, "Signposted only"),
    (ReferralStatus.AWAITING_TRIAGE, "Referred, awaiting triage"),
    (ReferralStatus.REFERRED, "Referred"),
    (ReferralStatus.ACCEPTED, "Accepted by the service"),
    (ReferralStatus.DECLINED_BY_FAMILY, "Offered, declined by the family"),
    (Engagement.GOOD, "Good"),
    (Engagement.RELUCTANT, "Reluctant"),
    (Engagement.SPORADIC, "Sporadic"),
    (FamilyFactor.DOMESTIC_ABUSE, "Domestic abuse"),
    (FamilyFactor.PARENTAL_MENTAL_HEALTH, "Parental mental health"),
    (FamilyFactor.SUBSTANCE_MISUSE, "Substance misuse"),
    (FamilyFactor.CHILD_TO_PARENT_VIOLENCE, "Child-to-parent violence"),
    (FamilyFactor.FAMILY_CRIMINALITY, "Family criminality"),
    (FactorStatus.PRESENT, "Present"),
    (FactorStatus.NOT_PRESENT, "Not present"),
    (FactorStatus.NOT_ASSESSED, "Not assessed"),
    (MaleCarer.SEEN_AND_INCLUDED, "Seen and included in safety planning"),
    (MaleCarer.SEEN_NOT_INCLUDED, "Seen, not included in safety planning"),
    (MaleCarer.NOT_SEEN, "Not seen"),
    (MaleCarer.NOT_APPLICABLE, "No father or significant male carer involved"),
    (MaceStatus.NEVER_OPEN, "Never open to MACE"),
    (MaceStatus.OPEN, "Still open to MACE"),
    (MaceStatus.CLOSED, "Closed to MACE"),
    (NrmStatus.NOT_DECIDED, "Not decided"),
    (NrmStatus.REFERRED, "Referred to the NRM"),
    (NrmStatus.NOT_REFERRED_WITH_REASON, "Not referred, reason recorded"),
    (CamhsOutcome.NOT_REFERRED, "Not referred to CAMHS"),
    (CamhsOutcome.ACCEPTED, "Accepted by CAMHS"),
    (CamhsOutcome.THRESHOLD_NOT_MET, "CAMHS threshold not met"),
    (CamhsOutcome.DECLINED, "CAMHS declined the referral"),
    (Route.CHANGE, "Needs met because things changed"),
    (Route.TRANSFER, "Transfer to another local authority"),
    (Route.TRANSITION, "Transition to adult services at 18"),
    (Route.ASSESSMENT, "Closed after assessment"),
    (Route.ENDED, "Ended by an order, adoption or death"),
    (IncidentKind.UNEXPLAINED_MONEY, "Unexplained money, phones or items"),
    (Agency.GP, "GP"),
    (Agency.ADULT_SOCIAL_CARE, "Adult social care"),
    (Agency.PROBATION, "Probation service"),
    (Agency.OTHER_LOCAL_AUTHORITY, "Another local authority"),
    (EvidenceKind.ABSENCE_OF_REPORTS, "No new reports (absence of concern)"),
    (OutcomeStatus.MET, "Met"),
    (OutcomeStatus.PARTLY_MET, "Partly met"),
    (OutcomeStatus.NOT_MET, "Not met"),
    (NeedArea.EXPLOITATION, "Exploitation or going missing"),
    (NeedArea.SUBSTANCE_USE, "Substance use"),
    (NeedArea.MENTAL_HEALTH, "Emotional wellbeing or mental health"),
    (NeedArea.EDUCATION, "Education, training or employment"),
    (NeedArea.FAMILY, "Family relationships or parenting"),
    (NeedArea.OTHER, "Other need"),
    (ServiceFocus.YOUNG_PERSON, "Works with the young person"),
    (ServiceFocus.FAMILY, "Works with the parents or family only"),
    (ServiceFocus.BOTH, "Works with the young person and the family"),
    (StepDown.NONE, "No step-down: universal services only"),
    (StepDown.EARLY_HELP, "Early help"),
    (StepDown.EHCP, "Education, health and care plan (EHCP)"),
    (StepDown.MACE, "MACE oversight"),
    (StepDown.OTHER_PLAN, "Another multi-agency plan"),
    (OrderKind.REFERRAL_ORDER, "Referral order"),
    (OrderKind.YOUTH_REHABILITATION_ORDER, "Youth rehabilitation order"),
    (OrderKind.DTO_LICENCE, "Detention and training order licence"),
    (OrderKind.SUPERVISION_ORDER, "Supervision order"),
    (OrderKind.CRIMINAL_BEHAVIOUR_ORDER, "Criminal behaviour order"),
    (OrderKind.OTHER, "Other statutory order"),
]
_LABELS: dict[tuple[type, str], str] = {
    (type(member), member.value): label for member, label in _LABEL_LIST
}
