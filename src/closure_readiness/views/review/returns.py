"""A manager's reasons for returning a review, shown where the worker acts: the overall reason
at the top of every step, a step's reason at that step, a finding's reason beside its card.
Each has a one-line reply, saved like every other answer, sealed with the review at sign-off
and read by the manager beside the reason it answers."""

from __future__ import annotations

import streamlit as st
from pydantic import TypeAdapter, ValidationError

from closure_readiness.checks.questions import THEMES, THEMES_BY_KEY
from closure_readiness.core import words
from closure_readiness.core.review import ReplyKey
from closure_readiness.core.text import SHORT_TEXT_MAX
from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, Role, ServiceError
from closure_readiness.service.records import (
    ReturnedFinding,
    ReturnNote,
    ReviewRecord,
    check_of_finding,
    replies_to,
)
from closure_readiness.views import session
from closure_readiness.views.findings import (
    CASE_STEP,
    check_link,
    check_words,
    step_of_check,
    step_title,
)
from closure_readiness.views.review.state import commit, key
from closure_readiness.views.safe import escape_markdown

MANAGERS_COMMENT = "Manager's comment"
"""How the task list marks a step the manager commented on (words, not colour)."""
STEP_ORDER = (CASE_STEP, *(theme.key for theme in THEMES))
"""The steps a reason can be shown at, in the task list's order."""
_REPLY_KEY: TypeAdapter[str] = TypeAdapter(ReplyKey)


def finding_step(finding: ReturnedFinding) -> str | None:
    """The step where the finding the manager commented on is answered (None: no step, as
    when its check is no longer kept)."""
    if not finding.check_id:
        return None
    step = step_of_check(finding.check_id)
    return step if step in STEP_ORDER else None


def commented_steps(record: ReviewRecord) -> set[str]:
    """Steps with a reason of the manager's: about the step itself or about one of its findings."""
    note = record.last_return
    if note is None:
        return set()
    steps = {step for step, text in note.themes.items() if text and step in THEMES_BY_KEY}
    steps |= {step for f in note.about_findings() if (step := finding_step(f)) is not None}
    return steps


def _own(record: ReviewRecord) -> bool:
    """Whether the reader is the review's caseworker: reasons are said to them as "your
    manager"; to anyone else (the manager, an auditor) as "the team manager"."""
    principal: Principal = st.session_state["principal"]
    return record.worker_id == principal.staff_id


def manager_words(record: ReviewRecord) -> str:
    return "Your manager" if _own(record) else "The team manager"


def reply_words(record: ReviewRecord) -> str:
    return "Your reply" if _own(record) else "The caseworker's reply"


def _may_reply(record: ReviewRecord) -> bool:
    principal: Principal = st.session_state["principal"]
    return (
        record.editable
        and principal.role is Role.CASEWORKER
        and record.worker_id == principal.staff_id
    )


def _problem_key(review_id: int, stored: str) -> str:
    return f"reply_problem:{review_id}:{stored}"


@session.guarded
def _save_reply(review_id: int, stored: str, widget: str) -> None:
    """Store (or clear) one reply as the worker leaves its field, like every other answer."""
    principal: Principal = st.session_state["principal"]
    text = str(st.session_state.get(widget, "")).strip()
    try:
        record = reviews.get_review(session.context(), principal, review_id)
    except ServiceError as error:
        st.session_state[_problem_key(review_id, stored)] = error.message
        return
    document = record.review.model_dump(mode="json")
    replies = dict(document.get("replies", {}))
    if text:
        replies[stored] = text
    else:
        replies.pop(stored, None)
    document["replies"] = replies
    problems = commit(record, document, step=st.query_params.get("step", "tasks"))
    if problems:
        st.session_state[_problem_key(review_id, stored)] = (
            "Your reply was not saved. " + problems[0].message
        )


def _reply(record: ReviewRecord, note: ReturnNote, about: str, *, label: str, where: str) -> None:
    """The worker's one-line reply to one reason: a field to write it in, or what was written."""
    stored = note.reply_key(about)
    current = record.review.replies.get(stored, "")
    try:
        _REPLY_KEY.validate_python(stored)
    except ValidationError:
        replyable = False  # a reason about something no review can name: read it, no reply
    else:
        replyable = True
    if not (replyable and _may_reply(record)):
        if current:
            st.markdown(f"{reply_words(record)}: " + escape_markdown(current))
        return
    widget = key(record.id, "reply", where, about)
    st.text_input(
        label,
        value=current,
        max_chars=SHORT_TEXT_MAX,
        key=widget,
        on_change=_save_reply,
        args=(record.id, stored, widget),
        help="One line. Your manager reads it beside this reason when you sign off again.",
    )
    problem = st.session_state.pop(_problem_key(record.id, stored), None)
    if problem:
        st.error(escape_markdown(problem), icon=":material/error:")


