"""The summary for the young person and family: previewed and edited before sign-off, read by the
manager on the decision page.

At "Check and sign off" each part is a text box holding the words written from the answers
(core.family_words), in one voice ("you"). The worker may rewrite any part, or go back to the
words from the answers, and ticks the evidence whose own words may be quoted: nothing the case
record says is quoted otherwise. What they settle is saved in the review, so sign-off seals it
and the family PDF prints it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from closure_readiness.core import family_words
from closure_readiness.core.canonical import content_hash
from closure_readiness.core.errors import FieldProblem
from closure_readiness.core.review import FamilySummary, Review
from closure_readiness.core.text import LONG_TEXT_MAX
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import session
from closure_readiness.views.review.state import commit, key, reload_record
from closure_readiness.views.safe import escape_markdown

QUOTE_LABEL_MAX = 120


def _reset_key(review_id: int, part: str) -> str:
    return f"family_reset:{review_id}:{part}"


def _back_key(review_id: int, part: str) -> str:
    return f"family_back:{review_id}:{part}"


@session.guarded
def _go_back(review_id: int, part: str) -> None:
    """Use the words from the answers for a part: a new text box, seeded with them."""
    reset = _reset_key(review_id, part)
    st.session_state[reset] = int(st.session_state.get(reset, 0)) + 1
    st.session_state[_back_key(review_id, part)] = True


@session.guarded
def _cleared(review_id: int, part: str, widget: str) -> None:
    """A part emptied by the worker goes back to the words from the answers (never blank)."""
    if not str(st.session_state.get(widget) or "").strip():
        _go_back(review_id, part)


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _quote_choices(record: ReviewRecord, summary: FamilySummary) -> list[str]:
    items = family_words.quotable(record.review)
    if not items:
        return []
    st.caption(
        "Nothing from the case record is quoted unless you tick it. Quote an item only if its "
        "words are right for the young person and family to read."
    )
    chosen: list[str] = []
    for item in items:
        shows = item.shows
        if len(shows) > QUOTE_LABEL_MAX:
            shows = shows[: QUOTE_LABEL_MAX - 1] + "\u2026"
        ticked = st.checkbox(
            # Labels render Markdown (images too): the stored text is escaped.
            f"Quote what {item.id} ({item.agency.label}) shows: "
            f"\u201c{escape_markdown(shows)}\u201d",
            value=item.id in summary.quoted,
            key=key(record.id, "family", "quote", item.id),
        )
        if ticked:
            chosen.append(item.id)
    return chosen


def family_summary_section(record: ReviewRecord) -> tuple[ReviewRecord, list[FieldProblem]]:
    """The editable summary; saves what the worker settles. Returns the record as now stored
    and any problem saving it."""
    st.subheader("Summary for you and your family", anchor=False)
    st.write(
        "When your manager approves the closure, this summary is offered to send to the young "
        "person and family. It speaks to them as \u201cyou\u201d and is written from your "
        "answers. Change any part in your own words: your manager reads it, and it is sealed "
        "with your sign-off."
    )
    review = record.review
    summary = review.family_summary or FamilySummary()
    generated = family_words.written_from_answers(review)
    updated: dict[str, Any] = summary.model_dump(mode="json")
    for part, heading in family_words.PARTS:
        if part == "changed":
            updated["quoted"] = _quote_choices(record, summary)
        updated[part] = _part(record, summary, part, heading, generated[part])
        if part == "changed":
            lines = family_words.quote_lines(review, updated["quoted"])
            if lines:
                st.caption("Printed after this part, as recorded:")
                st.text("\n".join([family_words.QUOTES_LEAD, *lines]))
        if part == "contact":
            st.caption(f"The summary always ends this part with: {family_words.DANGER}")
    problems: list[FieldProblem] = []
    before = review.family_summary.model_dump(mode="json") if review.family_summary else None
    if updated != (before or FamilySummary().model_dump(mode="json")):
        document = review.model_dump(mode="json")
        document["family_summary"] = updated
        problems = commit(record, document, step="sign_off")
        record = reload_record(record.id)
    with st.expander("Read the whole summary as the family will"):
        st.text(family_words.as_text(record.review))
    return record, problems


def _part(
    record: ReviewRecord, summary: FamilySummary, part: str, heading: str, generated: str
) -> str | None:
    """One part's text box: the worker's own words, or None for the words from the answers."""
    back = bool(st.session_state.pop(_back_key(record.id, part), False))
    own: str | None = None if back else getattr(summary, part)
    shown = own if own is not None else generated
    # A new box whenever the words from the answers change (an answer changed, here or in
    # another tab): a box still holding the old words is never mistaken for the worker's.
    widget = key(
        record.id,
        "family",
        part,
        st.session_state.get(_reset_key(record.id, part), 0),
        content_hash(generated)[:12],
    )
    typed = st.text_area(
        heading,
        value=shown,
        height=max(100, min(360, 26 * (shown.count("\n") + 2))),
        max_chars=max(LONG_TEXT_MAX, len(shown)),
        key=widget,
        help="Empty a part to go back to the words written from your answers.",
        on_change=_cleared,
        args=(record.id, part, widget),
    )
    text = _normal(typed)
    if not text or text == _normal(generated):
        st.caption("Written from your answers.")
        return None
    st.caption("Your own words.")
    st.button(
        f"Use the words written from your answers for \u201c{heading}\u201d",
        key=key(record.id, "family", part, "back"),
        on_click=_go_back,
        args=(record.id, part),
    )
    return text


def family_summary_read_only(review: Review) -> None:
    """For the manager (and auditor): the summary as the worker settled it and sealed it."""
    with st.expander("Summary for the family (as the worker wrote it)"):
        if review.family_summary is None:
            st.caption(
                "Signed off without changes to the summary: these are the words written from "
                "the answers, quoting nothing from the case record."
            )
        for part in family_words.settled_parts(review):
            origin = "the worker's own words" if part.own_words else "written from the answers"
            st.markdown(f"**{part.heading}** ({origin})")
            st.text(part.text)
            if part.name == "changed" and family_words.quotes(review):
                st.caption("Quoted from the case record, as the worker chose:")
                st.text("\n".join(family_words.quotes(review)))
