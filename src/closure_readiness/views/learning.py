"""Learning: the figures the partnership's quality-assurance group asks for, in words.

The stored figures come with column names (check_id, re_referred, month); this page renames
every one to what a reader calls it, shows each check with its title, and says what to do or
wait for when a section has nothing to show yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import streamlit as st

from closure_readiness.core import words
from closure_readiness.service import auditing
from closure_readiness.service.auditing import LearningFigures
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.views import pages, session
from closure_readiness.views.findings import check_words

Row = dict[str, Any]


def month_words(month: str) -> str:
    """A stored month ("2025-04") as people say it ("April 2025")."""
    try:
        return f"{dt.date.fromisoformat(f'{month}-01'):%B %Y}"
    except ValueError:
        return month


def yes_no(value: object) -> str:
    return "Yes" if value else "No"


def _per_month(rows: Iterable[Row], count: str, label: str) -> list[Row]:
    return [{"Month": month_words(r["month"]), "Team": r["team"], label: r[count]} for r in rows]


def _monthly_chart(rows: list[Row], label: str, description: str) -> None:
    """Bars per month, one colour per team, in the order the months come (oldest first)."""
    st.bar_chart(
        rows,
        x="Month",
        y=label,
        color="Team",
        x_label="Month",
        y_label=label,
        sort=False,
        alt=description,
    )


def page() -> None:
    principal: Principal = st.session_state["principal"]
    st.title("Learning", anchor=False)
    st.write(
        "What recurs across closures: which gaps workers meet at sign-off, why managers return "
        "reviews, where exceptions are granted, and what closures that came back carried."
    )
    try:
        figures = auditing.learning(session.context(), principal)
    except ServiceError as error:
        st.error(error.message)
        return
    window = session.context().thresholds.re_referral_window_months
    st.page_link(
        pages.page("reference"),
        label="What each check asks: the check reference",
        icon=":material/menu_book:",
    )
    _closures(figures)
    _gaps(figures)
    _returns(figures)
    _exceptions(figures)
    _re_referrals(figures, window)


def _closures(figures: LearningFigures) -> None:
    st.header("Closures approved per month and team", anchor=False)
    closures = _per_month(figures.closures_per_month, "closures", "Closures approved")
    if closures:
        _monthly_chart(closures, "Closures approved", "Closures approved each month, by team")
        st.dataframe(closures, hide_index=True)
    else:
        st.caption(
            "No closure has been approved yet. Closures appear here once a team manager "
            "countersigns them."
        )


def _gaps(figures: LearningFigures) -> None:
    st.header("Gaps met at the first sign-off", anchor=False)
    st.caption(
        "Checks that failed in the report sealed at each review's first sign-off, and "
        "how they were resolved."
    )
    gaps = [
        {
            "Check": check_words(row["check_id"]),
            "Reviews": row["reviews"],
            "Resolved by rationale": row["rationales"],
            "Resolved by exception": row["exceptions"],
        }
        for row in figures.gaps_at_first_sign_off
    ]
    if not gaps:
        st.caption(
            "No gap has been argued or excepted at a first sign-off yet. Checks appear here "
            "when a worker signs off with a rationale or a manager's exception."
        )
        return
    st.bar_chart(
        gaps,
        x="Check",
        y="Reviews",
        horizontal=True,
        x_label="Check",  # the labels follow x and y, drawn on the other axes
        y_label="Reviews",
        sort=False,
        alt="Reviews that met each check's gap at their first sign-off",
    )
    st.dataframe(gaps, hide_index=True)


def _returns(figures: LearningFigures) -> None:
    st.header("Returns", anchor=False)
    returns = _per_month(figures.returns_by_month, "returns", "Reviews returned")
    if returns:
        _monthly_chart(returns, "Reviews returned", "Reviews returned each month, by team")
    reasons = [
        {
            "Decision": r["decision_id"],
            "Case": r["case_reference"],
            "Team": r["team"],
            "Returned": words.london_day(r["decided_at"]),
            "Reason": r["overall"],
        }
        for r in figures.return_reasons
    ]
    if reasons:
        st.dataframe(reasons, hide_index=True)
    else:
        st.caption(
            "No review has been returned yet. Returns appear here, with the manager's "
            "reasons, when a team manager sends a sign-off back."
        )


def _exceptions(figures: LearningFigures) -> None:
    st.header("Exceptions", anchor=False)
    if not figures.exceptions_by_check:
        st.caption(
            "No exception has been granted yet. Exceptions appear here when a team manager "
            "grants one for a blocker."
        )
        return
    left, middle, right = st.columns(3)
    with left:
        st.subheader("By check", anchor=False)
        st.dataframe(
            [
                {"Check": check_words(r["check_id"]), "Exceptions": r["exceptions"]}
                for r in figures.exceptions_by_check
            ],
            hide_index=True,
        )
    with middle:
        st.subheader("By team", anchor=False)
        st.dataframe(
            [
                {"Team": r["team"], "Exceptions": r["exceptions"]}
                for r in figures.exceptions_by_team
            ],
            hide_index=True,
        )
    with right:
        st.subheader("By team manager", anchor=False)
        st.dataframe(
            [
                {"Team manager": _manager(r), "Exceptions": r["exceptions"]}
                for r in figures.exceptions_by_manager
            ],
            hide_index=True,
        )


def _re_referrals(figures: LearningFigures, window: int) -> None:
    st.header("Re-referrals after an approved closure", anchor=False)
    if not figures.re_referral_comparison:
        st.caption(
            "No approved closure to compare yet. Once closures are approved, this compares "
            f"those re-referred within {window} months with those that were not."
        )
        return
    st.caption(
        f"Approved closures re-referred within {window} months beside those that were not, "
        "with the cautions and exceptions they carried."
    )
    re_referred = f"Re-referred within {window} months"
    st.dataframe(
        [
            {
                re_referred: yes_no(row["re_referred"]),
                "Closures": row["closures"],
                "Cautions per closure": row["cautions_per_closure"],
                "Exceptions per closure": row["exceptions_per_closure"],
                "Closures with an exception (%)": row["percent_with_exception"],
            }
            for row in figures.re_referral_comparison
        ],
        hide_index=True,
    )
    if figures.re_referral_checks:
        st.dataframe(
            [
                {
                    "Check": check_words(row["check_id"]),
                    re_referred: yes_no(row["re_referred"]),
                    "Cautions or exceptions carried": row["findings"],
                }
                for row in figures.re_referral_checks
            ],
            hide_index=True,
        )


def _manager(row: Row) -> str:
    """A team manager as the decision page names them: "Name, staff id"."""
    name = row.get("manager_name")
    return f"{name}, {row['manager']}" if name else str(row["manager"])
