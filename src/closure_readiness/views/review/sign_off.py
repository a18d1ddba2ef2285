"""Check your answers, rationales for cautions, the summary for the family, the attestation and
the sign-off itself. The sign-off seals what this page showed (views/review/seal.py)."""

from __future__ import annotations

import streamlit as st

from closure_readiness.core.errors import FieldProblem
from closure_readiness.core.text import LONG_TEXT_MAX
from closure_readiness.core.workflow import Level
from closure_readiness.service import reviews
from closure_readiness.service.context import Conflict, Principal, ServiceError
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields, session
from closure_readiness.views.findings import (
    check_words,
    exception_notices,
)
from closure_readiness.views.review import seal
from closure_readiness.views.review.family import family_summary_section
from closure_readiness.views.review.state import (
    commit,
    error_summary,
    key,
    known_key,
    problems_key,
    regenerate,
    reload_record,
    set_step,
)
from closure_readiness.views.review.summary import answers_summary
from closure_readiness.views.safe import escape_markdown


@session.guarded
def _clicked(review_id: int) -> None:
    """Runs before the next script run: the click is kept even if the button is then drawn
    disabled (another tab added a blocker), so the worker is told why it did not go ahead."""
    st.session_state[seal.clicked_key(review_id)] = True


def sign_off_step(record: ReviewRecord) -> ReviewRecord:
    st.header("Check your answers and sign off", anchor=False)
    clicked = bool(st.session_state.pop(seal.clicked_key(record.id), False))
    seen = seal.last_seen(record.id)
    loaded_hash = record.content_hash
    if clicked and (seen is None or seen.content_hash != loaded_hash):
        # Changed elsewhere since this page was drawn: refused before anything on this page
        # is saved, so the refusal is what the worker sees, whatever else this run does.
        seal.refused(record.id, seal.what_changed(seen, record))
        clicked = False
    if record.report.open_blockers:
        st.info("Sign-off cannot start yet: resolve the blockers listed beside this step first.")
    answers_summary(record, change_links=True)
    problems: list[FieldProblem] = st.session_state.pop(problems_key(record.id), [])
    summary = st.container()
    record, problems = _rationales(record, problems)
    if record.report.exception_notices:
        st.subheader("Exceptions that no longer resolve a gap", anchor=False)
        st.write(
            "Your manager granted these exceptions earlier. Read why each one no longer "
            "applies before you sign off."
        )
        exception_notices(record.report.exception_notices)
    record, family_problems = family_summary_section(record)
    problems = [*problems, *family_problems]
    with summary:
        error_summary(problems)
    _attestation(record, problems, clicked=clicked, seen=seen, loaded_hash=loaded_hash)
    return record


def _rationales(
    record: ReviewRecord, problems: list[FieldProblem]
) -> tuple[ReviewRecord, list[FieldProblem]]:
    """A rationale for each caution, saved as typed: the record as now stored, and problems."""
    cautions = list(record.report.findings(level=Level.CAUTION))
    if not cautions:
        return record, problems
    st.subheader("Rationales for cautions", anchor=False)
    st.write("For each caution, say why closure is still right. Your manager reads these.")
    document = record.review.model_dump(mode="json")
    rationales = dict(document.get("rationales", {}))
    for check_id in sorted({f.check_id for f in cautions}):
        # Each message is a sentence: joined as sentences, never ".;".
        messages = " ".join(f.message for f in cautions if f.check_id == check_id)
        text = st.text_area(
            # Labels render Markdown (images too) and messages can quote stored text.
            f"Rationale for {check_words(check_id)}: {escape_markdown(messages)}",
            value=rationales.get(check_id, ""),
            max_chars=LONG_TEXT_MAX,
            key=key(record.id, "rationale", check_id),
        )
        if text.strip():
            rationales[check_id] = text
        else:
            rationales.pop(check_id, None)
        for message in fields.problems_at(problems, ("rationales", check_id)):
            st.error(message)
    if rationales == document.get("rationales", {}):
        return record, problems
    document["rationales"] = rationales
    problems = commit(record, document, step="sign_off")
    return reload_record(record.id), problems


def _attestation(
    record: ReviewRecord,
    problems: list[FieldProblem],
    *,
    clicked: bool,
    seen: seal.Seen | None,
    loaded_hash: str,
) -> None:
    """The attestation, the sign-off button, and the sign-off itself once it was clicked."""
    st.subheader("Attestation", anchor=False)
    st.markdown(reviews.ATTESTATION)
    attested = st.checkbox("I confirm the statement above", key=key(record.id, "attest"))
    possible = record.report.sign_off_possible
    if not possible:
        st.caption(
            "The sign-off button works once no blocker is open and every caution has a rationale."
        )
    unsaved = bool(problems)
    if unsaved:
        st.caption("Correct the problem shown at the top of this page first: it was not saved.")
    if clicked:
        _sign_off(record, seen, loaded_hash=loaded_hash, attested=attested, unsaved=unsaved)
    notice = seal.pending_refusal(record.id)
    if notice is not None:
        _changed_since_shown(record, notice)
    st.button(
        "Sign off and send to my manager",
        type="primary",
        disabled=not (possible and attested) or unsaved,
        key=key(record.id, "sign_off"),
        on_click=_clicked,
        args=(record.id,),
    )
    if notice is None:
        seal.remember(record)


def _sign_off(
    record: ReviewRecord,
    seen: seal.Seen | None,
    *,
    loaded_hash: str,
    attested: bool,
    unsaved: bool,
) -> None:
    """Seal the review as this page showed it. A change saved on this page in this same run
    (typed, then Sign off clicked) is the worker's own, on top of what they saw; any other
    difference is refused by the service and put into words."""
    if unsaved:
        st.error("The review was not signed off: your last change on this page was not saved.")
        return
    if seen is not None and seen.content_hash == loaded_hash:
        attested_hash = record.content_hash
    else:
        attested_hash = seen.content_hash if seen is not None else ""
    principal: Principal = st.session_state["principal"]
    try:
        reviews.sign_off(
            session.context(),
            principal,
            record.id,
            seen_hash=attested_hash,
            attested=attested,
        )
    except Conflict:
        seal.refused(record.id, seal.what_changed(seen, record))
        return
    except ServiceError as error:
        st.error(error.message)
        return
    seal.forget(record.id)
    st.session_state["flash"] = (
        "success",
        "Signed off. Your team manager will countersign or return the review; until then it "
        "is read-only. When it is approved, the family summary is offered for sending.",
    )
    set_step("tasks")
    st.rerun()


def _changed_since_shown(record: ReviewRecord, message: str) -> None:
    """The refusal stays until the worker asks to see the review as it is now."""
    st.error(message, icon=":material/sync_problem:")
    if st.button("Show the review as it is now", key=key(record.id, "show_as_now")):
        seal.clear_refusal(record.id)
        regenerate(record.id)
        st.session_state[known_key(record.id)] = record.version
        st.rerun()
