"""Per-tab state of the review wizard: widget keys, the version this tab saw, saving a change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import streamlit as st
from pydantic import ValidationError

from closure_readiness.core.errors import FieldProblem, explain, question_at
from closure_readiness.core.review import InvalidChange, Review
from closure_readiness.service import reviews
from closure_readiness.service.context import Conflict, Principal, ServiceError
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields, session
from closure_readiness.views.safe import escape_markdown

OTHER_STEPS = {
    "tasks": "Task list",
    "case": "Case details",
    "evidence": "Evidence register",
    "incidents": "Incidents",
    "sign_off": "Check and sign off",
}


def known_key(review_id: int) -> str:
    return f"known_version:{review_id}"


def generation(review_id: int) -> int:
    return int(st.session_state.get(f"generation:{review_id}", 0))


def regenerate(review_id: int) -> None:
    st.session_state[f"generation:{review_id}"] = generation(review_id) + 1


def key(review_id: int, *parts: object) -> str:
    return ".".join(["r", str(review_id), f"g{generation(review_id)}", *map(str, parts)])


@session.guarded
def set_step(step: str) -> None:
    """Go to a step: the whole page is drawn for it, also from a button in a fragment (the gap
    panel), whose own rerun would draw only the fragment again."""
    st.query_params["step"] = step
    st.rerun()


def problems_key(review_id: int) -> str:
    return f"problems:{review_id}"


def commit(record: ReviewRecord, document: dict[str, Any], *, step: str) -> list[FieldProblem]:
    """Validate and save a changed review. Returns problems to show; stores nothing invalid."""
    try:
        review = Review.model_validate(document)
    except ValidationError as error:
        return _refused(record, InvalidChange(error, document))
    return _save(record, review, step=step)


def commit_change(
    record: ReviewRecord, change: Callable[[Review], Review], *, step: str
) -> list[FieldProblem]:
    """Save the review as `change` (one of the model's own edits) makes it. Returns problems
    to show; stores nothing invalid."""
    try:
        review = change(record.review)
    except InvalidChange as refused:
        return _refused(record, refused)
    return _save(record, review, step=step)


def _refused(record: ReviewRecord, refused: InvalidChange) -> list[FieldProblem]:
    problems = explain(refused.error, Review, document=refused.document)
    return placed(problems, record.review.model_dump(mode="json"), refused.document)


def _save(record: ReviewRecord, review: Review, *, step: str) -> list[FieldProblem]:
    principal: Principal = st.session_state["principal"]
    if review == record.review:
        return []
    known = int(st.session_state.get(known_key(record.id), record.version))
    try:
        version = reviews.save_review(
            session.context(), principal, record.id, review, expected_version=known
        )
    except Conflict as conflict:
        regenerate(record.id)
        st.session_state[known_key(record.id)] = record.version
        st.session_state["flash"] = ("warning", conflict.message)
        st.rerun()
    except ServiceError as error:
        return error.problems or [FieldProblem(field="", message=error.message)]
    st.session_state[known_key(record.id)] = version
    st.session_state[f"saved:{record.id}"] = step
    return []


def save_quietly(record: ReviewRecord, review: Review, *, step: str) -> bool:
    """Save a valid review from a widget's callback: whether it is stored now. Refused, it
    is left to the page's run, which saves it again and shows why (a conflict with another
    tab reruns the page at once, as `commit` does)."""
    return not _save(record, review, step=step)


def placed(
    problems: list[FieldProblem], before: dict[str, Any], after: dict[str, Any]
) -> list[FieldProblem]:
    """A problem with the review as a whole ("the date last seen alone is after the proposed
    closure date") is put at the one answer just changed, so it shows beside that field."""
    changed = _changed_leaves(before, after, ())
    if len(changed) != 1:
        return problems
    where = changed[0]
    question = question_at(where, Review, after)[0]
    return [
        replace(problem, loc=where, question=question) if not problem.loc and question else problem
        for problem in problems
    ]


def _changed_leaves(
    before: Any, after: Any, loc: tuple[int | str, ...]
) -> list[tuple[int | str, ...]]:
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            found
            for name in {*before, *after}
            for found in _changed_leaves(before.get(name), after.get(name), (*loc, name))
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            found
            for index, (old, new) in enumerate(zip(before, after, strict=True))
            for found in _changed_leaves(old, new, (*loc, index))
        ]
    if before == after:
        return []
    entries = [x for x in (before, after) if isinstance(x, dict)]
    if isinstance(before, list) and isinstance(after, list):
        entries += [x for x in (*before, *after) if isinstance(x, dict)]
    if entries:
        return [loc, loc]  # a whole entry added or removed: not one field
    return [loc]  # a value, or a list of choices (agencies notified, evidence cited)


def error_summary(problems: list[FieldProblem]) -> None:
    """The problems on this page, at its top: each names the question as the page shows it
    and links to the field, which shows its own message too (GOV.UK's error summary).

    Dates typed on this page that are not dates are added here (views/fields.py)."""
    problems = [*problems, *fields.typed_date_problems()]
    if not problems:
        return
    lines = "\n".join(f"- {_summary_item(problem)}" for problem in problems)
    st.error(f"**There is a problem**\n\n{lines}", icon=":material/error:")


def _summary_item(problem: FieldProblem) -> str:
    text = escape_markdown(problem.in_words)
    if problem.question and problem.loc:
        return f"[{text}](#{fields.anchor_id(problem.loc)})"
    return text


def reload_record(review_id: int) -> ReviewRecord:
    principal: Principal = st.session_state["principal"]
    return reviews.get_review(session.context(), principal, review_id)


@session.guarded
def remove_item(review_id: int, path: tuple[str, ...], index: int) -> None:
    record = reload_record(review_id)
    document = record.review.model_dump(mode="json")
    target: Any = document
    for part in path:
        target = target[part]
    del target[index]
    commit(record, document, step=path[1] if path[0] == "answers" else path[0])
    regenerate(review_id)
