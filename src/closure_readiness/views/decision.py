"""A stored decision: the report first, then answers and evidence; the manager decides here,
the auditor reads it with its audit trail and integrity. Linkable: ?decision=ID."""

from __future__ import annotations

import json

import streamlit as st

from closure_readiness.checks import ReadinessReport, Resolution
from closure_readiness.checks.questions import THEMES
from closure_readiness.core.answers_text import plain
from closure_readiness.core.diff import changes
from closure_readiness.service import auditing, decisions
from closure_readiness.service.auditing import DecisionDetail
from closure_readiness.service.context import Principal, Role, ServiceError
from closure_readiness.views import fields, pages, session
from closure_readiness.views.findings import RESOLUTION_WORDS, finding_box
from closure_readiness.views.safe import escape_markdown

OUTCOME_WORDS = {
    "submitted": "Signed off, waiting for countersignature",
    "approved": "Closure approved (countersigned)",
    "returned": "Returned to the caseworker",
    "withdrawn": "Withdrawn",
}


def page() -> None:
    principal: Principal = st.session_state["principal"]
    raw = st.query_params.get("decision")
    if raw is None or not raw.isdigit():
        st.title("Decision")
        st.info("Choose a decision from the list first.")
        return
    decision_id = int(raw)
    cache_key = f"detail:{decision_id}"
    # A view is an audit event: fetch once per visit, not on every widget interaction.
    detail: DecisionDetail | None = st.session_state.get(cache_key)
    if detail is None or st.session_state.get("detail_for") != decision_id:
        try:
            detail = auditing.decision_detail(session.context(), principal, decision_id)
        except ServiceError as error:
            st.title("Decision")
            st.error(error.message)
            return
        st.session_state[cache_key] = detail
        st.session_state["detail_for"] = decision_id
    flash = st.session_state.pop("flash", None)
    decision = detail.decision
    st.title(f"Decision {decision.id}: {decision.case_reference}")
    st.caption(
        f"{OUTCOME_WORDS[decision.outcome]} · {decision.review.case.involvement.label} · "
        f"{plain(decision.review.case.closure_reason)} · team {decision.team}"
    )
    if flash:
        getattr(st, flash[0])(flash[1])
    _integrity(detail)
    _signatures(detail)
    report = decisions.recheck(decision)
    _report(report, key=f"d{decision.id}")
    _rationales_and_exceptions(report, detail.names)
    if detail.returns_before:
        _changes_since_return(detail)
    if principal.role is Role.TEAM_MANAGER and decision.outcome == "submitted":
        _decide(detail, principal, report)
    _downloads(detail, principal)
    _answers(detail)
    if principal.role is Role.AUDITOR:
        _trail(detail)


def _integrity(detail: DecisionDetail) -> None:
    if detail.intact:
        st.success(
            "Integrity verified: the seal matches the content and the audit chain records it.",
            icon=":material/verified:",
        )
    else:
        problems = "\n".join(f"- {escape_markdown(p)}" for p in detail.integrity_problems)
        st.error(
            "**Integrity check failed.** This record does not match what was sealed:\n\n"
            + problems,
            icon=":material/gpp_bad:",
        )


def _who(detail: DecisionDetail, staff_id: str | None) -> str:
    if not staff_id:
        return ""
    return f"{detail.names.get(staff_id, staff_id)}, {staff_id}"


def _signatures(detail: DecisionDetail) -> None:
    decision = detail.decision
    lines = [
        f"Signed off by {_who(detail, decision.signed_by)} on {session.london(decision.signed_at)}",
    ]
    if decision.decided_at:
        verb = {"approved": "Countersigned", "returned": "Returned", "withdrawn": "Withdrawn"}
        lines.append(
            f"{verb[decision.outcome]} by {_who(detail, decision.decided_by)} on "
            f"{session.london(decision.decided_at)}"
        )
    lines.append(f"Content hash {decision.content_hash}")
    if decision.hash_seen and decision.outcome == "approved":
        lines.append(f"Hash the manager countersigned {decision.hash_seen}")
    lines.append(f"Checks version {decision.checks_version}, as of {decision.as_of:%d/%m/%Y}")
    if detail.re_referrals:
        lines.append(f"Re-referred since: review {', '.join(map(str, detail.re_referrals))}")
    st.text("\n".join(lines))


