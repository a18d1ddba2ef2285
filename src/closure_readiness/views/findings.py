"""Findings as people read them: level in words and icon (never colour alone), resolution."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from closure_readiness.checks import Finding, ReadinessReport, Resolution
from closure_readiness.checks.questions import THEMES_BY_KEY
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


def theme_of(finding: Finding) -> str:
    return finding.check_id.split(".", 1)[0]


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
            theme = theme_of(finding)
            st.button(
                f"Go to {THEMES_BY_KEY[theme].title}",
                key=f"{key}.go",
                on_click=go_to_step,
                args=(theme,),
                icon=":material/arrow_forward:",
            )


def progress_line(report: ReadinessReport) -> str:
    blockers, cautions = len(report.open_blockers), len(report.open_cautions)
    return (
        f"{report.passed_count} of {len(report.results)} checks pass · "
        f"{blockers} blocker{'s' if blockers != 1 else ''} open · "
        f"{cautions} caution{'s' if cautions != 1 else ''} without a rationale"
    )
