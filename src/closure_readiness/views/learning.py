"""Learning: the figures the partnership's quality-assurance group asks for."""

from __future__ import annotations

import json

import streamlit as st

from closure_readiness.checks import REGISTRY
from closure_readiness.service import auditing
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.views import session


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("Learning")
    st.write(
        "What recurs across closures: which gaps workers meet at sign-off, why managers return "
        "reviews, where exceptions are granted, and what closures that came back carried."
    )
    try:
        figures = auditing.learning(session.context(), principal)
    except ServiceError as error:
        st.error(error.message)
        return
    titles = {spec.id: spec.title for spec in REGISTRY}

    st.header("Closures approved per month and team")
    if figures.closures_per_month:
        st.bar_chart(figures.closures_per_month, x="month", y="closures", color="team")
        st.dataframe(figures.closures_per_month, hide_index=True)
    else:
        st.caption("No approved closures yet.")

    st.header("Gaps met at the first sign-off")
    st.caption(
        "Checks that failed in the report sealed at each review's first sign-off, and "
        "how they were resolved."
    )
    rows = [
        {**row, "title": titles.get(row["check_id"], "")} for row in figures.gaps_at_first_sign_off
    ]
    if rows:
        st.bar_chart(rows, x="check_id", y="reviews", horizontal=True)
        st.dataframe(rows, hide_index=True)
    else:
        st.caption("No gap has been argued or excepted at sign-off yet.")

    st.header("Returns")
    if figures.returns_by_month:
        st.bar_chart(figures.returns_by_month, x="month", y="returns", color="team")
    reasons = [
        {
            "Decision": r["decision_id"],
            "Case": r["case_reference"],
            "Team": r["team"],
            "Returned": r["decided_at"][:10],
            "Reason": json.loads(r["reasons"]).get("overall", ""),
        }
        for r in figures.return_reasons
    ]
    if reasons:
        st.dataframe(reasons, hide_index=True)
    else:
        st.caption("No review has been returned yet.")

    st.header("Exceptions")
    left, middle, right = st.columns(3)
    with left:
        st.subheader("By check")
        st.dataframe(figures.exceptions_by_check, hide_index=True)
    with middle:
        st.subheader("By team")
        st.dataframe(figures.exceptions_by_team, hide_index=True)
    with right:
        st.subheader("By manager")
        st.dataframe(figures.exceptions_by_manager, hide_index=True)

    st.header("Re-referrals after an approved closure")
    st.caption(
        "Approved closures re-referred within the re-referral window (re_referred = 1) "
        "beside those not re-referred, with the cautions and exceptions they carried."
    )
    st.dataframe(figures.re_referral_comparison, hide_index=True)
    if figures.re_referral_checks:
        st.dataframe(
            [
                {**row, "title": titles.get(row["check_id"], "")}
                for row in figures.re_referral_checks
            ],
            hide_index=True,
        )
