"""My reviews: the caseworker's reviews with status, proposed closure date and open gaps.

Withdrawn reviews have left the list (they stay in the record); a review that can still be
withdrawn has its own collapsed "Withdraw" panel under its card.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.views import pages, session
from closure_readiness.views.safe import escape_markdown
from closure_readiness.views.withdraw import withdraw_control


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def gaps_line(open_blockers: int, open_cautions: int) -> str:
    return (
        f"{count(open_blockers, 'blocker')} open · "
        f"{count(open_cautions, 'caution')} without a rationale"
    )


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("My reviews", anchor=False)
    flash = st.session_state.pop("flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    try:
        summaries = reviews.list_reviews(session.context(), principal)
    except ServiceError as error:
        st.error(error.message)
        return
    summaries = [s for s in summaries if s.status != ReviewStatus.WITHDRAWN]
    st.page_link(pages.page("start_review"), label="Start a review", icon=":material/add_circle:")
    if not summaries:
        st.info("You have no closure reviews yet. Start one with the link above.")
        return
    for summary in summaries:
        with st.container(border=True):
            left, middle, right = st.columns([3, 4, 2.2], vertical_alignment="center")
            left.markdown(f"**{escape_markdown(summary.case_reference)}**")
            left.caption(ReviewStatus(summary.status).label)
            closing = dt.date.fromisoformat(summary.proposed_closure_on)
            middle.text(
                f"Proposed closure {closing:%d/%m/%Y}\n"
                f"{gaps_line(summary.open_blockers, summary.open_cautions)}"
            )
            if summary.re_referral_of:
                middle.caption("Re-referral after an approved closure")
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
