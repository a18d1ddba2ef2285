"""My reviews: the caseworker's reviews with status, proposed closure date and open gaps."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.views import pages, session
from closure_readiness.views.review import STATUS_WORDS


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("My reviews")
    flash = st.session_state.pop("flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    try:
        summaries = reviews.list_reviews(session.context(), principal)
    except ServiceError as error:
        st.error(error.message)
        return
    st.page_link(pages.page("start_review"), label="Start a review", icon=":material/add_circle:")
    if not summaries:
        st.info("You have no closure reviews yet.")
        return
    for summary in summaries:
        with st.container(border=True):
            left, middle, right = st.columns([3, 4, 1.4], vertical_alignment="center")
            left.markdown(f"**{summary.case_reference}**")
            left.caption(STATUS_WORDS[summary.status])
            gaps = (
                f"{summary.open_blockers} blocker(s) open · "
                f"{summary.open_cautions} caution(s) without a rationale"
            )
            closing = dt.date.fromisoformat(summary.proposed_closure_on)
            middle.text(f"Proposed closure {closing:%d/%m/%Y}\n{gaps}")
            if summary.re_referral_of:
                middle.caption("Re-referral after an approved closure")
            with right:
                st.page_link(
                    pages.page("review"),
                    label=f"Open {summary.case_reference}",
                    icon=":material/arrow_forward:",
                    query_params={"review": str(summary.id)},
                )
