"""Waiting for me: the team manager's queue of sign-offs and exception requests, oldest first."""

from __future__ import annotations

import streamlit as st

from closure_readiness.service import decisions
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.views import pages, session
from closure_readiness.views.safe import escape_markdown


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("Waiting for me")
    flash = st.session_state.pop("flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    try:
        queue = decisions.queue(session.context(), principal)
    except ServiceError as error:
        st.error(error.message)
        return
    st.header(f"Sign-offs to countersign ({len(queue.submitted)})")
    if not queue.submitted:
        st.info("No review is waiting for your countersignature.")
    for item in queue.submitted:
        with st.container(border=True):
            left, middle, right = st.columns([3, 4, 1.4], vertical_alignment="center")
            left.markdown(f"**{item.case_reference}**")
            left.caption(
                f"Signed off by {item.signed_by_name}, {item.signed_by} · "
                f"{session.london(item.signed_at)}"
            )
            middle.text(
                f"Waiting {_count(item.days_waiting, 'day')}\n"
                f"{_count(item.exceptions, 'blocker')} excepted · "
                f"{_count(item.cautions, 'caution')} with a rationale"
            )
            with right:
                st.page_link(
                    pages.page("decision"),
                    label="Review",
                    icon=":material/arrow_forward:",
                    query_params={"decision": str(item.decision_id)},
                )
    st.header(f"Exception requests ({len(queue.exception_requests)})")
    if not queue.exception_requests:
        st.info("No caseworker is waiting for an exception decision.")
    for pending in queue.exception_requests:
        request = pending.request
        with st.container(border=True):
            st.markdown(
                f"**{escape_markdown(request.case_reference)}** · `{request.check_id}` "
                f"{escape_markdown(pending.check_title)}"
            )
            st.caption(f"Asked by {request.requested_by} · {session.london(request.requested_at)}")
            if pending.message:
                st.markdown("The gap: " + escape_markdown(pending.message))
                if pending.facts:
                    read = "; ".join(f"{name}: {value}" for name, value in pending.facts.items())
                    st.caption(
                        "What the check read (if any of it changes, the exception stops "
                        "applying): " + escape_markdown(read)
                    )
            else:
                st.warning("The gap has changed since this was asked; granting is not possible.")
            st.markdown("The caseworker's reasoning: " + escape_markdown(request.worker_reason))
            with st.form(f"exception.{request.id}"):
                reason = st.text_area(
                    "Your reason (recorded and reported to auditors)",
                    max_chars=4000,
                    key=f"exception.{request.id}.reason",
                )
                grant, decline = st.columns(2)
                granted = grant.form_submit_button(
                    "Grant the exception", disabled=not pending.message, type="primary"
                )
                declined = decline.form_submit_button("Decline")
            if granted or declined:
                try:
                    decisions.decide_exception(
                        session.context(), principal, request.id, grant=granted, reason=reason
                    )
                except ServiceError as error:
                    st.error(error.message)
                else:
                    st.session_state["flash"] = (
                        "success",
                        f"Exception {'granted' if granted else 'declined'} for "
                        f"{request.case_reference}.",
                    )
                    st.rerun()
