"""The closure summary for the young person and family, printed as the worker settled it.

The words come from `core.family_words`: one voice ("you"), written from the structured
answers, with the worker's own words for any part they rewrote and record text (what evidence
shows) only where they chose to quote it. The PDF prints exactly those words from the sealed
review; a decision sealed before workers could edit the summary gets the words written from its
answers, quoting nothing. No check ids, no process names; abbreviations that appear in the
printed text are explained at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from closure_readiness.core import family_words
from closure_readiness.core.family_words import FROM_AGENCY
from closure_readiness.core.words import human
from closure_readiness.report.decision_pdf import (
    INK,
    SECONDARY,
    DecisionRecord,
    build_pdf,
    text,
)
from closure_readiness.report.fonts import BOLD, REGULAR, register_fonts

__all__ = ["FROM_AGENCY", "explained_terms", "family_summary_pdf", "family_summary_story"]

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


def _paragraphs(words: str) -> list[Flowable]:
    """A part's plain text as the letter prints it: each line a paragraph, and a line that
    starts with a bullet (or a hyphen or star, as people type them) a bulleted item."""
    flowables: list[Flowable] = []
    for line in words.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        marker = re.match(r"^(?:\u2022|-|\*)\s+", line)
        if marker:
            flowables.append(_bullet(text(line[marker.end() :])))
        else:
            flowables.append(_p(text(line), INTRO))
    return flowables


def family_summary_story(record: DecisionRecord) -> list[Flowable]:
    register_fonts()  # Paragraph resolves font names as it is built
    review = record.review
    team = record.team or "Our team"
    closing = human(review.case.proposed_closure_on)
    story: list[Flowable] = [
        _p(family_words.TITLE, TITLE),
        _p(text(f"From {record.signed_by_name}, {team}" if record.signed_by_name else team), META),
        _p(f"Our work with you ends on {closing}", META),
        Spacer(1, 10),
        _p(text(family_words.INTRO), INTRO),
    ]
    printed: list[str] = [team]
    quotes = family_words.quotes(review)
    for part in family_words.settled_parts(review):
        story.append(_p(text(part.heading), HEADING))
        story += _paragraphs(part.text)
        printed.append(part.text)
        if part.name == "changed" and quotes:
            story += _paragraphs("\n".join([family_words.QUOTES_LEAD, *quotes]))
            printed += quotes
        if part.name == "contact":
            story.append(_p(f"<b>{text(family_words.DANGER)}</b>", INTRO))
    terms = explained_terms(printed)
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
