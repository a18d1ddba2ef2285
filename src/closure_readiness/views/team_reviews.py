"""Team reviews: every review in the manager's team, with status and open gaps.

Withdrawn reviews have left the list (they stay in the record and, when signed off, in the
auditor's list); a review that can still be withdrawn has a collapsed "Withdraw" panel.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.views import pages, session
from closure_readiness.views.my_reviews import gaps_line
from closure_readiness.views.safe import escape_markdown
from closure_readiness.views.withdraw import withdraw_control


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("Team reviews", anchor=False)
    flash = st.session_state.pop("flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    try:
        summaries = reviews.list_reviews(session.context(), principal, mine=False)
    except ServiceError as error:
        st.error(error.message)
        return
    summaries = [s for s in summaries if s.status != ReviewStatus.WITHDRAWN]
    if not summaries:
        st.info(
            "Your team has no closure reviews yet. They appear here as soon as a caseworker "
            "starts one."
        )
        return
    for summary in summaries:
        with st.container(border=True):
            left, middle, right = st.columns([3, 4, 2.2], vertical_alignment="center")
            left.markdown(f"**{escape_markdown(summary.case_reference)}**")
            left.caption(
                f"{ReviewStatus(summary.status).label} · {escape_markdown(summary.worker_id)}"
            )
            middle.text(
                f"Proposed closure {dt.date.fromisoformat(summary.proposed_closure_on):%d/%m/%Y}\n"
                f"{gaps_line(summary.open_blockers, summary.open_cautions)}"
            )
            with right:
                st.page_link(
                    pages.page("review"),
                    label=f"Open {escape_markdown(summary.case_reference)}",
                    icon=":material/arrow_forward:",
                    query_params={"review": str(summary.id)},
                )
            withdraw_control(
                summary,
                principal,
                label=f"Withdraw the review of {escape_markdown(summary.case_reference)}",
                in_list=True,
            )
