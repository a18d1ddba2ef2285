"""Start a review: the case details, validated by the model, then on to the task list."""

from __future__ import annotations

from typing import Any

import streamlit as st

from closure_readiness.core.errors import FieldProblem
from closure_readiness.core.text import CASE_REF_MAX, YEAR_MONTH_MAX
from closure_readiness.core.vocabulary import ClosureReason, Involvement, RiskLevel
from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.views import fields, pages, session
from closure_readiness.views.safe import escape_markdown

CaseFields = dict[str, Any]
"""The case details as the service takes them, by field name."""


def _beside(problems: list[FieldProblem | str], name: str) -> None:
    """The messages about one field, shown under it as well as in the summary."""
    located = [p for p in problems if isinstance(p, FieldProblem)]
    for message in fields.problems_at(located, (name,)):
        st.error(escape_markdown(message), icon=":material/error:")


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("Start a closure review", anchor=False)
    st.write("Enter the case reference from the case record (never a name) and the basic facts.")
    st.caption(
        'Leave a fact as "Not recorded" if you do not know it yet: the review will show it '
        "as a gap until you record it at Case details."
    )
    problems = st.session_state.pop("start_problems", [])
    _error_summary(problems)
    case = _case_form(problems)
    if case is None:
        return
    try:
        review_id = reviews.start_review(session.context(), principal, case)
    except ServiceError as error:
        st.session_state["start_problems"] = error.problems or [error.message]
        st.rerun()
    pages.go("review", review=review_id, step="tasks")


def _error_summary(problems: list[FieldProblem | str]) -> None:
    """Every problem with the last attempt, above the form."""
    if problems:
        lines = "\n".join(f"- {escape_markdown(str(p))}" for p in problems)
        st.error(f"**There is a problem**\n\n{lines}", icon=":material/error:")


def _case_form(problems: list[FieldProblem | str]) -> CaseFields | None:
    """The case details form: what was entered, once "Start review" is pressed, else None."""
    with st.form("start_review"):
        case = _identity(problems)
        case |= _dates(problems)
        case |= _facts()
        submitted = st.form_submit_button("Start review", type="primary")
    return case if submitted else None


def _identity(problems: list[FieldProblem | str]) -> CaseFields:
    """Case reference, month of birth and type of involvement."""
    reference = st.text_input(
        "Case reference",
        max_chars=CASE_REF_MAX,
        key="start.case_reference",
        help="For example CR-2024-0173.",
    )
    _beside(problems, "case_reference")
    birth = st.text_input(
        "Month of birth (YYYY-MM)", max_chars=YEAR_MONTH_MAX, key="start.birth_month"
    )
    _beside(problems, "birth_month")
    involvement = st.selectbox(
        "Type of involvement",
        list(Involvement),
        index=None,
        placeholder="Choose the type of involvement",
        format_func=lambda o: o.label,
        key="start.involvement",
    )
    _beside(problems, "involvement")
    return {
        "case_reference": reference,
        "birth_month": birth,
        "involvement": getattr(involvement, "value", None),
    }


def _dates(problems: list[FieldProblem | str]) -> CaseFields:
    """Date opened and proposed closure date, side by side."""
    left, right = st.columns(2)
    opened = fields.picked_date("Date opened", key="start.opened_on", where=left)
    with left:
        _beside(problems, "opened_on")
    closing = fields.picked_date(
        "Proposed closure date", key="start.proposed_closure_on", where=right
    )
    with right:
        _beside(problems, "proposed_closure_on")
    return {"opened_on": opened, "proposed_closure_on": closing}


def _facts() -> CaseFields:
    """Closure reason, risk, exploitation, orders and plan reviews."""
    reason = fields.optional_choice(
        "Closure reason",
        ClosureReason,
        None,
        key="start.closure_reason",
        help="The reason decides which questions the review asks (a transfer, a move to "
        "adult services, a closure after assessment, or services ending because things "
        "changed).",
    )
    left, right = st.columns(2)
    with left:
        risk_open = fields.optional_choice(
            "Risk level at opening", RiskLevel, None, key="start.risk_at_opening"
        )
    with right:
        risk_now = fields.optional_choice("Risk level now", RiskLevel, None, key="start.risk_now")
    left, right = st.columns(2)
    with left:
        exploitation = fields.yes_no("Exploitation concern flagged", None, key="start.exploitation")
    with right:
        orders = fields.yes_no(
            "A statutory order is in force (referral order, licence...)",
            None,
            key="start.orders_in_force",
        )
    reviews_held = st.number_input(
        "Plan reviews held",
        min_value=0,
        max_value=100,
        value=0,
        step=1,
        key="start.plan_reviews_held",
    )
    return {
        "closure_reason": getattr(reason, "value", None),
        "risk_at_opening": getattr(risk_open, "value", None),
        "risk_now": getattr(risk_now, "value", None),
        "exploitation_concern": exploitation,
        "orders_in_force": orders,
        "plan_reviews_held": int(reviews_held),
    }
