"""Check your answers, rationales for cautions, the attestation and the sign-off itself."""

from __future__ import annotations

import streamlit as st

from closure_readiness.core.errors import FieldProblem
from closure_readiness.service import reviews
from closure_readiness.service.context import Principal, ServiceError
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields, session
from closure_readiness.views.findings import (
    exception_notices,
)
from closure_readiness.views.review.state import (
    commit,
    error_summary,
    key,
    problems_key,
    reload_record,
    set_step,
)
from closure_readiness.views.review.summary import answers_summary
from closure_readiness.views.safe import escape_markdown


def sign_off_step(record: ReviewRecord) -> ReviewRecord:
    st.header("Check your answers and sign off")
    report = record.report
    if report.open_blockers:
        st.info("Sign-off cannot start yet: resolve the blockers listed beside this step first.")
    answers_summary(record, change_links=True)
    cautions = list(report.findings(level="caution"))
    document = record.review.model_dump(mode="json")
    problems: list[FieldProblem] = st.session_state.pop(problems_key(record.id), [])
    summary = st.container()
    if cautions:
        st.subheader("Rationales for cautions")
        st.write("For each caution, say why closure is still right. Your manager reads these.")
        rationales = dict(document.get("rationales", {}))
        for check_id in sorted({f.check_id for f in cautions}):
            messages = "; ".join(f.message for f in cautions if f.check_id == check_id)
            text = st.text_area(
                # Labels render Markdown (images too) and messages can quote stored text.
                f"Rationale for {check_id}: {escape_markdown(messages)}",
                value=rationales.get(check_id, ""),
                max_chars=4000,
                key=key(record.id, "rationale", check_id),
            )
            if text.strip():
                rationales[check_id] = text
            else:
                rationales.pop(check_id, None)
            for message in fields.problems_at(problems, ("rationales", check_id)):
                st.error(message)
        if rationales != document.get("rationales", {}):
            document["rationales"] = rationales
            problems = commit(record, document, step="sign_off")
            record = reload_record(record)
            report = record.report
    with summary:
        error_summary(problems)
    if report.exception_notices:
        st.subheader("Exceptions that no longer resolve a gap")
        st.write(
            "Your manager granted these exceptions earlier. Read why each one no longer "
            "applies before you sign off."
        )
        exception_notices(report.exception_notices)
    st.subheader("Attestation")
    st.markdown(reviews.ATTESTATION)
    attested = st.checkbox("I confirm the statement above", key=key(record.id, "attest"))
    possible = report.sign_off_possible
    if not possible:
        st.caption(
            "The sign-off button works once no blocker is open and every caution has a rationale."
        )
    if st.button(
        "Sign off and send to my manager",
        type="primary",
        disabled=not (possible and attested),
        key=key(record.id, "sign_off"),
    ):
        principal: Principal = st.session_state["principal"]
        try:
            reviews.sign_off(
                session.context(),
                principal,
                record.id,
                seen_hash=record.content_hash,
                attested=attested,
            )
        except ServiceError as error:
            st.error(error.message)
            return record
        st.session_state["flash"] = (
            "success",
            "Signed off. Your team manager will countersign or return the review; until then it "
            "is read-only. When it is approved, the family summary is offered for sending.",
        )
        set_step("tasks")
        st.rerun()
    return record