def _report(report: ReadinessReport, *, key: str) -> None:
    st.header("Readiness report")
    st.caption(
        "Re-run on the sealed review with its stored as-of date and thresholds. "
        f"{report.passed_count} of {len(report.results)} checks pass."
    )
    open_findings = report.open_findings
    if open_findings:
        st.error("Open gaps: this review cannot be approved as it stands.")
        for index, finding in enumerate(open_findings):
            finding_box(finding, key=f"{key}.open.{index}")
    else:
        st.success("Nothing blocks approval.", icon=":material/task_alt:")


def _rationales_and_exceptions(report: ReadinessReport, names: dict[str, str]) -> None:
    resolved = [
        f for f in report.findings() if f.resolution in (Resolution.RATIONALE, Resolution.EXCEPTION)
    ]
    st.subheader("Resolved by the caseworker's rationale or a manager's exception")
    if not resolved:
        st.caption("None: every check passed outright.")
    for finding in resolved:
        with st.container(border=True):
            st.markdown(
                f"**{RESOLUTION_WORDS[finding.resolution]}** · `{finding.check_id}` · "
                + escape_markdown(finding.message)
            )
            who = names.get(finding.resolved_by, finding.resolved_by)
            label = (
                "Manager's reason"
                if finding.resolution is Resolution.EXCEPTION
                else ("Caseworker's rationale")
            )
            suffix = f" ({escape_markdown(who)})" if who else ""
            st.markdown(f"{label}{suffix}: " + escape_markdown(finding.resolution_text))


def _changes_since_return(detail: DecisionDetail) -> None:
    previous = detail.returns_before[-1]
    st.subheader("What changed since it was returned")
    reasons = previous["reasons"]
    st.caption("Reasons for returning it: " + escape_markdown(reasons.get("overall", "")))
    current = detail.decision.review.model_dump(mode="json")
    found = changes(previous["review"], current)
    if not found:
        st.warning("Nothing in the review changed since it was returned.")
        return
    st.dataframe(
        [
            {
                "What": change.path,
                "Before": json.dumps(change.before, ensure_ascii=False),
                "After": json.dumps(change.after, ensure_ascii=False),
            }
            for change in found
        ],
        hide_index=True,
    )


def _decide(detail: DecisionDetail, principal: Principal, report: ReadinessReport) -> None:
    decision = detail.decision
    st.header("Your decision")
    if decision.signed_by == principal.staff_id:
        st.info("You signed this review off yourself, so another manager must countersign it.")
        return
    ctx = session.context()
    st.write(
        "Approving countersigns exactly this content. Its hash is shown so the record shows "
        f"what you approved: `{decision.content_hash[:16]}…`"
    )
    if st.button(
        "Approve the closure (countersign)",
        type="primary",
        disabled=bool(report.open_findings),
        key=f"approve.{decision.id}",
    ):
        try:
            decisions.countersign(ctx, principal, decision.id, hash_seen=decision.content_hash)
        except ServiceError as error:
            st.error(error.message)
        else:
            st.session_state.pop(f"detail:{decision.id}", None)
            st.session_state["flash"] = (
                "success",
                "Closure approved. The decision record is sealed; download the family summary "
                "below and send it to the young person and family.",
            )
            st.rerun()
    with st.form(f"return.{decision.id}"):
        st.subheader("Or return it to the caseworker")
        overall = st.text_area(
            "Reason for returning (required)", max_chars=4000, key=f"return.{decision.id}.overall"
        )
        per_theme: dict[str, str] = {}
        with st.expander("Reasons for particular steps (shown to the caseworker at each step)"):
            for theme in THEMES:
                per_theme[theme.key] = st.text_input(
                    theme.title, max_chars=1000, key=f"return.{decision.id}.{theme.key}"
                )
        per_finding: dict[str, str] = {}
        findings = report.findings()
        if findings:
            with st.expander("Reasons about particular findings"):
                for finding in findings:
                    per_finding[finding.key] = st.text_input(
                        # Labels render Markdown (images too): escape the quoted stored text.
                        f"{finding.check_id}: " + escape_markdown(finding.message[:180]),
                        max_chars=1000,
                        key=f"return.{decision.id}.{finding.key}",
                    )
        if st.form_submit_button("Return to the caseworker"):
            try:
                decisions.return_review(
                    ctx,
                    principal,
                    decision.id,
                    overall=overall,
                    findings={k: v for k, v in per_finding.items() if v.strip()},
                    themes={k: v for k, v in per_theme.items() if v.strip()},
                )
            except ServiceError as error:
                st.error(error.message)
            else:
                st.session_state.pop(f"detail:{decision.id}", None)
                st.session_state["flash"] = (
                    "success",
                    "Returned to the caseworker with your reasons.",
                )
                pages.go("queue")


