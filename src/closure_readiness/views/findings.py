"""Findings as people read them: level in words and icon (never colour alone), resolution."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection

import streamlit as st

from closure_readiness.checks import REGISTRY, Finding, ReadinessReport, Resolution
from closure_readiness.checks.questions import THEMES_BY_KEY
from closure_readiness.checks.report import ExceptionNotice, NoticeKind
from closure_readiness.core.vocabulary import Route
from closure_readiness.core.workflow import Level
from closure_readiness.views.safe import escape_markdown

LEVEL_WORDS = {level: level.label for level in Level}
RESOLUTION_WORDS = {
    Resolution.OPEN: "Open",
    Resolution.RATIONALE: "Resolved by rationale",
    Resolution.EXCEPTION: "Resolved by exception",
    Resolution.NOTED: "Noted",
}


NOTICE_WORDS = {
    NoticeKind.LAPSED: "Exception no longer applies",
    NoticeKind.NOT_OVERRIDABLE: "Exception cannot be used",
    NoticeKind.RESOLVED: "Exception no longer needed",
}
NOTICE_ICONS = {
    NoticeKind.LAPSED: ":material/history:",
    NoticeKind.NOT_OVERRIDABLE: ":material/block:",
    NoticeKind.RESOLVED: ":material/check_circle:",
}
CASE_STEP = "case"
CASE_STEP_TITLE = "Case details"


@functools.lru_cache(maxsize=1024)  # asked for every result, several times a run
def step_of_check(check_id: str) -> str:
    """The wizard step where a check's answers are recorded.

    A check that reads only case facts (closure reason, risk levels, orders) is resolved at
    Case details, whatever theme it belongs to; every other check at its theme's step.
    """
    theme = check_id.split(".", 1)[0]
    if check_id in REGISTRY:
        reads = REGISTRY[check_id].reads
        if reads and all(path.startswith("case.") for path in reads):
            return CASE_STEP
    return theme


def step_of(finding: Finding) -> str:
    return step_of_check(finding.check_id)


def step_title(step: str) -> str:
    return CASE_STEP_TITLE if step == CASE_STEP else THEMES_BY_KEY[step].title


def route_label(report: ReadinessReport) -> str:
    """The closure route the report was judged on, in words ("" for reports before 2.0.0)."""
    try:
        return Route(report.route).label
    except ValueError:
        return ""


def finding_lines(finding: Finding) -> list[str]:
    """One finding in Markdown lines (stored text escaped): level, check, resolution, message,
    what would resolve it, whether it can be excepted, the records it rests on. Joined with
    line breaks, a finding is one paragraph, on its card and among others in a block."""
    resolution = RESOLUTION_WORDS[finding.resolution]
    lines = [
        f"**{LEVEL_WORDS[finding.level]}** · {check_link(finding.check_id)} · {resolution}",
        escape_markdown(finding.message),
    ]
    if finding.resolution is Resolution.OPEN or finding.level is Level.NOTE:
        lines.append(":gray[What would resolve it: " + escape_markdown(finding.hint) + "]")
    if finding.level is Level.BLOCKER and finding.resolution is Resolution.OPEN:
        lines.append(exception_words(finding.check_id))
    if finding.evidence:
        lines.append(":gray[" + escape_markdown(records_concerned(finding.evidence)) + "]")
    if finding.resolution_text:
        by = f" ({finding.resolved_by})" if finding.resolved_by else ""
        lines.append(
            f"{resolution}{escape_markdown(by)}: {escape_markdown(finding.resolution_text)}"
        )
    return lines


def lapsed_warning(finding: Finding) -> None:
    """A manager's exception once covered this gap: say so loudly, and what changed."""
    if finding.lapsed:
        st.warning(f"**{escape_markdown(finding.lapsed)}**", icon=":material/history:")


def finding_box(
    finding: Finding,
    *,
    key: str,
    go_to_step: Callable[[str], None] | None = None,
) -> None:
    """One finding in a card: its lines in one Markdown block, and a link to its step."""
    with st.container(border=True):
        lapsed_warning(finding)
        st.markdown("  \n".join(finding_lines(finding)))
        if go_to_step is not None:
            step = step_of(finding)
            st.button(
                f"Go to {step_title(step)}",
                key=f"{key}.go",
                on_click=go_to_step,
                args=(step,),
                icon=":material/arrow_forward:",
            )


