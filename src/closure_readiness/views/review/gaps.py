"""The gap panel beside every step: open findings, exception notices, exception requests."""

from __future__ import annotations

import streamlit as st

from closure_readiness.checks import Resolution
from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields, session
from closure_readiness.views.findings import (
    check_words,
    exception_notices,
    finding_box,
    progress_line,
)
from closure_readiness.views.review.returns import finding_reason
from closure_readiness.views.review.state import key, set_step
from closure_readiness.views.safe import escape_markdown


def gap_panel(record: ReviewRecord, *, editable: bool, step: str) -> None:
    report = record.report
    st.subheader("Gaps", anchor=False)
    st.progress(report.passed_count / len(report.results), text=progress_line(report))
    if report.sign_off_possible:
        st.success("Nothing blocks sign-off.", icon=":material/task_alt:")
    for level, heading in (("blocker", "Blockers"), ("caution", "Cautions"), ("note", "Notes")):
        found = [
            f
            for f in report.findings(level=level)
            if f.resolution in (Resolution.OPEN, Resolution.NOTED)
        ]
        if not found:
            continue
        st.markdown(f"**{heading} ({len(found)})**")
        for index, finding in enumerate(found):
            finding_box(
                finding, key=key(record.id, "panel", finding.key, index), go_to_step=set_step
            )
            finding_reason(record, finding.key, where="panel")
    if report.exception_notices:
        st.markdown(f"**Exceptions to read ({len(report.exception_notices)})**")
        exception_notices(report.exception_notices)
    _exception_requests(record, editable=editable)
    resolved = [
        f for f in report.findings() if f.resolution in (Resolution.RATIONALE, Resolution.EXCEPTION)
    ]
    if resolved:
        with st.expander(f"Resolved ({len(resolved)})"):
            for index, finding in enumerate(resolved):
                finding_box(finding, key=key(record.id, "resolved", finding.key, index))
                finding_reason(record, finding.key, where="panel")


def _exception_requests(record: ReviewRecord, *, editable: bool) -> None:
    """Requests already made, and one form to ask for an exception to an overridable blocker."""
    report = record.report
    overridable = {r.id for r in report.results if r.overridable}
    candidates = [f for f in report.open_blockers if f.check_id in overridable]
    requests = {r.finding_key: r for r in record.exception_requests}
    for request in record.exception_requests:
        if request.status == "pending":
            st.caption(
                f"Exception asked for {check_words(request.check_id)}: waiting for your manager."
            )
        elif request.status == "declined" and request.finding_key in {f.key for f in candidates}:
            st.caption(
                f"Exception for {check_words(request.check_id)} declined: "
                + escape_markdown(request.manager_reason)
            )
    askable = [
        f for f in candidates if f.key not in requests or requests[f.key].status != "pending"
    ]
    if not editable or not askable:
        return
    with st.expander("Ask your manager for an exception"):
        st.caption(
            "Some blockers can be resolved by your team manager's written exception when closure "
            "is right despite the gap. Say why."
        )
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
                max_chars=4000,
                key=key(record.id, "exception", "reason"),
            )
            if st.form_submit_button("Send to my manager"):
                principal: Principal = st.session_state["principal"]
                try:
                    reviews.request_exception(
                        session.context(),
                        principal,
                        record.id,
                        finding_key=str(chosen),
                        reason=reason,
                    )
                except ServiceError as error:
                    st.error(error.message)
                    return
                fields.forget(key(record.id, "exception") + ".")
                st.session_state["flash"] = (
                    "success",
                    "Your request was sent to your team manager.",
                )
                st.rerun()
