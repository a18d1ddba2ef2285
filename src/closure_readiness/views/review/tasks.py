"""The task list and step menu: each step not started, with gaps, complete or not needed."""

from __future__ import annotations

import streamlit as st

from closure_readiness.checks import REGISTRY, CheckResult
from closure_readiness.checks.questions import THEMES
from closure_readiness.core.review import Answers
from closure_readiness.core.workflow import Level
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views.findings import (
    CASE_STEP,
    route_label,
    step_of,
    step_of_check,
)
from closure_readiness.views.review.returns import MANAGERS_COMMENT, commented_steps
from closure_readiness.views.review.state import OTHER_STEPS, key, set_step


def step_menu(record: ReviewRecord, step: str) -> None:
    names = ["tasks", "case", "evidence", "incidents", *(t.key for t in THEMES), "sign_off"]
    labels = {**OTHER_STEPS, **{t.key: t.title for t in THEMES}}
    for commented in commented_steps(record):
        labels[commented] = f"{labels[commented]} · {MANAGERS_COMMENT}"
    chosen = st.selectbox(
        "Step",
        names,
        index=names.index(step),
        format_func=lambda name: labels[name],
        key=key(record.id, "menu", step),
    )
    if chosen != step:
        set_step(chosen)
        st.rerun()


UNANSWERED = Answers()


NOT_STARTED = "Not started"


GAPS_REMAIN = "Gaps remain"


COMPLETE = "Complete"


NOT_NEEDED = "Not needed for this route"


def step_results(record: ReviewRecord, step: str) -> list[CheckResult]:
    return [r for r in record.report.results if step_of_check(r.id) == step]


def _waiting_for_reason(record: ReviewRecord, step: str) -> bool:
    """The closure route step cannot be judged until the closure reason is recorded."""
    return step == "route" and record.review.case.closure_reason is None


def not_needed(record: ReviewRecord, step: str) -> bool:
    """No check at this step applies on this review's closure route."""
    results = step_results(record, step)
    return (
        bool(results)
        and not any(r.applicable for r in results)
        and not _waiting_for_reason(record, step)
    )


def not_needed_text(record: ReviewRecord) -> str:
    label = route_label(record.report)
    return f"{NOT_NEEDED}: {label}" if label else NOT_NEEDED


def _counts(record: ReviewRecord, step: str) -> str:
    findings = [f for f in record.report.open_findings if step_of(f) == step]
    blockers = sum(f.level == Level.BLOCKER for f in findings)
    cautions = sum(f.level == Level.CAUTION for f in findings)
    counts = []
    if blockers:
        counts.append(f"{blockers} blocker{'s' if blockers > 1 else ''}")
    if cautions:
        counts.append(f"{cautions} caution{'s' if cautions > 1 else ''}")
    return ", ".join(counts)


def _step_status(record: ReviewRecord, step: str) -> str:
    """Complete only when answered with nothing open; untouched defaults are not started."""
    if not_needed(record, step):
        return not_needed_text(record)
    open_here = [f for f in record.report.open_findings if step_of(f) == step]
    if step == CASE_STEP:
        answered = True  # the case facts are entered to start the review
    else:
        answered = getattr(record.review.answers, step) != getattr(UNANSWERED, step)
    if not answered:
        return NOT_STARTED
    return GAPS_REMAIN if open_here else COMPLETE


def task_list(record: ReviewRecord) -> None:
    st.header("Task list", anchor=False)
    st.write("Work through the steps in any order. Sign-off opens once nothing blocks it.")
    report = record.report
    label = route_label(report)
    if record.review.case.closure_reason is None:
        st.info(
            "Record the closure reason at Case details: it decides which steps this closure "
            "needs. Until then every step is asked.",
            icon=":material/info:",
        )
    elif label:
        st.markdown(f"**Closure route:** {label}")
    commented = commented_steps(record)
    _task_row(
        record,
        CASE_STEP,
        "Case details",
        _step_status(record, CASE_STEP),
        commented=CASE_STEP in commented,
    )
    evidence_count, incident_count = len(record.review.evidence), len(record.review.incidents)
    _task_row(record, "evidence", "Evidence register", COMPLETE if evidence_count else NOT_STARTED)
    _task_row(record, "incidents", "Incidents", COMPLETE if incident_count else "None recorded")
    for theme in THEMES:
        _task_row(
            record,
            theme.key,
            theme.title,
            _step_status(record, theme.key),
            commented=theme.key in commented,
        )
    sign_status = (
        "Cannot start yet"
        if report.open_blockers
        else ("Ready to sign off" if report.sign_off_possible else "Rationales needed")
    )
    _task_row(record, "sign_off", "Check and sign off", sign_status, counts=False)


_STATUS_ICONS = {
    COMPLETE: ":material/check_circle:",
    GAPS_REMAIN: ":material/error:",
    NOT_STARTED: ":material/radio_button_unchecked:",
    NOT_NEEDED: ":material/do_not_disturb_on:",
    "None recorded": ":material/remove:",
    "Cannot start yet": ":material/lock:",
    "Ready to sign off": ":material/task_alt:",
    "Rationales needed": ":material/edit_note:",
}


def _task_row(
    record: ReviewRecord,
    name: str,
    title: str,
    status: str,
    *,
    counts: bool = True,
    commented: bool = False,
) -> None:
    shown = _counts(record, name) if counts else ""
    comment = f" · **{MANAGERS_COMMENT}**" if commented else ""
    # One element per row, the status in the link's own words: a screen reader reads the step
    # and its status together, and a page load draws 16 elements here, not 80 (decision #38).
    st.button(
        f"**{title}** · {status}" + (f" · {shown}" if shown else "") + comment,
        key=key(record.id, "task", name),
        on_click=set_step,
        args=(name,),
        type="tertiary",
        icon=_STATUS_ICONS[status.split(":", 1)[0]],  # hidden from screen readers, unlike text
        disabled=name == "sign_off" and status == "Cannot start yet",
    )


def route_fields(record: ReviewRecord) -> set[str]:
    """The closure route step's questions that this review's route asks (from what its
    applicable checks read): a transfer is not asked about adult services."""
    return {
        path.split(".", 1)[1]
        for result in step_results(record, "route")
        if result.applicable and result.id in REGISTRY
        for path in REGISTRY[result.id].reads
        if path.startswith("route.")
    }
