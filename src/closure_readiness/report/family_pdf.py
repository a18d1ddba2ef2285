"""The closure summary for the young person and family: plain words from the recorded answers.

Everything case-specific comes from what the worker recorded: the change evidence cited, the
protective factors and people that carry on, onward support, the lead after closure and the
triggers for getting help again. No check ids, no process names; abbreviations that appear in
the recorded text are explained at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from closure_readiness.core.dates import human
from closure_readiness.core.review import Need, Review
from closure_readiness.core.vocabulary import Agency, Direction, ReferralStatus, Route
from closure_readiness.report.decision_pdf import (
    INK,
    SECONDARY,
    DecisionRecord,
    build_pdf,
    text,
)
from closure_readiness.report.fonts import BOLD, REGULAR, register_fonts

FROM_AGENCY: dict[Agency, str] = {
    Agency.CHILDRENS_SOCIAL_CARE: "children's social care",
    Agency.EARLY_HELP: "the early help service",
    Agency.SCHOOL: "your school or college",
    Agency.POLICE: "the police",
    Agency.YOUTH_JUSTICE: "the youth justice service",
    Agency.HEALTH: "a health service",
    Agency.EMERGENCY_DEPARTMENT: "the hospital emergency department",
    Agency.CAMHS: "CAMHS (the child and adolescent mental health service)",
    Agency.VOLUNTARY: "a community or charity service",
    Agency.HOUSING: "the housing service",
    Agency.GP: "your GP (family doctor)",
    Agency.ADULT_SOCIAL_CARE: "adult social care",
    Agency.PROBATION: "the probation service",
    Agency.OTHER_LOCAL_AUTHORITY: "the council for the area you are moving to",
    Agency.PARENT_CARER: "your parent or carer",
    Agency.YOUNG_PERSON: "you",
}
"""Who someone is, in the words a family uses."""

GLOSSARY: tuple[tuple[str, str], ...] = (
    ("A&E", "the hospital accident and emergency department."),
    ("CAMHS", "child and adolescent mental health services, the NHS service for young people."),
    ("CSC", "children's social care."),
    ("DSL", "designated safeguarding lead: the person at school whose job is keeping pupils safe."),
    ("GP", "your family doctor."),
    ("MACE", "a meeting where services work together to keep young people safe from harm."),
    ("MASH", "the team that first looks at worries about a child and decides who should help."),
    ("NRM", "National Referral Mechanism: the way to get support after being exploited."),
    ("PCSO", "police community support officer."),
    ("RIT", "a checklist workers use to think about risks to a young person."),
    ("VEMT", "the team that helps young people who are exploited, missing or trafficked."),
    ("YJS", "youth justice service."),
    ("YOT", "youth offending team, now often called the youth justice service."),
    ("designated safeguarding lead", "the person at school whose job is keeping pupils safe."),
    ("detached youth work", "youth workers who meet young people out in the community."),
    ("duty team", "the social workers who answer calls about worries on the day."),
    ("front door", "the council's first contact point when someone is worried about a child."),
    ("safeguarding", "keeping children and young people safe from harm."),
    ("triage", "when a service looks at a request and decides who can help and how soon."),
)

NEED_WORDS: dict[ReferralStatus, str] = {
    ReferralStatus.ACCEPTED: "{service} has agreed to help with this.",
    ReferralStatus.REFERRED: "We have asked {service} to help with this.",
    ReferralStatus.AWAITING_TRIAGE: (
        "We have asked {service} to help with this. They will decide soon and get in touch."
    ),
    ReferralStatus.SIGNPOSTED: "We have given you the details of {service}.",
    ReferralStatus.DECLINED_BY_FAMILY: (
        "You decided not to use {service} for now. You can change your mind: ask your main contact."
    ),
    ReferralStatus.NONE: "{service} can help with this.",
}

BODY = ParagraphStyle("family", fontName=REGULAR, fontSize=11, leading=15, textColor=INK)
INTRO = ParagraphStyle("family-intro", parent=BODY, spaceAfter=4)
TITLE = ParagraphStyle(
    "family-title", parent=BODY, fontName=BOLD, fontSize=20, leading=25, spaceAfter=4
)
META = ParagraphStyle("family-meta", parent=BODY, fontSize=10, leading=13, textColor=SECONDARY)
HEADING = ParagraphStyle(
    "family-heading",
    parent=BODY,
    fontName=BOLD,
    fontSize=14,
    leading=18,
    spaceBefore=10,
    spaceAfter=3,
    keepWithNext=1,
)
BULLET = ParagraphStyle(
    "family-bullet",
    parent=BODY,
    leftIndent=14,
    bulletIndent=2,
    bulletFontName=REGULAR,
    spaceAfter=2,
)
SMALL = ParagraphStyle("family-small", parent=BODY, fontSize=9.5, leading=12.5, spaceAfter=1)


def _p(markup: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(markup, style)


def _bullet(markup: str) -> Paragraph:
    return Paragraph(markup, BULLET, bulletText="\u2022")


def _from(agency: Agency | None) -> str:
    return FROM_AGENCY.get(agency, "") if agency is not None else ""


def _changes(review: Review) -> tuple[list[Flowable], list[str]]:
    items = [review.item(ref) for ref in review.answers.change.cited]
    seen = [item for item in items if item.direction is Direction.CHANGE]
    if not seen:
        return [_p("Please ask your worker about the changes they have seen.")], []
    flowables: list[Flowable] = [_p("People who know you have seen good changes.", INTRO)]
    for item in seen:
        who = _from(item.agency) or item.agency.label
        flowables.append(_bullet(f"<b>From {text(who)}:</b> {text(item.shows)}"))
    return flowables, [item.shows for item in seen]


def _need(need: Need) -> str:
    service = need.service or "A service"
    sentences = [NEED_WORDS[need.status].format(service=text(service))]
    if need.named_contact:
        sentences.append(f"Your contact there: {text(need.named_contact)}.")
    if need.first_contact_on is not None:
        sentences.append(f"They plan to see you by {human(need.first_contact_on)}.")
    return f"<b>{text(need.need)}.</b> " + " ".join(sentences)


def _handover(review: Review, route: Route) -> tuple[list[Flowable], list[str]]:
    """Where the case goes when this service closes because another takes it on."""
    answer = review.answers.route
    if route is Route.TRANSFER and answer.receiving_authority:
        who = text(answer.receiving_authority)
        sentence = (
            f"Your case is moving to <b>{who}</b>, who have agreed to take it on."
            if answer.receiving_accepted_on is not None
            else f"We have asked <b>{who}</b> to take on your case."
        )
        return [_p(sentence, INTRO)], [answer.receiving_authority]
    if route is Route.TRANSITION and answer.handover_agency is not None:
        who = _from(answer.handover_agency) or answer.handover_agency.label
        sentence = (
            f"Now that you are an adult, <b>{text(who)}</b> have agreed to support you."
            if answer.handover_accepted_on is not None
            else f"Now that you are an adult, we have asked <b>{text(who)}</b> to support you."
        )
        return [_p(sentence, INTRO)], []
    return [], []


def _support(review: Review, route: Route) -> tuple[list[Flowable], list[str]]:
    answers = review.answers
    flowables, words = _handover(review, route)
    factors = [
        f.description for f in answers.sustain.protective_factors if f.continues_after_closure
    ]
    if factors:
        flowables.append(_p("These good things carry on after we close:", INTRO))
        flowables.extend(_bullet(text(factor)) for factor in factors)
        words += factors
    people = answers.sustain.safety_network
    if people:
        flowables.append(_p("People around you who have agreed to help:", INTRO))
        for person in people:
            action = f": {text(person.agreed_action)}" if person.agreed_action else ""
            flowables.append(_bullet(f"<b>{text(person.role)}</b>{action}"))
            words += [person.role, person.agreed_action]
    needs = answers.support.needs
    if needs:
        flowables.append(_p("Help from other services:", INTRO))
        for need in needs:
            flowables.append(_bullet(_need(need)))
            words += [need.need, need.service, need.named_contact]
    exit_ = answers.exit
    if exit_.lead_role:
        service = _from(exit_.lead_agency)
        where = f", from {text(service)}" if service else ""
        flowables.append(
            _p(
                f"After we close, your main contact is the <b>{text(exit_.lead_role)}</b>{where}.",
                INTRO,
            )
        )
        words.append(exit_.lead_role)
    if not flowables:
        flowables.append(_p("Please ask your worker what support carries on."))
    return flowables, words


def _contact(review: Review) -> list[Flowable]:
    exit_ = review.answers.exit
    flowables: list[Flowable] = []
    if exit_.lead_role:
        flowables.append(
            _p(f"If worries come back, talk to the <b>{text(exit_.lead_role)}</b> first.", INTRO)
        )
    if exit_.contacts_given:
        flowables.append(
            _p("You have been given their contact details. Keep them somewhere safe.", INTRO)
        )
    else:
        flowables.append(_p("Ask your worker for the contact details before we close.", INTRO))
    flowables.append(_p("<b>If anyone is in danger right now, call 999.</b>", INTRO))
    return flowables


def _triggers(review: Review) -> tuple[list[Flowable], list[str]]:
    triggers = review.answers.exit.triggers
    if not triggers:
        return [_p("If you are worried, talk to your main contact. They can ask for help.")], []
    flowables: list[Flowable] = [
        _p(
            "We have agreed that if any of these things happen, the person named will ask "
            "services to get involved again. This is to keep you safe. It is not a punishment.",
            INTRO,
        )
    ]
    words: list[str] = []
    for trigger in triggers:
        who = f" Who acts: {text(trigger.who_acts)}." if trigger.who_acts else ""
        flowables.append(_bullet(f"<b>{text(trigger.trigger)}.</b>{who}"))
        words += [trigger.trigger, trigger.who_acts]
    return flowables, words


def explained_terms(texts: Iterable[str]) -> list[tuple[str, str]]:
    """The glossary entries whose term appears in the recorded text, in glossary order.

    Abbreviations match as whole words in capitals; phrases match in any case. Longer terms
    are matched first and taken out, so "safeguarding" inside "designated safeguarding lead"
    is not explained twice.
    """
    remaining = "\n".join(texts)
    found = set()
    for term, _meaning in sorted(GLOSSARY, key=lambda entry: -len(entry[0])):
        flags = 0 if term.isupper() or "&" in term else re.IGNORECASE
        pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", flags)
        remaining, count = pattern.subn("\n", remaining)
        if count:
            found.add(term)
    return [(term, meaning) for term, meaning in GLOSSARY if term in found]


def family_summary_story(record: DecisionRecord) -> list[Flowable]:
    register_fonts()  # Paragraph resolves font names as it is built
    review = record.review
    team = record.team or "Our team"
    closing = human(review.case.proposed_closure_on)
    changes, change_words = _changes(review)
    support, support_words = _support(review, review.case.route(record.as_of))
    triggers, trigger_words = _triggers(review)
    story: list[Flowable] = [
        _p("Closing our work with you", TITLE),
        _p(text(f"From {record.signed_by_name}, {team}" if record.signed_by_name else team), META),
        _p(f"Our work with you ends on {closing}", META),
        Spacer(1, 10),
        _p(
            "This letter is for you and your family. It says what has changed, what help "
            "carries on, who to talk to if you are worried, and what would mean services "
            "get involved again.",
            INTRO,
        ),
        _p("What has changed", HEADING),
        *changes,
        _p("What help carries on", HEADING),
        *support,
        _p("Who to contact if you are worried", HEADING),
        *_contact(review),
        _p("What would mean services get involved again", HEADING),
        *triggers,
    ]
    terms = explained_terms([*change_words, *support_words, *trigger_words, team])
    if terms:
        glossary: list[Flowable] = [_p("Words used in this letter", HEADING)]
        glossary += [_p(f"<b>{text(term)}</b>: {text(meaning)}", SMALL) for term, meaning in terms]
        story.append(KeepTogether(glossary))
    return story


def family_summary_pdf(record: DecisionRecord) -> bytes:
    """The family's closure summary as PDF bytes; byte-identical for the same record."""
    return build_pdf(
        family_summary_story(record),
        title=f"Closure summary {record.case_reference}",
        subject="What has changed, what help carries on, and who to contact",
        footer=(f"Closure summary, case {record.case_reference}", ""),
    )
