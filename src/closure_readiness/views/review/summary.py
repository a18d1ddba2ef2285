"""Check your answers: the whole review as a summary, with a Change link per block.

Each block is a few plain lines: the answers, then one line per entry of a list (a cause, a
plan outcome, an evidence item), so a manager or the worker reads it at a glance. Stored
text is shown with `st.text`, exactly as typed.
"""

from __future__ import annotations

import typing
from typing import Any

import streamlit as st
from pydantic import BaseModel

from closure_readiness.checks.questions import THEMES
from closure_readiness.core.answers_text import (
    answer_lines,
    entry_line,
    in_sentence,
    join_clauses,
    plain,
    sentence_case,
)
from closure_readiness.core.errors import item_noun
from closure_readiness.core.review import Incident, Review, RouteAnswer
from closure_readiness.core.vocabulary import FamilyFactor
from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields
from closure_readiness.views.findings import CASE_STEP
from closure_readiness.views.review.state import key, set_step
from closure_readiness.views.review.tasks import not_needed, not_needed_text, route_fields

CASE_SUMMARY_SKIP = ("case_reference", "allocated_worker", "team")
NOTHING = "Nothing recorded."


def answers_summary(record: ReviewRecord, *, change_links: bool) -> None:
    review = record.review
    _block(
        record,
        "Case details",
        "",
        _model_lines(review.case, skip=CASE_SUMMARY_SKIP),
        step=CASE_STEP,
        change=change_links,
    )
    _block(
        record,
        "Evidence register",
        "",
        [fields.evidence_line(item) for item in review.evidence] or ["No evidence recorded."],
        step="evidence",
        change=change_links,
    )
    _block(
        record,
        "Incidents",
        "",
        [_incident_line(incident) for incident in review.incidents] or ["None recorded."],
        step="incidents",
        change=change_links,
    )
    route_skip = tuple(
        name for name in RouteAnswer.model_fields if name not in route_fields(record)
    )
    for theme in THEMES:
        answer = getattr(review.answers, theme.key)
        lines = []
        if not_needed(record, theme.key):
            lines.append(not_needed_text(record) + ".")
        cited = [review.item(ref) for ref in answer.cited if ref in _ids(review)]
        if cited:
            # What each item shows is in the register above: here, which items, one a line.
            lines.append("Evidence cited:")
            lines.extend(
                f"  {item.id} · {item.observed_on:%d/%m/%Y} · {item.agency.label} · "
                f"{in_sentence(item.kind.label)}"
                for item in cited
            )
        skip = ("cited", *route_skip) if theme.key == "route" else ("cited",)
        lines.extend(_model_lines(answer, skip=skip) or [NOTHING])
        _block(
            record,
            theme.title,
            theme.question,
            lines,
            step=theme.key,
            change=change_links,
        )


def _block(
    record: ReviewRecord,
    title: str,
    question: str,
    lines: list[str],
    *,
    step: str,
    change: bool,
) -> None:
    with st.container(border=True):
        st.markdown(f"**{title}**" + (f": {question}" if question else ""))
        st.text("\n".join(lines))
        if change:
            # Labels name the block ("Change evidence register"): never several identical
            # "Change" buttons for a screen reader to tell apart.
            st.button(
                f"Change {in_sentence(title)}",
                key=key(record.id, "summary", step),
                on_click=set_step,
                args=(step,),
                icon=":material/edit:",
                type="tertiary",
            )


def _ids(review: Review) -> set[str]:
    return {item.id for item in review.evidence}


def _incident_line(incident: Incident) -> str:
    record = f" (record {incident.record_ref})" if incident.record_ref else ""
    summary = f": {incident.summary}" if incident.summary else ""
    when = f"{incident.occurred_on:%d/%m/%Y}"
    return f"{incident.id} · {when} · {incident.kind.label}{summary}{record}"


def _model_lines(model: BaseModel, *, skip: tuple[str, ...]) -> list[str]:
    """The answers as 'Question: answer' lines, then each entry of a list on a line of its
    own ("Cause 2: ..."), and each family factor on its own line."""
    lists = [
        name
        for name, field in type(model).model_fields.items()
        if name not in skip and _holds_models(field.annotation)
    ]
    lines = answer_lines(model, skip=(*skip, *lists), unrecorded=True)
    for name in lists:
        value = getattr(model, name)
        title = sentence_case(type(model).model_fields[name].title or name.replace("_", " "))
        if isinstance(value, dict):
            lines.extend(
                f"{plain(factor)}: {join_clauses(answer_lines(answer, skip=(), unrecorded=True))}"
                for factor, answer in sorted(value.items(), key=_in_vocabulary_order)
            )
            continue
        if not value:
            lines.append(f"{title}: none recorded")
            continue
        noun = sentence_case(item_noun(name))
        lines.extend(entry_line(f"{noun} {index}", entry) for index, entry in enumerate(value, 1))
    return lines


def _in_vocabulary_order(item: tuple[Any, Any]) -> int:
    vocabulary: list[Any] = list(FamilyFactor)
    return vocabulary.index(item[0]) if item[0] in vocabulary else len(vocabulary)


def _holds_models(annotation: Any) -> bool:
    """A list or dictionary of answers (causes, orders, family factors)."""
    origin = typing.get_origin(annotation)
    if origin not in (list, dict):
        return False
    inner = typing.get_args(annotation)[-1]
    return isinstance(inner, type) and issubclass(inner, BaseModel)


def read_only(record: ReviewRecord) -> None:
    if record.status == ReviewStatus.SUBMITTED:
        st.info("This review is signed off and waiting for your team manager. It is read-only.")
    elif record.status == ReviewStatus.APPROVED:
        st.success("Closure approved. The decision record is sealed.")
    elif record.status == ReviewStatus.WITHDRAWN:
        st.info("This review was withdrawn.")
    st.header("Answers and evidence", anchor=False)  # headings in order: h1, h2, then Gaps
    answers_summary(record, change_links=False)
