"""The closure decision record as a PDF: readiness report first, then answers, then evidence.

Managers and auditors read it, so it says in words whether each check passed, was resolved by
the worker's rationale or by a manager's exception, or is still open. Every piece of user text is
escaped before it reaches a Paragraph (reportlab's markup would otherwise fetch images and add
links), and the document is built with `invariant=1` from the record alone: the same record
always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from xml.sax.saxutils import escape

from pydantic import BaseModel
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table

from closure_readiness.checks import CheckResult, Finding, ReadinessReport, Resolution, Thresholds
from closure_readiness.checks.questions import THEMES, THEMES_BY_KEY
from closure_readiness.checks.report import NoticeKind
from closure_readiness.core.answers_text import plain, sentence_case
from closure_readiness.core.review import EvidenceItem, ManagerException, Review
from closure_readiness.core.vocabulary import ClosureReason, Route
from closure_readiness.core.words import NOT_RECORDED as NOT_RECORDED_WORDS
from closure_readiness.core.words import human, london_time
from closure_readiness.core.workflow import Level, Outcome, ReviewStatus
from closure_readiness.report.fonts import BOLD, REGULAR, register_fonts

AUTHOR = "Closure Readiness"
PAGE_WIDTH = A4[0]
MARGIN = 18 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN
SHORT_HASH = 12
SPLIT_IN_ROW = 36
"""A table row taller than what is left on the page may split once this much (pt) fits."""

INK = colors.HexColor("#0b0c0c")
SECONDARY = colors.HexColor("#505a5f")
RULE = colors.HexColor("#b1b4b6")
HEADER_FILL = colors.HexColor("#f3f2f1")
# Status is always in words; the tint only helps the eye find the rows that are not "Passed".
TINTS = {
    "Open": colors.HexColor("#f6d7d2"),
    "Resolved by exception": colors.HexColor("#fff2cc"),
    "Resolved by rationale": colors.HexColor("#dbe9f6"),
    "Noted": colors.HexColor("#eeeeee"),
}

PASSED = "Passed"
NOT_ASKED = "Not asked on this route"
RESULT_WORDS = {
    Resolution.OPEN: "Open",
    Resolution.RATIONALE: "Resolved by rationale",
    Resolution.EXCEPTION: "Resolved by exception",
    Resolution.NOTED: "Noted",
}
LEVEL_WORDS = {level: level.label for level in Level}
OUTCOME_WORDS: dict[str, str] = {
    ReviewStatus.SUBMITTED: "Signed off, waiting for the team manager's countersignature",
    Outcome.APPROVED: "Approved: countersigned by the team manager",
    Outcome.RETURNED: "Returned to the worker with reasons",
    Outcome.WITHDRAWN: "Withdrawn before a decision was made",
}
"""Where the decision stands, as the record says it (fuller than the app's status words)."""
DECIDED_BY_WORDS: dict[str, str] = {
    Outcome.APPROVED: "Countersigned by",
    Outcome.RETURNED: "Returned by",
    Outcome.WITHDRAWN: "Withdrawn by",
}
NOT_RECORDED = sentence_case(NOT_RECORDED_WORDS)
NOTICE_WORDS = {
    NoticeKind.LAPSED: "Exception no longer applies",
    NoticeKind.NOT_OVERRIDABLE: "Exception cannot be used",
    NoticeKind.RESOLVED: "Exception no longer needed",
}


@dataclass(frozen=True, kw_only=True)
class DecisionRecord:
    """What the decision PDFs need, as plain values: the service layer builds it from the
    sealed decision and the staff directory (this package may not import the service)."""

    decision_id: int
    review_id: int
    case_reference: str
    team: str
    closure_reason: str
    signed_by: str
    signed_by_name: str
    signed_at: str
    """ISO 8601 in UTC, as stored."""
    as_of: dt.date
    checks_version: str
    thresholds: Thresholds
    review: Review
    report: ReadinessReport
    attestation: str
    content_hash: str
    outcome: ReviewStatus = ReviewStatus.SUBMITTED
    """Submitted (waiting), or the outcome: one of DECISION_STATUSES."""
    decided_by: str | None = None
    decided_by_name: str | None = None
    decided_at: str | None = None
    hash_seen: str | None = None
    reasons: Mapping[str, Any] = field(default_factory=dict)
    retention: str = ""
    """The retention class and disposal date sealed with the decision, in words."""


# --- shared with the family summary --------------------------------------------------------


def text(value: object) -> str:
    """User text made safe for Paragraph markup: escaped, with its line breaks kept."""
    return escape(str(value)).replace("\r\n", "\n").replace("\n", "<br/>")


class NumberedCanvas(Canvas):  # type: ignore[misc]
    """Holds every page back until the document ends, then stamps "Page X of Y" on each.

    platypus only knows the page count once the story is laid out; keeping each page's state
    and drawing the footers in `save` is the second pass, without laying the story out twice.
    """

    def __init__(self, *args: Any, footer: tuple[str, str] = ("", ""), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab's name
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        for number, state in enumerate(self._held, start=1):
            self.__dict__.update(state)
            self._draw_footer(number, total)
            super().showPage()
        super().save()

    def _draw_footer(self, number: int, total: int) -> None:
        left, middle = self._footer
        y = 10 * mm
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(MARGIN, y + 4 * mm, PAGE_WIDTH - MARGIN, y + 4 * mm)
        self.setFont(REGULAR, 8)
        self.setFillColor(SECONDARY)
        self.drawString(MARGIN, y, left)
        self.drawCentredString(PAGE_WIDTH / 2, y, middle)
        self.drawRightString(PAGE_WIDTH - MARGIN, y, f"Page {number} of {total}")
        self.restoreState()


def build_pdf(story: list[Flowable], *, title: str, subject: str, footer: tuple[str, str]) -> bytes:
    """Lay out a story on A4 with the numbered footer; the same story gives the same bytes."""
    register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=20 * mm,
        title=title,
        author=AUTHOR,
        subject=subject,
        creator=AUTHOR,
        invariant=1,
        lang="en-GB",
        initialFontName=REGULAR,
    )
    document.build(story, canvasmaker=functools.partial(NumberedCanvas, footer=footer))
    return buffer.getvalue()


# --- styles ---------------------------------------------------------------------------------

BODY = ParagraphStyle("body", fontName=REGULAR, fontSize=9, leading=12, textColor=INK)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=7.5, leading=9.5)
SMALL_BOLD = ParagraphStyle("small-bold", parent=SMALL, fontName=BOLD)
LABEL = ParagraphStyle("label", parent=BODY, fontName=BOLD)
QUESTION = ParagraphStyle(
    "question", parent=BODY, textColor=SECONDARY, spaceAfter=4, keepWithNext=1
)
TITLE = ParagraphStyle("title", parent=BODY, fontName=BOLD, fontSize=18, leading=22)
SUBTITLE = ParagraphStyle("subtitle", parent=BODY, fontSize=12, leading=16, spaceAfter=8)
# Headings keep with what follows, so none is left alone at the foot of a page.
H2 = ParagraphStyle(
    "h2",
    parent=BODY,
    fontName=BOLD,
    fontSize=13,
    leading=16,
    spaceBefore=12,
    spaceAfter=6,
    keepWithNext=1,
)
H3 = ParagraphStyle(
    "h3",
    parent=BODY,
    fontName=BOLD,
    fontSize=10.5,
    leading=13,
    spaceBefore=8,
    spaceAfter=3,
    keepWithNext=1,
)
H4 = ParagraphStyle("h4", parent=LABEL, spaceBefore=4, spaceAfter=2, keepWithNext=1)