def findings_block(
    groups: list[tuple[str, list[Finding]]],
    *,
    after: Callable[[Finding], None] | None = None,
    followed: Collection[str] = (),
    end_of_group: Callable[[int], None] | None = None,
) -> None:
    """Groups of findings, each under its Markdown heading, in as few elements as the page
    allows: one Markdown block, a paragraph per finding, split only where a finding needs more
    than words (a lapsed exception's warning before it, or what `after` draws beneath the
    findings whose keys are in `followed`) and after each group when `end_of_group` draws
    something there (it is given the group's index). Groups in one block are ruled apart.

    The gap panel is redrawn on every click and page load: a block per step instead of a card,
    a block and a button per finding keeps a page of 40 findings light (decision #38).
    """
    paragraphs: list[str] = []

    def flush() -> None:
        if paragraphs:
            st.markdown("\n\n".join(paragraphs))
            paragraphs.clear()

    for index, (heading, findings) in enumerate(groups):
        if index:
            paragraphs.append("---")
        if heading:
            paragraphs.append(heading)
        for finding in findings:
            if finding.lapsed:
                flush()
                lapsed_warning(finding)
            paragraphs.append("  \n".join(finding_lines(finding)))
            if after is not None and finding.key in followed:
                flush()
                after(finding)
        if end_of_group is not None:
            flush()
            end_of_group(index)
    flush()


CAN_BE_EXCEPTED = "Your manager can grant an exception to this blocker."
CANNOT_BE_EXCEPTED = "This blocker cannot be excepted: it must be resolved."


def exception_words(check_id: str) -> str:
    """Whether a blocker can go to the manager for an exception, said on its card."""
    if check_id in REGISTRY and REGISTRY[check_id].overridable:
        return CAN_BE_EXCEPTED
    return CANNOT_BE_EXCEPTED


def check_link(check_id: str) -> str:
    """A check as people read it, linked to its entry in the check reference:
    "[pace.E001 Change not sustained long enough](reference?check=pace.E001)".

    The link is relative, so it works under any base path, and opens the reference in a new
    tab (Streamlit opens every link that is not an in-page anchor so): the worker keeps
    their place in the review.
    """
    if check_id not in REGISTRY:
        return f"`{check_id}`"
    return f"[{escape_markdown(check_words(check_id))}]({REFERENCE_PAGE}?check={check_id})"


def check_words(check_id: str) -> str:
    """A check id with its title ("pace.E001 Change not sustained long enough"): an id alone
    means nothing to a worker."""
    return f"{check_id} {REGISTRY[check_id].title}" if check_id in REGISTRY else check_id


REFERENCE_PAGE = "reference"
"""The check reference's address (views/pages.py), relative to the app's own."""


def records_concerned(ids: list[str]) -> str:
    """ "Evidence concerned: E1, E2 · Incident concerned: I3": what the finding rests on,
    named for what each record is (an incident is not evidence)."""
    evidence = [ref for ref in ids if not ref.startswith("I")]
    incidents = [ref for ref in ids if ref.startswith("I")]
    parts = []
    if evidence:
        parts.append("Evidence concerned: " + ", ".join(evidence))
    if incidents:
        word = "Incident" if len(incidents) == 1 else "Incidents"
        parts.append(f"{word} concerned: " + ", ".join(incidents))
    return " · ".join(parts)


def exception_notices(notices: list[ExceptionNotice]) -> None:
    """Every recorded exception that resolves nothing now, and why: never silently dropped."""
    for notice in notices:
        text = (
            f"**{NOTICE_WORDS[notice.kind]}** · {check_link(notice.check_id)}\n\n"
            + escape_markdown(notice.message)
        )
        if notice.kind is NoticeKind.RESOLVED:
            st.info(text, icon=NOTICE_ICONS[notice.kind])
        else:
            st.warning(text, icon=NOTICE_ICONS[notice.kind])


def progress_line(report: ReadinessReport) -> str:
    blockers, cautions = len(report.open_blockers), len(report.open_cautions)
    applying = [result for result in report.results if result.applicable]
    return (
        f"{sum(r.passed for r in applying)} of {len(applying)} checks that apply pass · "
        f"{blockers} blocker{'s' if blockers != 1 else ''} open · "
        f"{cautions} caution{'s' if cautions != 1 else ''} without a rationale"
    )