def returned_banner(record: ReviewRecord) -> None:
    """The overall reason with its reply, where else the manager commented, and any reason that
    belongs to no step (so every reason reaches the worker)."""
    note = record.last_return
    if note is None:
        return
    with st.container(border=True):
        st.warning(
            f"**Returned by {manager_words(record).lower()}** "
            f"({words.london(note.returned_at)}): "
            f"{escape_markdown(note.overall)}",
            icon=":material/undo:",
        )
        _reply(record, note, "overall", label="Your reply to your manager", where="banner")
        steps = [step for step in STEP_ORDER if step in commented_steps(record)]
        if steps:
            st.caption(
                f"{manager_words(record)} also commented on: "
                + ", ".join(step_title(step) for step in steps)
                + f'. The task list marks each "{MANAGERS_COMMENT}"'
                + ("; reply at the step." if _may_reply(record) else ".")
            )
        for step, text in note.themes.items():
            if text and step not in THEMES_BY_KEY:
                st.warning(
                    f"{manager_words(record)} says: " + escape_markdown(text),
                    icon=":material/comment:",
                )
        for finding in note.about_findings():
            if finding_step(finding) is None:
                _reason_as_returned(record, note, finding, where="banner")


def step_reason(record: ReviewRecord, step: str) -> None:
    """The manager's reason about this step, and the worker's reply."""
    note = record.last_return
    if note is None or not note.themes.get(step):
        return
    st.warning(
        f"{manager_words(record)} asks: " + escape_markdown(note.themes[step]),
        icon=":material/undo:",
    )
    _reply(record, note, f"step:{step}", label="Your reply about this step", where="step")


def finding_reason(record: ReviewRecord, finding_key: str, *, where: str) -> None:
    """The manager's reason about the finding just drawn. At its step the worker replies; in
    the gap panel the reply is shown, with where to write it."""
    note = record.last_return
    reason = note.findings.get(finding_key) if note is not None else None
    if note is None or not reason:
        return
    st.warning(
        f"{manager_words(record)} says: " + escape_markdown(reason), icon=":material/comment:"
    )
    if where == "step":
        _reply(
            record,
            note,
            f"finding:{finding_key}",
            label=f"Your reply about this finding ({check_words(check_of_finding(finding_key))})",
            where="step",
        )
        return
    reply = replies_to(record.review, note.decision_id).get(f"finding:{finding_key}", "")
    if reply:
        st.markdown(f"{reply_words(record)}: " + escape_markdown(reply))
    elif _may_reply(record):
        found = next((f for f in note.about_findings() if f.key == finding_key), None)
        step = finding_step(found) if found is not None else None
        if step is not None:
            st.caption(f"Reply to it at {step_title(step)}.")


def _reason_as_returned(
    record: ReviewRecord, note: ReturnNote, finding: ReturnedFinding, *, where: str
) -> None:
    """A reason about a finding that no longer shows as it was: what the finding said when the
    review was returned, the reason, and the reply."""
    check = f"{check_link(finding.check_id)} · " if finding.check_id else ""
    message = escape_markdown(finding.message) if finding.message else "a finding"
    st.markdown(f"**As returned** · {check}{message}")
    st.warning(
        f"{manager_words(record)} says: " + escape_markdown(finding.reason),
        icon=":material/comment:",
    )
    about = f" ({check_words(finding.check_id)})" if finding.check_id else ""
    _reply(
        record,
        note,
        f"finding:{finding.key}",
        label=f"Your reply about this finding{about}",
        where=where,
    )


def changed_finding_reasons(record: ReviewRecord, step: str, shown: set[str]) -> None:
    """Reasons about findings of this step that no longer show as they were returned (the
    worker changed what they rest on): still shown here, with what the finding said."""
    note = record.last_return
    if note is None:
        return
    for finding in note.about_findings():
        if finding.key in shown or finding_step(finding) != step:
            continue
        with st.container(border=True):
            st.caption(
                f"{manager_words(record)} commented on this finding; it no longer shows as it was."
            )
            _reason_as_returned(record, note, finding, where="step")
