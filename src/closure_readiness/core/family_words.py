"""The summary for the young person and family, in one voice: written to them, as "you".

The summary offered when a closure is approved has four parts. Each is first written here from
the structured answers only: which agencies saw change (never what their evidence says), the
onward services and contacts, what happens if things get worse, and who to contact. Text the
case record holds in its own words (what evidence shows, notes, plans' free text, incident
summaries) is never written in; what an evidence item of change shows is quoted only when the
worker ticked it (`FamilySummary.quoted`). A part the worker rewrote is used exactly as they
wrote it. The sign-off page previews these words, the manager reads them, and the family PDF
prints them: all three call `settled_parts`, on the same sealed review.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from closure_readiness.core.dates import human
from closure_readiness.core.review import EvidenceItem, FamilySummary, Need, Review
from closure_readiness.core.vocabulary import (
    Agency,
    Direction,
    OutcomeStatus,
    ReferralStatus,
    Route,
)

PARTS: tuple[tuple[str, str], ...] = (
    ("changed", "What has changed"),
    ("support", "What help carries on"),
    ("worse", "If things get worse"),
    ("contact", "Who to contact"),
)
"""The parts of the summary, in the order the family reads them: field name, heading."""

TITLE = "Closing our work with you"
INTRO = (
    "This letter is for you and your family. It says what has changed, what help carries on, "
    "what happens if things get worse, and who to talk to if you are worried."
)
QUOTES_LEAD = "What they saw:"
DANGER = "If anyone is in danger right now, call 999."
BULLET = "\u2022 "

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


@dataclass(frozen=True)
class Part:
    """One part of the summary as it will be sent."""

    name: str
    heading: str
    text: str
    own_words: bool
    """True when the worker wrote this part; False when it is the words from the answers."""


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _from(agency: Agency | None) -> str:
    return FROM_AGENCY.get(agency, "") if agency is not None else ""


def quotable(review: Review) -> list[EvidenceItem]:
    """Evidence of change the worker may choose to quote: the items cited as showing change."""
    known = {item.id: item for item in review.evidence}
    found: list[EvidenceItem] = []
    for ref in review.answers.change.cited:
        item = known.get(ref)
        if item is not None and item.direction is Direction.CHANGE and item not in found:
            found.append(item)
    return found


def quotes(review: Review) -> list[str]:
    """The lines quoting record text, one per item the worker ticked (none unless they did)."""
    return quote_lines(review, review.family_summary.quoted if review.family_summary else [])


def quote_lines(review: Review, chosen: Iterable[str]) -> list[str]:
    """The lines quoting what each chosen item of evidence of change shows, as recorded."""
    wanted = set(chosen)
    return [
        f"{BULLET}{_capital(_from(item.agency) or item.agency.label)}: \u201c{item.shows}\u201d"
        for item in quotable(review)
        if item.id in wanted
    ]


def _changed(review: Review) -> str:
    seen = quotable(review)
    if not seen:
        return "Please ask your worker about the changes they have seen."
    lines: list[str] = []
    agencies = list(dict.fromkeys(item.agency for item in seen))
    others = [agency for agency in agencies if agency is not Agency.YOUNG_PERSON]
    if others:
        lines.append("People who know you have seen good changes:")
        lines += [f"{BULLET}{_capital(_from(agency) or agency.label)}" for agency in others]
    if Agency.YOUNG_PERSON in agencies:
        lines.append("You have told us about the changes too.")
    outcomes = review.answers.change.plan_outcomes
    met = sum(outcome.status is OutcomeStatus.MET for outcome in outcomes)
    if outcomes and met == len(outcomes):
        lines.append(
            "You have reached the goal in your plan."
            if met == 1
            else "You have reached every goal in your plan."
        )
    elif met:
        lines.append(f"You have reached {met} of the {len(outcomes)} goals in your plan.")
    return "\n".join(lines)


def _need(need: Need) -> str:
    sentences = [NEED_WORDS[need.status].format(service=need.service or "A service")]
    if need.named_contact:
        sentences.append(f"Your contact there: {_sentence(need.named_contact)}")
    if need.first_contact_on is not None:
        sentences.append(f"They plan to see you by {human(need.first_contact_on)}.")
    return f"{BULLET}{_sentence(need.need)} " + " ".join(sentences)


def _handover(review: Review) -> list[str]:
    """Where the case goes when this service closes because another takes it on."""
    answer = review.answers.route
    route = review.case.route(review.case.proposed_closure_on)
    if route is Route.TRANSFER and answer.receiving_authority:
        who = answer.receiving_authority
        if answer.receiving_accepted_on is not None:
            return [f"Your case is moving to {who}, who have agreed to take it on."]
        return [f"We have asked {who} to take on your case."]
    if route is Route.TRANSITION and answer.handover_agency is not None:
        who = _from(answer.handover_agency) or answer.handover_agency.label
        if answer.handover_accepted_on is not None:
            return [f"Now that you are an adult, {who} have agreed to support you."]
        return [f"Now that you are an adult, we have asked {who} to support you."]
    return []


def _support(review: Review) -> str:
    answers = review.answers
    lines = _handover(review)
    factors = [
        f.description for f in answers.sustain.protective_factors if f.continues_after_closure
    ]
    if factors:
        lines.append("These good things carry on after we close:")
        lines += [f"{BULLET}{factor}" for factor in factors]
    people = answers.sustain.safety_network
    if people:
        lines.append("People around you who have agreed to help:")
        lines += [f"{BULLET}{person.role}" for person in people]
    if answers.support.needs:
        lines.append("Help from other services:")
        lines += [_need(need) for need in answers.support.needs]
    if not lines:
        lines.append("Please ask your worker what support carries on.")
    return "\n".join(lines)


def _main_contact(review: Review) -> str:
    role = review.answers.exit.lead_role
    return f"the {role}" if role else "your main contact"


def _worse(review: Review) -> str:
    lines = [
        f"If you are worried that things are getting worse, talk to {_main_contact(review)} "
        "straight away."
    ]
    triggers = review.answers.exit.triggers
    if not triggers:
        lines.append("They can ask services to help again.")
        return "\n".join(lines)
    lines.append(
        "We have agreed that if any of these things happen, the person named will ask services "
        "to get involved again. This is to keep you safe. It is not a punishment."
    )
    for trigger in triggers:
        who = f" Who acts: {_sentence(trigger.who_acts)}" if trigger.who_acts else ""
        lines.append(f"{BULLET}{_sentence(trigger.trigger)}{who}")
    return "\n".join(lines)


def _contact(review: Review) -> str:
    exit_ = review.answers.exit
    lines: list[str] = []
    if exit_.lead_role:
        service = _from(exit_.lead_agency)
        where = f", from {service}" if service else ""
        lines.append(f"After we close, your main contact is the {exit_.lead_role}{where}.")
        lines.append(f"If worries come back, talk to the {exit_.lead_role} first.")
    else:
        lines.append("Ask your worker who your main contact will be after we close.")
    if exit_.contacts_given:
        lines.append("You have been given their contact details. Keep them somewhere safe.")
    else:
        lines.append("Ask your worker for the contact details before we close.")
    return "\n".join(lines)


def written_from_answers(review: Review) -> dict[str, str]:
    """Each part in words written from the structured answers alone, by part name."""
    return {
        "changed": _changed(review),
        "support": _support(review),
        "worse": _worse(review),
        "contact": _contact(review),
    }


def settled_parts(review: Review) -> list[Part]:
    """The parts as they will be sent: the worker's own words where they wrote them, else the
    words from the answers. A review without a summary (sealed before the worker could edit
    it) gets the words from the answers, quoting nothing."""
    summary = review.family_summary or FamilySummary()
    generated = written_from_answers(review)
    parts: list[Part] = []
    for name, heading in PARTS:
        own: str | None = getattr(summary, name)
        parts.append(
            Part(
                name=name,
                heading=heading,
                text=own if own is not None else generated[name],
                own_words=own is not None,
            )
        )
    return parts


def as_text(review: Review) -> str:
    """The whole summary as plain text, in the order and words the family reads them."""
    blocks = [TITLE, INTRO]
    for part in settled_parts(review):
        lines = [part.heading, part.text]
        if part.name == "changed" and quotes(review):
            lines += [QUOTES_LEAD, *quotes(review)]
        if part.name == "contact":
            lines.append(DANGER)
        blocks.append("\n".join(line for line in lines if line))
    return "\n\n".join(blocks)
