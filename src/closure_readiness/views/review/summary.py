"""Check your answers: the whole review as a summary, with a Change link per step."""

from __future__ import annotations

import streamlit as st

from closure_readiness.checks.questions import THEMES
from closure_readiness.core.answers_text import answer_lines
from closure_readiness.core.review import RouteAnswer
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields
from closure_readiness.views.findings import (
    CASE_STEP,
)
from closure_readiness.views.review.state import key, set_step
from closure_readiness.views.review.tasks import not_needed, not_needed_text, route_fields

CASE_SUMMARY_SKIP = ("case_reference", "allocated_worker", "team")


def answers_summary(record: ReviewRecord, *, change_links: bool) -> None:
    review = record.review
    by_id = {item.id: item for item in review.evidence}
    with st.container(border=True):
        st.markdown("**Case details**")
        lines = answer_lines(review.case, skip=CASE_SUMMARY_SKIP, unrecorded=True)
        st.text("\n".join(lines))
        if change_links:
            st.button(
                "Change case details",
                key=key(record.id, "summary", CASE_STEP),
                on_click=set_step,
                args=(CASE_STEP,),
            )
    route_skip = tuple(
        name for name in RouteAnswer.model_fields if name not in route_fields(record)
    )
    for theme in THEMES:
        answer = getattr(review.answers, theme.key)
        with st.container(border=True):
            st.markdown(f"**{theme.title}**: {theme.question}")
            if not_needed(record, theme.key):
                st.caption(not_needed_text(record) + ".")
            cited = [fields.evidence_label(by_id[ref]) for ref in answer.cited if ref in by_id]
            if cited:
                st.text("Evidence cited:\n" + "\n".join(cited))
            skip = ("cited", *route_skip) if theme.key == "route" else ("cited",)
            lines = answer_lines(answer, skip=skip, unrecorded=True)
            st.text("\n".join(lines) if lines else "Nothing recorded.")
            if change_links:
                st.button(
                    f"Change {theme.title.lower()}",
                    key=key(record.id, "summary", theme.key),
                    on_click=set_step,
                    args=(theme.key,),
                )


def read_only(record: ReviewRecord) -> None:
    if record.status == "submitted":
        st.info("This review is signed off and waiting for your team manager. It is read-only.")
    elif record.status == "approved":
        st.success("Closure approved. The decision record is sealed.")
    elif record.status == "withdrawn":
        st.info("This review was withdrawn.")
    answers_summary(record, change_links=False)