GRID = [
    ("FONT", (0, 0), (-1, -1), REGULAR, 9),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("GRID", (0, 0), (-1, -1), 0.5, RULE),
    ("LEFTPADDING", (0, 0), (-1, -1), 4),
    ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ("TOPPADDING", (0, 0), (-1, -1), 2.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
]
HEADED = [*GRID, ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL)]


def _p(markup: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(markup, style)


def _cell(value: object, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(text(value), style)


def _table(
    rows: list[list[Any]],
    widths: Sequence[float],
    *,
    header: bool = True,
    extra: Sequence[tuple[Any, ...]] = (),
) -> Table:
    return Table(
        rows,
        colWidths=list(widths),
        style=[*(HEADED if header else GRID), *extra],
        repeatRows=1 if header else 0,
        splitInRow=SPLIT_IN_ROW,
        hAlign="LEFT",
    )


def _key_values(rows: Sequence[tuple[str, Flowable | str]], key_width: float = 52 * mm) -> Table:
    """A two-column table of labels (ours, trusted) and values (escaped unless a flowable)."""
    data = [
        [_cell(key, LABEL), value if isinstance(value, Flowable) else _cell(value)]
        for key, value in rows
    ]
    return _table(
        data,
        [key_width, WIDTH - key_width],
        header=False,
        extra=[("BACKGROUND", (0, 0), (0, -1), HEADER_FILL)],
    )


# --- values in words: core.answers_text.plain(value, printed=True) ----------------------------


def _closure_reason(code: str) -> str:
    try:
        return ClosureReason(code).label
    except ValueError:
        return code


def route_words(report: ReadinessReport) -> str:
    """The closure route the checks were chosen for, in words."""
    try:
        return Route(report.route).label
    except ValueError:
        return (
            f"Not recorded: checks {report.checks_version} did not choose the questions by "
            "closure route"
        )


def _person(name: str | None, staff_id: str | None) -> str:
    if not staff_id:
        return NOT_RECORDED
    return f"{name} ({staff_id})" if name else staff_id


def _model_flowables(model: BaseModel, *, skip: tuple[str, ...] = ()) -> list[Flowable]:
    """Every field of a model, labelled with its title, in the model's order.

    Plain values gather in a label/value table; a list of records or a keyed record becomes
    its own table under its label, so nothing is left out and nothing needs a nested table.
    """
    flowables: list[Flowable] = []
    rows: list[tuple[str, Flowable | str]] = []

    def flush() -> None:
        if rows:
            flowables.append(_key_values(list(rows)))
            rows.clear()

    for name, info in type(model).model_fields.items():
        if name in skip:
            continue
        label = sentence_case(info.title or name.replace("_", " "))
        value = getattr(model, name)
        table = _records_table(label, value, info.annotation)
        if table is None:
            rows.append((label, plain(value, printed=True)))
        else:
            flush()
            flowables.extend(table)
    flush()
    return flowables


def _records_table(label: str, value: object, annotation: Any) -> list[Flowable] | None:
    """A list of models, or a dict keyed by a vocabulary, as a table; None for plain values."""
    if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
        fields = type(value[0]).model_fields
        header = [_cell(sentence_case(f.title or n), SMALL_BOLD) for n, f in fields.items()]
        body = [[_cell(plain(getattr(v, n), printed=True), SMALL) for n in fields] for v in value]
        widths = [WIDTH / len(fields)] * len(fields)
        return [Spacer(1, 3), _p(text(label), H4), _table([header, *body], widths)]
    if isinstance(value, dict):
        key_type, value_type = (*typing.get_args(annotation), None, None)[:2]
        if not (isinstance(key_type, type) and issubclass(key_type, Enum)):
            return None
        if not (isinstance(value_type, type) and issubclass(value_type, BaseModel)):
            return None
        fields = value_type.model_fields
        header = [_cell(label, SMALL_BOLD)]
        header += [_cell(sentence_case(f.title or n), SMALL_BOLD) for n, f in fields.items()]
        body = []
        for key in key_type:  # every member, so an unrecorded one shows as its default
            item = value.get(key)
            if item is None:
                try:
                    item = value_type()
                except ValueError:
                    continue
            body.append(
                [_cell(plain(key, printed=True), SMALL)]
                + [_cell(plain(getattr(item, n), printed=True), SMALL) for n in fields]
            )
        first = 45 * mm
        rest = [(WIDTH - first) / len(fields)] * len(fields)
        return [Spacer(1, 3), _table([header, *body], [first, *rest])]
    return None  # an empty list shows as "None recorded" among the plain values


# --- the sections ---------------------------------------------------------------------------


def _header(record: DecisionRecord) -> list[Flowable]:
    case = record.review.case
    rows: list[tuple[str, Flowable | str]] = [
        ("Case reference", record.case_reference),
        ("Type of involvement", case.involvement.label),
        ("Closure reason", _closure_reason(record.closure_reason)),
        ("Closure route", route_words(record.report)),
        ("Proposed closure date", human(case.proposed_closure_on)),
        ("Team", record.team or NOT_RECORDED),
        ("Outcome", _p(f"<b>{text(_outcome(record.outcome))}</b>")),
        ("Decision and review", f"Decision {record.decision_id}, review {record.review_id}"),
    ]
    return [
        _p("Closure decision record", TITLE),
        _p(text(record.case_reference), SUBTITLE),
        _key_values(rows),
    ]


def _outcome(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, sentence_case(outcome))


def _signatures(record: DecisionRecord) -> list[Flowable]:
    signed = f"{_person(record.signed_by_name, record.signed_by)}, {london_time(record.signed_at)}"
    verb = DECIDED_BY_WORDS.get(record.outcome)
    if verb is None:
        decided: tuple[str, str] = ("Countersigned by", "Not yet countersigned")
    else:
        who = _person(record.decided_by_name, record.decided_by)
        decided = (verb, f"{who}, {london_time(record.decided_at)}")
    if record.hash_seen is None:
        seen = "Not applicable: no manager has acted on this decision yet"
    elif record.hash_seen == record.content_hash:
        seen = f"{record.hash_seen} (matches the sealed content)"
    else:
        seen = f"{record.hash_seen} (does NOT match the sealed content)"
    rows: list[tuple[str, Flowable | str]] = [
        ("Signed off by", signed),
        decided,
        ("Content hash (sealed)", record.content_hash),
        ("Hash the manager saw", seen),
        ("Checks version", record.checks_version),
        ("Checks run as of", human(record.as_of)),
        ("Attestation", record.attestation or NOT_RECORDED),
        ("Retention", record.retention or NOT_RECORDED),
    ]
    return [_p("Signatures", H2), _key_values(rows)]


def _check_result(result: CheckResult) -> str:
    if not result.applicable:
        return NOT_ASKED
    if result.passed:
        return PASSED
    words = [RESULT_WORDS[f.resolution] for f in result.findings]
    if "Open" in words:
        return "Open"
    return " and ".join(dict.fromkeys(words))


def _exception_for(review: Review, key: str) -> ManagerException | None:
    return next((e for e in review.exceptions if e.finding == key), None)


def _finding_cell(finding: Finding, review: Review) -> list[Flowable]:
    word = RESULT_WORDS[finding.resolution]
    if finding.resolution is Resolution.EXCEPTION:
        granted = _exception_for(review, finding.key)
        when = f" on {human(granted.granted_on)}" if granted else ""
        how = (
            f"granted by manager {text(finding.resolved_by)}{when}. "
            f"Reason: {text(finding.resolution_text)}"
        )
        if granted is not None and granted.facts:
            read = "; ".join(f"{name}: {value}" for name, value in granted.facts.items())
            how += f" Granted while the check read: {text(read)}."
    elif finding.resolution is Resolution.RATIONALE:
        how = f"the worker's rationale: {text(finding.resolution_text)}"
    elif finding.resolution is Resolution.OPEN:
        how = f"what would resolve it: {text(finding.hint)}"
    else:
        how = "shown for information; it does not block sign-off."
    cell = [
        _p(f"<b>{word}</b>: {how}", SMALL),
        _p(f"Finding: {text(finding.message)}", SMALL),
    ]
    if finding.lapsed:
        cell.append(_p(f"<b>{text(finding.lapsed)}</b>", SMALL))
    evidence = ", ".join(finding.evidence) if finding.evidence else "none"
    cell.append(_p(f"Evidence: {text(evidence)}. Key: {text(finding.key)}", SMALL))
    return cell


def _readiness(record: DecisionRecord) -> list[Flowable]:
    report = record.report
    by_result: dict[str, list[str]] = {
        word: [] for word in (PASSED, *RESULT_WORDS.values(), NOT_ASKED)
    }
    header = [_cell(h, SMALL_BOLD) for h in ("Check", "Title", "Level", "Result")]
    rows: list[list[Any]] = [header]
    extra: list[tuple[Any, ...]] = []
    for result in report.results:
        word = _check_result(result)
        for part in word.split(" and "):
            by_result.setdefault(part, []).append(result.id)
        level = LEVEL_WORDS.get(result.level, result.level)
        if result.overridable:
            level += " (a manager may grant an exception)"
        if result.crashed:
            word += " (the check could not run)"
        rows.append(
            [
                _cell(result.id, SMALL),
                _cell(result.title, SMALL),
                _cell(level, SMALL),
                _cell(word, SMALL if result.passed else SMALL_BOLD),
            ]
        )
        tint = TINTS.get(word.split(" and ")[0].split(" (")[0])
        if tint is not None:
            extra.append(("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), tint))
        for finding in result.findings:
            rows.append(["", _finding_cell(finding, record.review), "", ""])
            extra.append(("SPAN", (1, len(rows) - 1), (3, len(rows) - 1)))
    tally = []
    for word, ids in by_result.items():
        named = f" ({', '.join(ids)})" if ids and word != PASSED else ""
        tally.append(f"{word}: {len(ids)}{named}")
    widths = [27 * mm, 68 * mm, 30 * mm, WIDTH - 125 * mm]
    return [
        _p("Readiness report", H2),
        _p(f"<b>{text(report.summary())}</b>"),
        _p(f"Closure route: {text(route_words(report))}.", BODY),
        _p(f"Checks by result. {text('; '.join(tally))}.", BODY),
        Spacer(1, 4),
        _table(rows, widths, extra=extra),
        *_notices(report),
    ]


def _notices(report: ReadinessReport) -> list[Flowable]:
    """Recorded exceptions that resolve nothing, and why: never silently left out."""
    if not report.exception_notices:
        return []
    header = [_cell(h, SMALL_BOLD) for h in ("Check", "Exception", "Why it resolves nothing")]
    rows: list[list[Any]] = [header]
    for notice in report.exception_notices:
        rows.append(
            [
                _cell(notice.check_id, SMALL),
                _cell(NOTICE_WORDS.get(notice.kind, notice.kind.value), SMALL_BOLD),
                _cell(notice.message, SMALL),
            ]
        )
    widths = [27 * mm, 45 * mm, WIDTH - 72 * mm]
    return [
        _p("Recorded exceptions that resolve nothing", H3),
        _table(rows, widths),
    ]


def _reasons(record: DecisionRecord) -> list[Flowable]:
    reasons = record.reasons
    if not any(reasons.values()):
        return []
    heading = {
        ReviewStatus.RETURNED: "Reasons for returning the review",
        ReviewStatus.WITHDRAWN: "Reasons for withdrawing",
    }.get(record.outcome, "Reasons recorded")
    titles = {f.key: f"{r.id} {r.title}" for r in record.report.results for f in r.findings}
    rows: list[tuple[str, Flowable | str]] = []
    for name, value in reasons.items():
        if name == "overall" and value:
            rows.append(("Overall", str(value)))
        elif name == "findings" and isinstance(value, Mapping):
            for key, reason in value.items():
                rows.append((f"Finding {titles.get(key, key)} ({key})", str(reason)))
        elif name == "themes" and isinstance(value, Mapping):
            for key, reason in value.items():
                theme = THEMES_BY_KEY.get(key)
                rows.append((f"Step: {theme.title if theme else key}", str(reason)))
        elif value:
            rows.append((sentence_case(str(name).replace("_", " ")), str(value)))
    return [_p(text(heading), H2), _key_values(rows, key_width=62 * mm)]


EVIDENCE_HEADER = ("Id", "Agency", "Date", "Kind", "What it shows")
EVIDENCE_WIDTHS = (12 * mm, 34 * mm, 27 * mm, 32 * mm, WIDTH - 105 * mm)


def _evidence_rows(items: Sequence[EvidenceItem]) -> list[list[Any]]:
    rows: list[list[Any]] = [[_cell(h, SMALL_BOLD) for h in EVIDENCE_HEADER]]
    for item in items:
        rows.append(
            [
                _cell(item.id, SMALL),
                _cell(item.agency.label, SMALL),
                _cell(human(item.observed_on), SMALL),
                _cell(item.kind.label, SMALL),
                _cell(item.shows, SMALL),
            ]
        )
    return rows


def _answers(record: DecisionRecord) -> list[Flowable]:
    review = record.review
    flowables: list[Flowable] = [_p("Answers to each question", H2)]
    for number, theme in enumerate(THEMES, start=1):
        answer = getattr(review.answers, theme.key)
        flowables.append(_p(f"{number}. {text(theme.title)}", H3))
        flowables.append(_p(f"Question: {text(theme.question)}", QUESTION))
        flowables.extend(_model_flowables(answer, skip=("cited",)))
        flowables.append(_p("Evidence cited", H4))
        if answer.cited:
            cited = [review.item(ref) for ref in answer.cited]
            flowables.append(_table(_evidence_rows(cited), EVIDENCE_WIDTHS))
        else:
            flowables.append(_p("No evidence cited.", BODY))
    return flowables


def _case_and_registers(record: DecisionRecord) -> list[Flowable]:
    review = record.review
    flowables: list[Flowable] = [
        _p("Case details", H2),
        *_model_flowables(review.case),
        _p("Evidence register", H2),
    ]
    if review.evidence:
        columns = ("Id", "Agency", "Kind", "Date observed", "Points to", "What it shows", "Record")
        rows: list[list[Any]] = [[_cell(h, SMALL_BOLD) for h in columns]]
        for item in review.evidence:
            rows.append(
                [
                    _cell(item.id, SMALL),
                    _cell(item.agency.label, SMALL),
                    _cell(item.kind.label, SMALL),
                    _cell(human(item.observed_on), SMALL),
                    _cell(item.direction.label, SMALL),
                    _cell(item.shows, SMALL),
                    _cell(item.record_ref or NOT_RECORDED, SMALL),
                ]
            )
        widths = [12 * mm, 27 * mm, 27 * mm, 21 * mm, 19 * mm, WIDTH - 130 * mm, 24 * mm]
        flowables.append(_table(rows, widths))
    else:
        flowables.append(_p("No evidence recorded.", BODY))
    flowables.append(_p("Incidents", H2))
    if review.incidents:
        rows = [[_cell(h, SMALL_BOLD) for h in ("Id", "Kind", "Date", "What happened", "Record")]]
        for incident in review.incidents:
            rows.append(
                [
                    _cell(incident.id, SMALL),
                    _cell(incident.kind.label, SMALL),
                    _cell(human(incident.occurred_on), SMALL),
                    _cell(incident.summary or NOT_RECORDED, SMALL),
                    _cell(incident.record_ref or NOT_RECORDED, SMALL),
                ]
            )
        widths = [12 * mm, 36 * mm, 24 * mm, WIDTH - 96 * mm, 24 * mm]
        flowables.append(_table(rows, widths))
    else:
        flowables.append(_p("No incidents recorded.", BODY))
    return flowables


UNITS = (
    ("_working_days", "working days"),
    ("_weeks", "weeks"),
    ("_months", "months"),
    ("_age", "years old"),
)


def _thresholds(record: DecisionRecord) -> list[Flowable]:
    rows: list[list[Any]] = [[_cell(h, SMALL_BOLD) for h in ("Threshold", "Value", "Setting")]]
    for name, info in type(record.thresholds).model_fields.items():
        value = getattr(record.thresholds, name)
        unit = next((u for suffix, u in UNITS if name.endswith(suffix)), "")
        rows.append(
            [
                _cell(info.description or name, SMALL),
                _cell(f"{value} {unit}".strip(), SMALL),
                _cell(name, SMALL),
            ]
        )
    widths = [WIDTH - 80 * mm, 30 * mm, 50 * mm]
    return [_p("Thresholds the checks used", H2), _table(rows, widths)]


def decision_record_story(record: DecisionRecord) -> list[Flowable]:
    """The record's flowables in reading order (the benchmark lays out the same content)."""
    register_fonts()  # Paragraph resolves font names as it is built
    return [
        *_header(record),
        *_signatures(record),
        *_readiness(record),
        *_reasons(record),
        *_answers(record),
        *_case_and_registers(record),
        *_thresholds(record),
    ]


def decision_record_pdf(record: DecisionRecord) -> bytes:
    """The decision record as PDF bytes; byte-identical for the same record."""
    return build_pdf(
        decision_record_story(record),
        title=f"Closure decision record {record.case_reference}",
        subject=f"Decision {record.decision_id}, content hash {record.content_hash}",
        footer=(
            f"Closure decision record {record.case_reference}",
            f"Content hash {record.content_hash[:SHORT_HASH]}",
        ),
    )
