"""Findings as people read them: level in words and icon (never colour alone), resolution."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from closure_readiness.checks import REGISTRY, Finding, ReadinessReport, Resolution
from closure_readiness.checks.questions import THEMES_BY_KEY
from closure_readiness.checks.report import ExceptionNotice, NoticeKind
from closure_readiness.core.vocabulary import Route
from closure_readiness.views.safe import escape_markdown

LEVEL_WORDS = {"blocker": "Blocker", "caution": "Caution", "note": "Note"}
LEVEL_ICONS = {
    "blocker": ":material/block:",
    "caution": ":material/warning:",
    "note": ":material/info:",
}
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


def theme_of(finding: Finding) -> str:
    return finding.check_id.split(".", 1)[0]


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


def finding_box(
    finding: Finding,
    *,
    key: str,
    go_to_step: Callable[[str], None] | None = None,
) -> None:
    """One finding: level, id, message, what would resolve it, evidence, and a link to its step.

    Drawn as one Markdown block (stored text escaped) to keep a page of 40 findings light.
    """
    with st.container(border=True):
        word = LEVEL_WORDS[finding.level]
        resolution = RESOLUTION_WORDS[finding.resolution]
        lines = [
            f"{LEVEL_ICONS[finding.level]} **{word}** · `{finding.check_id}` · {resolution}",
            escape_markdown(finding.message),
        ]
        if finding.lapsed:
            # A manager's exception once covered this gap: say so loudly, and what changed.
            st.warning(f"**{escape_markdown(finding.lapsed)}**", icon=":material/history:")
        if finding.resolution is Resolution.OPEN or finding.level == "note":
            lines.append(":gray[What would resolve it: " + escape_markdown(finding.hint) + "]")
        if finding.evidence:
            lines.append(
                ":gray[Evidence concerned: " + escape_markdown(", ".join(finding.evidence)) + "]"
            )
        if finding.resolution_text:
            by = f" ({finding.resolved_by})" if finding.resolved_by else ""
            lines.append(
                f"{resolution}{escape_markdown(by)}: {escape_markdown(finding.resolution_text)}"
            )
        st.markdown("\n\n".join(lines))
        if go_to_step is not None:
            step = step_of(finding)
            st.button(
                f"Go to {step_title(step)}",
                key=f"{key}.go",
                on_click=go_to_step,
                args=(step,),
                icon=":material/arrow_forward:",
            )


def exception_notices(notices: list[ExceptionNotice]) -> None:
    """Every recorded exception that resolves nothing now, and why: never silently dropped."""
    for notice in notices:
        text = f"**{NOTICE_WORDS[notice.kind]}** · `{notice.check_id}`\n\n" + escape_markdown(
            notice.message
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
