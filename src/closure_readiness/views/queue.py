"""Waiting for me: the team manager's queue of sign-offs and exception requests, oldest first.

Each exception request links to the review at the step where its gap is answered. A manager's
own work (signed off or asked for before a promotion) is listed apart, with nothing to act on:
another manager of the team must countersign or decide it.
"""

from __future__ import annotations

import streamlit as st

from closure_readiness.core import words
from closure_readiness.service import decisions
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.service.decisions import PendingException, QueueItem
from closure_readiness.views import pages, paging, session
from closure_readiness.views.findings import step_of_check, step_title
from closure_readiness.views.safe import escape_markdown


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("Waiting for me", anchor=False)
    flash = st.session_state.pop("flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    try:
        queue = decisions.queue(session.context(), principal)
    except ServiceError as error:
        st.error(error.message)
        return
    st.header(f"Sign-offs to countersign ({len(queue.submitted)})", anchor=False)
    if not queue.submitted:
        st.info("No review is waiting for your countersignature.")
    for item in paging.page_of(queue.submitted, "sign-offs", noun="sign-offs"):
        _sign_off(item)
    paging.page_buttons(len(queue.submitted), "sign-offs", noun="sign-offs")
    st.header(f"Exception requests ({len(queue.exception_requests)})", anchor=False)
    if not queue.exception_requests:
        st.info("No caseworker is waiting for an exception decision.")
    for pending in paging.page_of(queue.exception_requests, "requests", noun="exception requests"):
        _exception_request(pending, principal)
    paging.page_buttons(len(queue.exception_requests), "requests", noun="exception requests")
    if queue.own_sign_offs:
        st.header("Your own sign-offs (another manager must countersign)", anchor=False)
        st.caption(
            "Nobody countersigns their own sign-off. Ask another team manager of your team to "
            "countersign or return these."
        )
        for item in paging.page_of(queue.own_sign_offs, "own-sign-offs", noun="own sign-offs"):
            _own_sign_off(item)
        paging.page_buttons(len(queue.own_sign_offs), "own-sign-offs", noun="own sign-offs")
    if queue.own_exception_requests:
        st.header("Your own exception requests (another manager must decide)", anchor=False)
        st.caption(
            "Nobody decides an exception on their own review. Ask another team manager of your "
            "team to decide these."
        )
        own = queue.own_exception_requests
        for pending in paging.page_of(own, "own-requests", noun="own exception requests"):
            with st.container(border=True):
                _exception_card(pending)
        paging.page_buttons(len(own), "own-requests", noun="own exception requests")


def _sign_off(item: QueueItem) -> None:
    with st.container(border=True):
        left, middle, right = st.columns([3, 4, 2.2], vertical_alignment="center")
        left.markdown(f"**{escape_markdown(item.case_reference)}**")
        left.caption(
            f"Signed off by {escape_markdown(item.signed_by_name)}, "
            f"{escape_markdown(item.signed_by)} · "
            f"{words.london(item.signed_at)}"
        )
        if item.earlier_return is not None:
            left.caption(
                ":material/history: Follows a returned review of this case that was withdrawn: "
                "the decision page shows why it was returned."
            )
        middle.text(_waiting(item))
        with right:
            st.page_link(
                pages.page("decision"),
                label=f"Review {escape_markdown(item.case_reference)}",
                icon=":material/arrow_forward:",
                query_params={"decision": str(item.decision_id)},
            )


def _waiting(item: QueueItem) -> str:
    return (
        f"Waiting {_count(item.days_waiting, 'day')}\n"
        f"{_count(item.exceptions, 'blocker')} excepted · "
        f"{_count(item.cautions, 'caution')} with a rationale"
    )


def _own_sign_off(item: QueueItem) -> None:
    with st.container(border=True):
        left, middle = st.columns([3, 5.4], vertical_alignment="center")
        left.markdown(f"**{escape_markdown(item.case_reference)}**")
        left.caption(f"Signed off by you · {words.london(item.signed_at)}")
        middle.text(_waiting(item))
        middle.caption("You signed this off; another manager of the team must countersign it.")


def _exception_card(pending: PendingException) -> None:
    """What was asked, about which check, and a link to the review where the gap is answered."""
    request = pending.request
    step = step_of_check(request.check_id)
    left, right = st.columns([7, 2.4], vertical_alignment="top")
    left.markdown(
        f"**{escape_markdown(request.case_reference)}** · "
        f"{escape_markdown(pending.check_title)} ({escape_markdown(request.check_id)})"
    )
    left.caption(
        f"Asked by {escape_markdown(request.requested_by)} · {words.london(request.requested_at)}"
    )
    with right:
        st.page_link(
            pages.page("review"),
            label=f"Open {escape_markdown(request.case_reference)} at {step_title(step)}",
            icon=":material/arrow_forward:",
            query_params={"review": str(request.review_id), "step": step},
        )
    if pending.message:
        st.markdown("The gap: " + escape_markdown(pending.message))
        if pending.facts:
            read = "; ".join(f"{name}: {value}" for name, value in pending.facts.items())
            st.caption(
                "What the check read (if any of it changes, the exception stops applying): "
                + escape_markdown(read)
            )
    else:
        st.warning("The gap has changed since this was asked; granting is not possible.")
    st.markdown("The caseworker's reasoning: " + escape_markdown(request.worker_reason))


def _exception_request(pending: PendingException, principal: Principal) -> None:
    request = pending.request
    with st.container(border=True):
        _exception_card(pending)
        with st.form(f"exception.{request.id}"):
            reason = st.text_area(
                "Your reason (recorded and reported to auditors)",
                max_chars=decisions.MAX_REASON,
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
                    f"{escape_markdown(request.case_reference)}.",
                )
                st.rerun()
