"""Start a review: the case details, validated by the model, then on to the task list."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from closure_readiness.core.vocabulary import ClosureReason, Involvement, RiskLevel
from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.views import fields, pages, session
from closure_readiness.views.safe import escape_markdown


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("Start a closure review")
    st.write("Enter the case reference from the case record (never a name) and the basic facts.")
    problems = st.session_state.pop("start_problems", [])
    if problems:
        lines = "\n".join(f"- {escape_markdown(str(p))}" for p in problems)
        st.error(f"**There is a problem**\n\n{lines}", icon=":material/error:")
    with st.form("start_review"):
        reference = st.text_input(
            "Case reference",
            max_chars=24,
            key="start.case_reference",
            help="For example CR-2024-0173.",
        )
        birth = st.text_input("Month of birth (YYYY-MM)", max_chars=7, key="start.birth_month")
        involvement = st.selectbox(
            "Type of involvement",
            list(Involvement),
            format_func=lambda o: o.label,
            key="start.involvement",
        )
        left, right = st.columns(2)
        opened = left.date_input(
            "Date opened",
            value=None,
            min_value=fields.EARLIEST,
            max_value=fields.LATEST,
            format=fields.DATE_FORMAT,
            key="start.opened_on",
        )
        closing = right.date_input(
            "Proposed closure date",
            value=None,
            min_value=fields.EARLIEST,
            max_value=fields.LATEST,
            format=fields.DATE_FORMAT,
            key="start.proposed_closure_on",
        )
        reason = st.selectbox(
            "Closure reason",
            list(ClosureReason),
            index=6,
            format_func=lambda o: o.label,
            key="start.closure_reason",
        )
        left, right = st.columns(2)
        risk_open = left.selectbox(
            "Risk level at opening",
            list(RiskLevel),
            format_func=lambda o: o.label,
            key="start.risk_at_opening",
        )
        risk_now = right.selectbox(
            "Risk level now", list(RiskLevel), format_func=lambda o: o.label, key="start.risk_now"
        )
        exploitation = st.checkbox("Exploitation concern flagged", key="start.exploitation")
        reviews_held = st.number_input(
            "Plan reviews held",
            min_value=0,
            max_value=100,
            value=0,
            step=1,
            key="start.plan_reviews_held",
        )
        submitted = st.form_submit_button("Start review", type="primary")
    if not submitted:
        return
    case = {
        "case_reference": reference,
        "birth_month": birth,
        "involvement": getattr(involvement, "value", None),
        "opened_on": opened.isoformat() if isinstance(opened, dt.date) else None,
        "proposed_closure_on": closing.isoformat() if isinstance(closing, dt.date) else None,
        "closure_reason": getattr(reason, "value", None),
        "risk_at_opening": getattr(risk_open, "value", None),
        "risk_now": getattr(risk_now, "value", None),
        "exploitation_concern": exploitation,
        "plan_reviews_held": int(reviews_held),
    }
    try:
        review_id = reviews.start_review(session.context(), principal, case)
    except ServiceError as error:
        st.session_state["start_problems"] = error.problems or [error.message]
        st.rerun()
    pages.go("review", review=review_id, step="tasks")
