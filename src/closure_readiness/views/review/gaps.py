"""The gap panel beside every step: open findings, exception notices, exception requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from closure_readiness.checks import Finding, Resolution
from closure_readiness.core.text import LONG_TEXT_MAX
from closure_readiness.core.workflow import Level, RequestStatus
from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields, session
from closure_readiness.views.findings import (
    check_words,
    exception_notices,
    findings_block,
    progress_line,
    step_of,
    step_title,
)
from closure_readiness.views.review import live
from closure_readiness.views.review.returns import STEP_ORDER, finding_reason, manager_words
from closure_readiness.views.review.state import key, set_step
from closure_readiness.views.safe import escape_markdown


@live.fragment(live.GAPS)
def live_gap_panel(record: ReviewRecord, *, editable: bool, step: str, links: bool) -> None:
    """The gap panel beside a step whose answers save themselves: drawn again on its own."""
    gap_panel(record, editable=editable, step=step, links=links)


def gap_panel(record: ReviewRecord, *, editable: bool, step: str, links: bool = True) -> None:
    """What remains, by the step that resolves it, with a "Go to" button per step except the
    step shown beside it.

    Beside the task list (`links` False) the list already links every step and counts its
    blockers and cautions, so the findings themselves are folded away until asked for: the
    review's home page loads in under a second (decision #38).
    """
    report = record.report
    st.subheader("Gaps", anchor=False)
    st.progress(report.passed_count / len(report.results), text=progress_line(report))
    if report.sign_off_possible:
        st.success("Nothing blocks sign-off.", icon=":material/task_alt:")
    shown = [f for f in report.findings() if f.resolution in (Resolution.OPEN, Resolution.NOTED)]
    commented = _commented_findings(record)
    groups = _by_step(shown)

    def go_to(index: int) -> None:
        at_step = groups[index][0]
        if at_step != step:
            st.button(
                f"Go to {step_title(at_step)}",
                key=key(record.id, "panel", at_step, "go"),
                on_click=set_step,
                args=(at_step,),
                icon=":material/arrow_forward:",
            )

    blocks = [(f"**{step_title(s)}** · {_counts(found)}", found) for s, found in groups]
    if links:
        findings_block(
            blocks, after=_reason_in_panel(record), followed=commented, end_of_group=go_to
        )
    elif shown:
        box = _lazy_expander(
            f"Every open gap, by step ({len(shown)})", key(record.id, "panel", "open_gaps")
        )
        if box is not None:
            with box:
                findings_block(blocks, after=_reason_in_panel(record), followed=commented)
    if report.exception_notices:
        st.markdown(f"**Exceptions to read ({len(report.exception_notices)})**")
        exception_notices(report.exception_notices)
    _exception_requests(record, editable=editable)
    resolved = [
        f for f in report.findings() if f.resolution in (Resolution.RATIONALE, Resolution.EXCEPTION)
    ]
    if resolved:
        # Drawn with the page: usually few, and a manager's reason about one must show.
        with st.expander(f"Resolved ({len(resolved)})"):
            findings_block([("", resolved)], after=_reason_in_panel(record), followed=commented)


def _lazy_expander(label: str, widget: str) -> Any | None:
    """A collapsed expander whose content is drawn only once it is opened (a rerun): the box
    to draw into when open, else None."""
    box = st.expander(label, key=widget, on_change="rerun")
    return box if box.open else None


_LEVEL_RANK = {level: rank for rank, level in enumerate(Level)}


def _by_step(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings grouped by the step that resolves them: steps with a blocker first, then
    cautions, then notes, each in task-list order; in a step, blockers first."""
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(step_of(finding), []).append(finding)
    order = {step: index for index, step in enumerate(STEP_ORDER)}
    steps = sorted(
        grouped,
        key=lambda s: (
            min(_LEVEL_RANK[Level(f.level)] for f in grouped[s]),
            order.get(s, len(order)),
        ),
    )
    return [(s, sorted(grouped[s], key=lambda f: _LEVEL_RANK[Level(f.level)])) for s in steps]


def _counts(findings: list[Finding]) -> str:
    """ "2 blockers, 1 note": what a step holds, in words."""
    parts = []
    for level in _LEVEL_RANK:
        count = sum(f.level == level for f in findings)
        if count:
            parts.append(f"{count} {(level.label if count == 1 else level.plural).lower()}")
    return ", ".join(parts)


def _commented_findings(record: ReviewRecord) -> set[str]:
    note = record.last_return
    return {k for k, text in note.findings.items() if text} if note is not None else set()


def _reason_in_panel(record: ReviewRecord) -> Callable[[Finding], None]:
    def draw(finding: Finding) -> None:
        finding_reason(record, finding.key, where="panel")

    return draw


def _exception_requests(record: ReviewRecord, *, editable: bool) -> None:
    """Requests already made, and one form to ask for an exception to an overridable blocker."""
    overridable = {f.key for f in record.report.overridable_blockers}
    for request in record.exception_requests:
        if request.status == RequestStatus.PENDING:
            st.caption(
                f"Exception asked for {check_words(request.check_id)}: waiting for "
                f"{manager_words(record).lower()}."
            )
        elif request.status == RequestStatus.DECLINED and request.finding_key in overridable:
            st.caption(
                f"Exception for {check_words(request.check_id)} declined: "
                + escape_markdown(request.manager_reason)
            )
    askable = reviews.askable_exceptions(record)
    if not editable or not askable:
        return
    # Drawn only once opened, like the withdraw form: not on every click.
    box = _lazy_expander("Ask your manager for an exception", key(record.id, "exception", "open"))
    if box is None:
        return
    with box:
        st.caption(
            "Some blockers can be resolved by your team manager's written exception when closure "
            "is right despite the gap. Say why."
        )
        _exception_form(record, askable)


def _exception_form(record: ReviewRecord, askable: list[Finding]) -> None:
    by_key = {f.key: f for f in askable}
    # Not cleared on submit: a request that is refused keeps the reason typed.
    with st.form(key(record.id, "exception", "form"), clear_on_submit=False):
        chosen = st.selectbox(
            "Which gap",
            list(by_key),
            format_func=lambda k: f"{by_key[k].check_id}: {by_key[k].message}"[:150],
            key=key(record.id, "exception", "which"),
        )
        reason = st.text_area(
            "Why closure is right despite this gap",
            max_chars=LONG_TEXT_MAX,
            key=key(record.id, "exception", "reason"),
        )
        if st.form_submit_button("Send to my manager"):
            _send_request(record, str(chosen), reason)


def _send_request(record: ReviewRecord, finding_key: str, reason: str) -> None:
    principal: Principal = st.session_state["principal"]
    try:
        reviews.request_exception(
            session.context(), principal, record.id, finding_key=finding_key, reason=reason
        )
    except ServiceError as error:
        st.error(error.message)
        return
    fields.forget(key(record.id, "exception") + ".")
    st.session_state["flash"] = ("success", "Your request was sent to your team manager.")
    st.rerun()