def _downloads(detail: DecisionDetail, principal: Principal) -> None:
    decision = detail.decision
    ctx = session.context()
    st.subheader("Documents")
    left, right = st.columns(2)
    left.download_button(
        "Download the decision record (PDF)",
        data=lambda: auditing.decision_record_pdf(ctx, principal, decision.id),
        file_name=f"decision-{decision.id}-{decision.case_reference}.pdf",
        mime="application/pdf",
        key=f"pdf.{decision.id}",
        on_click="ignore",
    )
    if decision.outcome == "approved":
        right.download_button(
            "Download the closure summary for the family (PDF)",
            data=lambda: auditing.family_summary_pdf(ctx, principal, decision.id),
            file_name=f"closure-summary-{decision.case_reference}.pdf",
            mime="application/pdf",
            key=f"family.{decision.id}",
            on_click="ignore",
        )


def _answers(detail: DecisionDetail) -> None:
    review = detail.decision.review
    st.header("Answers and evidence")
    by_id = {item.id: item for item in review.evidence}
    for theme in THEMES:
        answer = getattr(review.answers, theme.key)
        with st.expander(f"{theme.title}: {theme.question}"):
            cited = [fields.evidence_label(by_id[ref]) for ref in answer.cited if ref in by_id]
            st.text("Evidence cited:\n" + ("\n".join(cited) if cited else "none"))
            lines = fields.answer_lines(answer)
            st.text("\n".join(lines) if lines else "Nothing recorded.")
    st.subheader("Evidence register")
    st.dataframe(
        [
            {
                "Id": i.id,
                "Agency": i.agency.label,
                "Kind": i.kind.label,
                "Date": i.observed_on,
                "Points to": i.direction.label,
                "What it shows": i.shows,
                "Record": i.record_ref,
            }
            for i in review.evidence
        ],
        hide_index=True,
    )
    if review.incidents:
        st.subheader("Incidents")
        st.dataframe(
            [
                {
                    "Id": i.id,
                    "Kind": i.kind.label,
                    "Date": i.occurred_on,
                    "What happened": i.summary,
                }
                for i in review.incidents
            ],
            hide_index=True,
        )


def _action_words(action: str, detail: dict[str, object]) -> str:
    if action == "decided":
        return f"decision {detail.get('outcome', '')}"
    return action.replace("_", " ")


def _trail(detail: DecisionDetail) -> None:
    st.header("Audit trail")
    st.dataframe(
        [
            {
                "#": e.seq,
                "When": session.london(e.at),
                "Who": _who(detail, e.actor) or e.actor,
                "What": e.action.replace("_", " "),
                "Hash": e.hash[:16],
            }
            for e in detail.trail
        ],
        hide_index=True,
    )
