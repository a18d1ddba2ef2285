"""The review page: loads the review, keeps the tab's version, draws the step and the gaps."""

from __future__ import annotations

import streamlit as st

from closure_readiness.checks.questions import THEMES_BY_KEY
from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, Role, ServiceError
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import pages, session
from closure_readiness.views.review import live
from closure_readiness.views.review.gaps import gap_panel, live_gap_panel
from closure_readiness.views.review.register import evidence_step, incidents_step
from closure_readiness.views.review.returns import returned_banner
from closure_readiness.views.review.sign_off import sign_off_step
from closure_readiness.views.review.state import OTHER_STEPS, known_key
from closure_readiness.views.review.steps import case_step, theme_step
from closure_readiness.views.review.summary import read_only
from closure_readiness.views.review.tasks import step_menu, task_list
from closure_readiness.views.safe import escape_markdown
from closure_readiness.views.withdraw import withdraw_control


def page() -> None:
    principal: Principal = st.session_state["principal"]
    record = _requested_review(principal)
    if record is None:
        return
    step = st.query_params.get("step", "tasks")
    if step not in OTHER_STEPS and step not in THEMES_BY_KEY:
        step = "tasks"
    # The tab knows the version its widgets were seeded from. Opening a step seeds them afresh
    # from what is stored; staying on a step keeps the old version, so a save over another
    # tab's change to the same step is refused as a conflict instead of silently losing it.
    if st.session_state.get(f"step:{record.id}") != step:
        st.session_state[f"step:{record.id}"] = step
        st.session_state[known_key(record.id)] = record.version
    st.session_state.setdefault(known_key(record.id), record.version)
    flash = st.session_state.pop("flash", None)
    editable = record.editable and principal.role is Role.CASEWORKER
    editable = editable and record.worker_id == principal.staff_id

    st.title(f"Closure review {escape_markdown(record.case_reference)}", anchor=False)
    st.caption(
        f"{ReviewStatus(record.status).label} · {record.review.case.involvement.label} · "
        f"proposed closure {record.review.case.proposed_closure_on:%d/%m/%Y}"
        + (" · re-referral after an approved closure" if record.re_referral_of else "")
    )
    if flash:
        getattr(st, flash[0])(flash[1])
    returned_banner(record)

    # On the task list the list itself links every step: no step menu and no "Go to" buttons
    # in the gap panel, which would say the same again (and weigh on every page load).
    on_task_list = editable and step == "tasks"
    live.forbid(record.id)  # until a question step that saves its answers live says so
    main, side = st.columns([3, 2], gap="large")
    with main:
        if not on_task_list:
            step_menu(record, step)
        record = _step(record, step, editable=editable)
        if step == "tasks" or not editable:
            withdraw_control(record, principal)
    with side:
        panel = live_gap_panel if live.on(record.id) else gap_panel
        panel(record, editable=editable, step=step, links=not on_task_list)


def _requested_review(principal: Principal) -> ReviewRecord | None:
    """The review named in the address, or None once the page has said why not."""
    raw_id = st.query_params.get("review")
    if not raw_id:
        st.title("Review", anchor=False)
        st.info("Choose a review from your list first.")
        return None
    review_id = pages.parse_id(raw_id)
    if review_id is None:
        st.title("Review", anchor=False)
        st.error("There is no such review.")
        return None
    try:
        return reviews.get_review(session.context(), principal, review_id)
    except ServiceError as error:
        st.title("Review", anchor=False)
        st.error(error.message)
        return None


def _step(record: ReviewRecord, step: str, *, editable: bool) -> ReviewRecord:
    """Draw the step (read-only answers for anyone who may not edit); the record as now stored."""
    if not editable:
        read_only(record)
    elif step == "tasks":
        task_list(record)
    elif step == "case":
        record = case_step(record)
    elif step == "evidence":
        record = evidence_step(record)
    elif step == "incidents":
        record = incidents_step(record)
    elif step == "sign_off":
        record = sign_off_step(record)
    else:
        record = theme_step(record, step)
    return record
