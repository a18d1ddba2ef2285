"""Decisions: the auditor's read-only list with filters, full-text search and exports."""

from __future__ import annotations

import functools

import streamlit as st

from closure_readiness.core import words
from closure_readiness.core.text import SHORT_TEXT_MAX
from closure_readiness.core.vocabulary import ClosureReason
from closure_readiness.core.workflow import DECISION_STATUSES
from closure_readiness.service import auditing
from closure_readiness.service.auditing import STATUSES, DecisionPage, DecisionQuery
from closure_readiness.service.context import Context, Principal, ServiceError
from closure_readiness.views import fields, pages, session

PAGE_SIZE = 50
_ANY = "Any"
STATUS_WORDS: dict[str, str] = {status: status.short for status in DECISION_STATUSES}
"""A decision's status as the review pages say it, short enough for a column."""
NO_MATCH = "No decisions match. Clear the search or widen the dates."


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.capitalize())


def _re_referred_label() -> str:
    window = session.context().thresholds.re_referral_window_months
    return f"Re-referred within {window} months"


def _query() -> DecisionQuery:
    with st.form("decision_filters"):
        text = st.text_input(
            "Search answers and evidence",
            max_chars=SHORT_TEXT_MAX,
            key="filter.text",
            help="Words in any answer or evidence item, or a case reference.",
        )
        left, middle, right = st.columns(3)
        teams = [_ANY, *st.session_state.get("known_teams", [])]
        team = left.selectbox("Team", teams, key="filter.team")
        status = middle.selectbox(
            "Status",
            [_ANY, *STATUSES],
            key="filter.status",
            format_func=lambda s: s if s == _ANY else status_words(s),
        )
        reasons = [_ANY, *(r.value for r in ClosureReason)]
        reason = right.selectbox(
            "Closure reason",
            reasons,
            key="filter.reason",
            format_func=lambda r: r if r == _ANY else _reason_words(r),
        )
        left, middle, right, far = st.columns(4)
        since = fields.picked_date("Signed off from", key="filter.from", where=left)
        until = fields.picked_date("Signed off to", key="filter.to", where=middle)
        exceptions = right.selectbox("Has exceptions", [_ANY, "Yes", "No"], key="filter.exc")
        re_referral = far.selectbox(_re_referred_label(), [_ANY, "Yes", "No"], key="filter.rr")
        st.form_submit_button("Search", type="primary")
    return DecisionQuery(
        team=None if team == _ANY else team,
        status=None if status == _ANY else status,
        closure_reason=None if reason == _ANY else reason,
        signed_from=since,
        signed_to=until,
        has_exceptions=None if exceptions == _ANY else exceptions == "Yes",
        has_re_referral=None if re_referral == _ANY else re_referral == "Yes",
        text=text or None,
        limit=PAGE_SIZE,
        offset=PAGE_SIZE * int(st.session_state.get("filter.page", 0)),
    )


def _reason_words(code: str | None) -> str:
    """A stored closure reason in words, without its census code ("Transferred to another
    local authority"): the code stays in the exports."""
    if not code:
        return "Not recorded"
    try:
        label = ClosureReason(code).label
    except ValueError:
        return code
    return label.removeprefix(f"{code} ")


def page() -> None:
    principal: Principal = st.session_state["principal"]
    ctx = session.context()
    st.title("Decisions", anchor=False)
    st.write("Every closure decision signed off, read-only. Opening or exporting one is recorded.")
    if "known_teams" not in st.session_state:
        st.session_state["known_teams"] = auditing.teams(ctx, principal)
    query = _query()
    result = _search(ctx, principal, query)
    if result is None:
        return
    _results(query, result)
    _paging(result)
    if result.rows:
        _open_one(result)
    _exports(ctx, principal, query)
    _verify_all(ctx, principal)


