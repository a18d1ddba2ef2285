"""Team reviews: every review in the manager's team, with status and open gaps."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.views import pages, session
from closure_readiness.views.review import STATUS_WORDS


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("Team reviews")
    try:
        summaries = reviews.list_reviews(session.context(), principal, mine=False)
    except ServiceError as error:
        st.error(error.message)
        return
    if not summaries:
        st.info("Your team has no closure reviews yet.")
        return
    for summary in summaries:
        with st.container(border=True):
            left, middle, right = st.columns([3, 4, 1.4], vertical_alignment="center")
            left.markdown(f"**{summary.case_reference}**")
            left.caption(f"{STATUS_WORDS[summary.status]} · {summary.worker_id}")
            middle.text(
                f"Proposed closure {dt.date.fromisoformat(summary.proposed_closure_on):%d/%m/%Y}\n"
                f"{summary.open_blockers} blocker(s) open · "
                f"{summary.open_cautions} caution(s) without a rationale"
            )
            with right:
                st.page_link(
                    pages.page("review"),
                    label=f"Open {summary.case_reference}",
                    icon=":material/arrow_forward:",
                    query_params={"review": str(summary.id)},
                )
