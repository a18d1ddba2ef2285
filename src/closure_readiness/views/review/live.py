"""A changed answer is saved by its own widget, and only what shows the checks is drawn again
(issue 12 item 2; decision #82).

On a question step, each answer's widget saves the answer in its `on_change` callback, the
moment it changes, and then asks Streamlit to run again only the parts of the page that show
the saved review's checks: this step's checks and the gap panel (each a keyed `st.fragment`,
which reads the review as now stored). The rest of the page, about four elements in five, is
neither run nor sent again: the widget the person changed already shows its new value.

Anything else falls back to the page's own run, which saves what the widgets hold as before:
an answer the review refuses (the run shows each message beside its field and in the error
summary), a page showing problems (they must go once put right), a conflict with another tab,
a review returned by the manager (its reasons and replies show in several places), and every
widget drawn without `live` (list entries' forms, typed dates, the evidence register).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Concatenate, ParamSpec

import streamlit as st
from pydantic import ValidationError
from streamlit.errors import StreamlitAPIException

from closure_readiness.core.review import Review
from closure_readiness.service.context import NotAllowed, ServiceError
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields, session
from closure_readiness.views.review.state import reload_record, save_quietly

P = ParamSpec("P")

GAPS = "gaps"
"""The gap panel's fragment key."""
STEP_CHECKS = "step_checks"
"""The fragment key of a question step's own checks."""
REDRAWN = (STEP_CHECKS, GAPS)
"""What a saved answer draws again: everything on the page that shows the review's checks."""


def _on_key(review_id: int) -> str:
    return f"live:{review_id}"


def allow(record: ReviewRecord, *, shown: Sequence[object]) -> bool:
    """Whether the step drawn now may save answers from their widgets, with the problems it
    `shown`; kept for this tab until the page's next run decides again."""
    allowed = record.last_return is None and not shown
    st.session_state[_on_key(record.id)] = allowed
    return allowed


def forbid(review_id: int) -> None:
    """The page drawn now has no live parts: a widget's change is saved by the next run."""
    st.session_state[_on_key(review_id)] = False


def on(review_id: int) -> bool:
    return bool(st.session_state.get(_on_key(review_id)))


def saver(record: ReviewRecord, step: str) -> fields.Live:
    """The `fields.Live` for a question step: each widget saves its own answer."""

    def changes(loc: fields.Loc, read: Callable[[], Any]) -> dict[str, Any]:
        return {"on_change": answer_changed, "args": (record.id, step, loc, read)}

    return changes


@session.guarded
def answer_changed(review_id: int, step: str, loc: fields.Loc, read: Callable[[], Any]) -> None:
    """Save the one answer a widget now holds; then draw again only the checks it may change.

    Returning without a rerun of its own lets Streamlit run the whole page, which saves what
    the widgets hold (or explains why not) exactly as it did before this module existed."""
    if not on(review_id):
        return
    record = reload_record(review_id)
    document = record.review.model_dump(mode="json")
    try:
        _put(document, loc, read())
        review = Review.model_validate(document)
    except (LookupError, ValidationError):
        # Refused, or no longer where the widget was drawn (another tab removed the entry):
        # the page's run shows why, or that the review changed meanwhile.
        return
    if not save_quietly(record, review, step=step):
        return
    try:
        st.rerun(list(REDRAWN))
    except StreamlitAPIException:
        return  # a part not drawn on this page (it was left mid-run): the whole page runs


def fragment(
    key: str,
) -> Callable[
    [Callable[Concatenate[ReviewRecord, P], None]], Callable[Concatenate[ReviewRecord, P], None]
]:
    """Draw a part of the review page as a keyed fragment that `answer_changed` runs again.

    In the page's run it draws the record the page has; run on its own, it first checks the
    sign-in as the page's run does (an ended one runs the whole page, which says so), then
    reads the review as now stored. A database fault is said in plain words in its place."""

    def wrap(
        draw: Callable[Concatenate[ReviewRecord, P], None],
    ) -> Callable[Concatenate[ReviewRecord, P], None]:
        given = f"live_record:{key}"

        def body(review_id: int, *args: P.args, **kwargs: P.kwargs) -> None:
            try:
                record = st.session_state.pop(given, None) or _as_stored(review_id)
                draw(record, *args, **kwargs)
            except session.database_errors() as error:
                session.show_database_fault(error, where=f"the review page's {key}")

        part = st.fragment(body, key=key)

        def drawn(record: ReviewRecord, /, *args: P.args, **kwargs: P.kwargs) -> None:
            st.session_state[given] = record
            part(record.id, *args, **kwargs)

        return drawn

    return wrap


def _as_stored(review_id: int) -> ReviewRecord:
    """The review as now stored, for a sign-in checked now; otherwise the whole page runs."""
    try:
        st.session_state["principal"] = session.current_principal()
        return reload_record(review_id)
    except (session.SessionEnded, NotAllowed, ServiceError):
        st.rerun()


def _put(document: dict[str, Any], loc: fields.Loc, value: Any) -> None:
    target: Any = document
    for part in loc[:-1]:
        target = target[part]
    target[loc[-1]] = value