def _search(ctx: Context, principal: Principal, query: DecisionQuery) -> DecisionPage | None:
    """The page of decisions the filters find, or None once the page has said why not."""
    # A search is an audit event: run it when the filters change, not on every rerun.
    if st.session_state.get("last_query") != query:
        try:
            st.session_state["last_page"] = auditing.list_decisions(ctx, principal, query)
        except ServiceError as error:
            st.error(error.message)
            return None
        st.session_state["last_query"] = query
    result: DecisionPage = st.session_state["last_page"]
    return result


def _results(query: DecisionQuery, result: DecisionPage) -> None:
    """Where the page stands in the matches, and the table (or why it is empty)."""
    start = query.offset + 1 if result.total else 0
    total = f"more than {result.total:,}" if result.more_than_total else f"{result.total:,}"
    st.caption(f"Showing {start} to {query.offset + len(result.rows)} of {total}, newest first.")
    if result.rows:
        _table(result)
    elif not auditing.has_filters(query):
        st.info(
            "No closure decision has been signed off yet. Decisions appear here once a "
            "worker signs off a review."
        )
    else:
        st.info(NO_MATCH)


def _table(result: DecisionPage) -> None:
    re_referred = _re_referred_label()
    st.dataframe(
        [
            {
                "Decision": row["id"],
                "Case": row["case_reference"],
                "Team": row["team"],
                "Status": status_words(row["status"]),
                "Signed off": words.london_day(row["signed_at"]),
                "Reason": _reason_words(row["closure_reason"]),
                "Cautions": row["cautions"],
                "Exceptions": row["exceptions"],
                re_referred: "Yes" if row["re_referred"] else "No",
            }
            for row in result.rows
        ],
        hide_index=True,
        # The case stays in view when the reader scrolls to the last columns.
        column_config={
            "Decision": st.column_config.NumberColumn(pinned=True),
            "Case": st.column_config.TextColumn(pinned=True),
        },
        key="decision_table",
    )


def _paging(result: DecisionPage) -> None:
    previous, following = st.columns(2)
    current_page = int(st.session_state.get("filter.page", 0))
    if previous.button("Previous page", disabled=current_page == 0, key="page.prev"):
        st.session_state["filter.page"] = current_page - 1
        st.rerun()
    if following.button("Next page", disabled=not result.has_next_page, key="page.next"):
        st.session_state["filter.page"] = current_page + 1
        st.rerun()


def _open_one(result: DecisionPage) -> None:
    """Choose one decision on this page and a link to its record."""
    chosen = st.selectbox(
        "Open a decision",
        [row["id"] for row in result.rows],
        format_func=lambda i: next(
            f"{i} · {r['case_reference']} · {status_words(r['status'])}"
            for r in result.rows
            if r["id"] == i
        ),
        key="open_decision",
    )
    st.page_link(
        pages.page("decision"),
        label="Open the decision record",
        icon=":material/arrow_forward:",
        query_params={"decision": str(chosen)},
    )


def _exports(ctx: Context, principal: Principal, query: DecisionQuery) -> None:
    st.header("Export the filtered list", anchor=False)
    left, right = st.columns(2)
    for column, fmt in ((left, "csv"), (right, "json")):
        column.download_button(
            f"Download as {fmt.upper()}",
            data=session.download_data(
                functools.partial(auditing.export_decisions, ctx, principal, query, fmt=fmt)
            ),
            file_name=f"decisions.{fmt}",
            mime="text/csv" if fmt == "csv" else "application/json",
            key=f"export.{fmt}",
            on_click="ignore",
        )


def _verify_all(ctx: Context, principal: Principal) -> None:
    st.header("Integrity of the whole store", anchor=False)
    if st.button("Verify every seal and the audit chain", key="verify_all"):
        report = auditing.verify_everything(ctx, principal)
        if report.intact:
            st.success(
                f"Intact: {report.decisions_checked} decisions and {report.events_checked} audit "
                "events checked."
            )
        else:
            found = len(report.problems)
            st.error(f"{found} problem{'' if found == 1 else 's'} found.")
            st.text("\n".join(report.problems[:200]))
