"""A stored decision: the report first, then answers and evidence; the manager decides here,
the auditor reads it with its audit trail and integrity. Linkable: ?decision=ID."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from pydantic import ValidationError

from closure_readiness.checks import ReadinessReport, Resolution
from closure_readiness.checks.questions import THEMES, THEMES_BY_KEY
from closure_readiness.core import words
from closure_readiness.core.answers_text import answer_lines, plain
from closure_readiness.core.diff import CASE, EVIDENCE, INCIDENTS, OTHER, changes_in_words
from closure_readiness.core.review import Review
from closure_readiness.core.workflow import Action, Outcome, ReviewStatus
from closure_readiness.service import auditing, decisions, reviews
from closure_readiness.service.auditing import DecisionDetail
from closure_readiness.service.context import Principal, Role, ServiceError
from closure_readiness.service.records import SealedDecision, check_of_finding, replies_to
from closure_readiness.views import fields, pages, session
from closure_readiness.views.findings import (
    RESOLUTION_WORDS,
    check_link,
    check_words,
    exception_notices,
    finding_box,
    route_label,
    step_of_check,
)
from closure_readiness.views.review.family import family_summary_read_only
from closure_readiness.views.safe import escape_markdown

_RETURNED = "decision.returned"
"""The decision just returned (by `_send_back`): the page goes on to the queue at once."""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


OUTCOME_WORDS = {
    ReviewStatus.SUBMITTED: ReviewStatus.SUBMITTED.label,
    **{outcome.status: _sentence(outcome.label) for outcome in Outcome},
}
"""Where a decision stands, in the words of its page's caption."""
DECIDED_WORDS = {
    Outcome.APPROVED: "Countersigned",
    Outcome.RETURNED: "Returned",
    Outcome.WITHDRAWN: "Withdrawn",
}


def may_decide(principal: Principal, decision: SealedDecision) -> bool:
    """Whether the decision page offers this person the countersignature and the return: the
    transition table, for a decision still waiting (its review is submitted)."""
    return any(
        reviews.may(
            principal,
            action,
            status=decision.outcome,
            worker_id=decision.signed_by,
            team=decision.team,
        )
        for action in (Action.COUNTERSIGN, Action.RETURN)
    )


def page() -> None:
    principal: Principal = st.session_state["principal"]
    raw = st.query_params.get("decision")
    if not raw:
        st.title("Decision", anchor=False)
        st.info("Choose a decision from the list first.")
        return
    decision_id = pages.parse_id(raw)
    if decision_id is None:
        st.title("Decision", anchor=False)
        st.error("There is no such decision.")
        return
    if st.session_state.pop(_RETURNED, None) == decision_id:
        pages.go("queue")  # returned in the button's callback; the flash is shown there
    # A view is an audit event: fetch once per visit, not on every widget interaction. Only
    # the decision on the page is kept, and only while the page is open (app.py).
    detail: DecisionDetail | None = st.session_state.get(pages.SHOWN_DECISION)
    if detail is None or detail.decision.id != decision_id:
        st.session_state.pop(pages.SHOWN_DECISION, None)
        try:
            detail = auditing.decision_detail(session.context(), principal, decision_id)
        except ServiceError as error:
            st.title("Decision", anchor=False)
            st.error(error.message)
            return
        st.session_state[pages.SHOWN_DECISION] = detail
    flash = st.session_state.pop("flash", None)
    decision = detail.decision
    st.title(f"Decision {decision.id}: {escape_markdown(decision.case_reference)}", anchor=False)
    st.caption(
        f"{OUTCOME_WORDS[decision.outcome]} · {decision.review.case.involvement.label} · "
        f"{plain(decision.review.case.closure_reason)} · team {escape_markdown(decision.team)}"
    )
    _integrity(detail)
    _signatures(detail)
    report = detail.report
    _report(report, decision, key=f"d{decision.id}")
    _rationales_and_exceptions(report, detail.names)
    _rested_on(report)
    if detail.current is not None:
        _under_current_checks(detail.current, decision, key=f"d{decision.id}.now")
    if detail.returns_before:
        _changes_since_return(detail)
    if detail.earlier_return is not None:
        earlier = detail.earlier_return
        st.warning(
            escape_markdown(earlier.heading())
            + "\n\n"
            + "\n".join(f"- {escape_markdown(line)}" for line in earlier.reason_lines())
        )
    family_summary_read_only(decision.review)
    if flash:  # what came of the manager's decision, where they made it
        getattr(st, flash[0])(flash[1])
    if may_decide(principal, decision):
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
        f"Signed off by {_who(detail, decision.signed_by)} on {words.london(decision.signed_at)}",
    ]
    if decision.decided_at:
        lines.append(
            f"{DECIDED_WORDS[Outcome(decision.outcome)]} by {_who(detail, decision.decided_by)} on "
            f"{words.london(decision.decided_at)}"
        )
    if decision.outcome == ReviewStatus.WITHDRAWN and decision.reasons.get("overall"):
        lines.append(f"Reason for withdrawing: {decision.reasons['overall']}")  # (st.text: raw)
    lines.append(f"Content hash {decision.content_hash}")
    if decision.hash_seen and decision.outcome == ReviewStatus.APPROVED:
        lines.append(f"Hash the manager countersigned {decision.hash_seen}")
    lines.append(f"Checks version {decision.checks_version}, as of {words.day(decision.as_of)}")
    lines.append(decision.retention)
    if detail.re_referrals:
        lines.append(f"Re-referred since: review {', '.join(map(str, detail.re_referrals))}")
    st.text("\n".join(lines))


def _route_line(report: ReadinessReport) -> None:
    label = route_label(report)
    if label:
        st.markdown(f"Closure route: {label}")
    else:
        st.markdown(
            f"Closure route: not recorded (checks {report.checks_version} did not choose the "
            "questions by closure route)"
        )


def _report(report: ReadinessReport, decision: SealedDecision, *, key: str) -> None:
    st.header("Readiness report", anchor=False)
    if decisions.sealed_under_current_checks(decision):
        how = (
            f"Re-run under checks {report.checks_version} on the sealed review, with its stored "
            "as-of date and thresholds."
        )
    else:
        how = (
            f"The report sealed at sign-off under checks {decision.checks_version}. Those checks "
            "are no longer kept, so it is shown as sealed, not re-run."
        )
    st.caption(f"{how} {report.summary()}")
    _route_line(report)
    open_findings = report.open_findings
    if open_findings:
        st.error("Open gaps: this review cannot be approved as it stands.")
        for index, finding in enumerate(open_findings):
            finding_box(finding, key=f"{key}.open.{index}")
    else:
        st.success("Nothing blocks approval.", icon=":material/task_alt:")
    exception_notices(report.exception_notices)


def _rationales_and_exceptions(report: ReadinessReport, names: dict[str, str]) -> None:
    resolved = [
        f for f in report.findings() if f.resolution in (Resolution.RATIONALE, Resolution.EXCEPTION)
    ]
    st.subheader("Resolved by the caseworker's rationale or a manager's exception", anchor=False)
    if not resolved:
        st.caption("None: every check passed outright.")
    for finding in resolved:
        with st.container(border=True):
            st.markdown(
                f"**{RESOLUTION_WORDS[finding.resolution]}** · {check_link(finding.check_id)} · "
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


def _rested_on(report: ReadinessReport) -> None:
    """What each passing check rested on, so the manager judges the answers, not a tick."""
    resting = [r for r in report.results if r.passed and r.applicable and r.rests_on]
    if not resting:
        return
    with st.expander(f"What the passing checks rested on ({len(resting)})"):
        for result in resting:
            lines = [f"{result.id} {result.title}"]
            lines += [f"    {question}: {answer}" for question, answer in result.rests_on]
            st.text("\n".join(lines))
    skipped = [r.id for r in report.results if not r.applicable]
    if skipped:
        st.caption(f"Not asked on this route ({len(skipped)}): {', '.join(skipped)}.")


def _under_current_checks(current: ReadinessReport, decision: SealedDecision, *, key: str) -> None:
    """A decision sealed under older checks: what today's checks say, for the manager's
    judgement. Approval still countersigns the sealed review and its sealed report."""
    st.header(f"Under the current checks ({current.checks_version})", anchor=False)
    st.caption(
        f"This review was signed off under checks {decision.checks_version}. Here is what the "
        f"current checks say of the same sealed review, as of {words.day(decision.as_of)}; "
        "questions added since it was sealed show as not recorded. Approving still "
        "countersigns the review as sealed (its hash above), not this report. "
        f"{current.summary()}"
    )
    _route_line(current)
    if current.open_findings:
        st.warning(
            f"Under the current checks ({current.checks_version}) this review has "
            + (
                "1 open gap. Weigh it before you approve; return the review if it matters."
                if len(current.open_findings) == 1
                else f"{len(current.open_findings)} open gaps. Weigh them before you approve; "
                "return the review if they matter."
            )
        )
        for index, finding in enumerate(current.open_findings):
            finding_box(finding, key=f"{key}.open.{index}")
    else:
        st.success(
            f"Under the current checks ({current.checks_version}) nothing blocks approval either.",
            icon=":material/task_alt:",
        )
    exception_notices(current.exception_notices)


_GROUP_TITLES = {CASE: "Case details", EVIDENCE: "Evidence register", INCIDENTS: "Incidents"}
_GROUP_ORDER = (CASE, EVIDENCE, INCIDENTS, *(theme.key for theme in THEMES), OTHER)


def _group_title(step: str) -> str:
    if step in THEMES_BY_KEY:
        return THEMES_BY_KEY[step].title
    return _GROUP_TITLES.get(step, "Other changes and reasons")


def _finding_step(finding_key: str) -> str:
    check_id = check_of_finding(finding_key)
    step = step_of_check(check_id) if check_id else OTHER
    return step if step in _GROUP_ORDER else OTHER


@dataclass
class _StepReturn:
    """One step of the review as the manager reads it after a return: the reasons given for it,
    the caseworker's replies, and what changed there."""

    reasons: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(what the reason is about, in Markdown, or ""; its label; the reason; the reply)."""
    changes: list[str] = field(default_factory=list)


def _since_return(
    detail: DecisionDetail, earlier: Review | None, previous: dict[str, Any]
) -> dict[str, _StepReturn]:
    """The reasons, replies and changes of each step, for the steps that have any."""
    reasons = previous["reasons"]
    replies = replies_to(detail.decision.review, previous["decision_id"])
    steps: dict[str, _StepReturn] = {}
    for step, text in (reasons.get("themes") or {}).items():
        if text:
            group = step if step in THEMES_BY_KEY else OTHER
            label = "Manager's reason for this step" if group == step else "Manager's reason"
            reply = replies.get(f"step:{step}", "")
            steps.setdefault(group, _StepReturn()).reasons.append(("", label, text, reply))
    messages: dict[str, str] = previous.get("finding_messages") or {}
    now = {f.key: f.message for f in detail.report.findings()}
    for finding_key, text in (reasons.get("findings") or {}).items():
        if not text:
            continue
        check_id = check_of_finding(finding_key)
        message = messages.get(finding_key) or now.get(finding_key, "")
        about = "About the finding" + (f" {check_link(check_id)}" if check_id else "")
        if message:
            about += ": " + escape_markdown(message)
        reply = replies.get(f"finding:{finding_key}", "")
        steps.setdefault(_finding_step(finding_key), _StepReturn()).reasons.append(
            (about, "Manager's reason", text, reply)
        )
    if earlier is not None:
        for change in changes_in_words(
            earlier, detail.decision.review, check_step=step_of_check, check_name=check_words
        ):
            group = change.step if change.step in _GROUP_ORDER else OTHER
            steps.setdefault(group, _StepReturn()).changes.append(change.text)
    return steps


def _reason_lines(reasons: list[tuple[str, str, str, str]]) -> str:
    lines = []
    for about, label, text, reply in reasons:
        if about:
            lines.append(about)
        lines.append(f"**{label}:** {escape_markdown(text)}")
        answer = escape_markdown(reply) if reply else "no reply"
        lines.append(f"Caseworker's reply: {answer}")
    return "\n\n".join(lines)


def _changes_since_return(detail: DecisionDetail) -> None:
    """What changed since the last return, in words, step by step, beside the reasons the
    review was returned with and the caseworker's one-line replies to them."""
    previous = detail.returns_before[-1]
    st.subheader("What changed since it was returned", anchor=False)
    st.caption(
        f"Returned on {words.london(previous['decided_at'])}. Each step below shows the "
        "reasons it was returned with, the caseworker's reply and what changed there."
    )
    overall = previous["reasons"].get("overall", "")
    replies = replies_to(detail.decision.review, previous["decision_id"])
    with st.container(border=True):
        st.markdown(
            _reason_lines(
                [("", "Manager's reason for returning it", overall, replies.get("overall", ""))]
            )
        )
    earlier: Review | None
    try:
        earlier = Review.model_validate(previous["review"])
    except ValidationError:
        earlier = None
        st.warning("The review as returned could not be read, so the changes cannot be shown.")
    steps = _since_return(detail, earlier, previous)
    if earlier is not None and not any(step.changes for step in steps.values()):
        st.warning("Nothing in the review changed since it was returned.")
    for name in _GROUP_ORDER:
        step = steps.get(name)
        if step is None:
            continue
        with st.container(border=True):
            st.markdown(f"**{_group_title(name)}**")
            if step.reasons:
                changed, reasons = st.columns([3, 2], gap="medium")
                reasons.markdown(_reason_lines(step.reasons))
            else:
                changed = st.container()
            if step.changes:
                changed.markdown("\n".join(f"- {escape_markdown(text)}" for text in step.changes))
            else:
                changed.caption("Nothing changed at this step.")


def _decide(detail: DecisionDetail, principal: Principal, report: ReadinessReport) -> None:
    decision = detail.decision
    st.header("Your decision", anchor=False)
    if decision.signed_by == principal.staff_id:
        st.info("You signed this review off yourself, so another manager must countersign it.")
        return
    _approve(detail, principal, report)
    _return_form(detail, report)


def _approve(detail: DecisionDetail, principal: Principal, report: ReadinessReport) -> None:
    """The hash being approved, what the current checks say, and the countersign button."""
    decision = detail.decision
    refusal = decisions.countersign_refusal(session.context(), principal, decision, detail.report)
    if refusal is not None:
        st.info(refusal)
        return
    st.write(
        "Approving countersigns exactly this content. Its hash is shown so the record shows "
        f"what you approved: `{decision.content_hash[:16]}…`"
    )
    if detail.current is not None and detail.current.open_findings:
        st.info(
            f"Approving countersigns the review as sealed under checks {decision.checks_version}. "
            f"The current checks ({detail.current.checks_version}) find "
            f"{len(detail.current.open_findings)} open "
            f"gap{'' if len(detail.current.open_findings) == 1 else 's'} in it, shown above."
        )
    # Countersigned in the click's callback, before the page is drawn: one run shows the
    # outcome (a countersign then a rerun drew the page twice).
    st.button(
        "Approve the closure (countersign)",
        type="primary",
        disabled=bool(report.open_findings),
        key=f"approve.{decision.id}",
        on_click=_countersign,
        args=(decision.id, decision.content_hash),
    )


@session.guarded
def _countersign(decision_id: int, hash_seen: str) -> None:
    """The manager's approval of the decision they saw (sealed with `hash_seen`). Approved or
    refused, the page reads the decision again, so it shows what is stored now; a refusal is
    shown where the decision is made (`session.guarded`)."""
    st.session_state.pop(pages.SHOWN_DECISION, None)
    principal: Principal = st.session_state["principal"]
    decisions.countersign(session.context(), principal, decision_id, hash_seen=hash_seen)
    st.session_state["flash"] = (
        "success",
        "Closure approved. The decision record is sealed; download the family summary "
        "below and send it to the young person and family.",
    )


def _return_form(detail: DecisionDetail, report: ReadinessReport) -> None:
    """Return to the caseworker: a reason overall, and optionally per step and per finding.

    Returned in the button's callback, before the page is drawn: the run that follows goes
    straight on to the queue (a return during the run drew the decision page first)."""
    decision = detail.decision
    with st.form(f"return.{decision.id}"):
        st.subheader("Or return it to the caseworker", anchor=False)
        st.text_area(
            "Reason for returning (required)",
            max_chars=decisions.MAX_REASON,
            key=f"return.{decision.id}.overall",
        )
        _step_reasons(decision.id)
        findings = _finding_reasons(decision.id, report)
        refusal = st.session_state.pop(f"return.{decision.id}.refused", None)
        if refusal:  # said in the form, beside the button that was pressed
            st.error(refusal)
        st.form_submit_button(
            "Return to the caseworker",
            on_click=_send_back,
            args=(decision.id, findings),
        )


@session.guarded
def _send_back(decision_id: int, findings: list[str]) -> None:
    """Return the review with the reasons typed (the service leaves out the blank ones), then
    on to the queue; a refusal is said in the form."""
    typed = st.session_state
    principal: Principal = typed["principal"]
    try:
        decisions.return_review(
            session.context(),
            principal,
            decision_id,
            overall=typed.get(f"return.{decision_id}.overall", ""),
            findings={key: typed.get(f"return.{decision_id}.{key}", "") for key in findings},
            themes={t.key: typed.get(f"return.{decision_id}.{t.key}", "") for t in THEMES},
        )
    except ServiceError as error:
        typed[f"return.{decision_id}.refused"] = error.message
        return
    typed.pop(pages.SHOWN_DECISION, None)
    typed["flash"] = ("success", "Returned to the caseworker with your reasons.")
    typed[_RETURNED] = decision_id


def _step_reasons(decision_id: int) -> None:
    """A reason field per step, folded away."""
    with st.expander("Reasons for particular steps (shown to the caseworker at each step)"):
        for theme in THEMES:
            st.text_input(
                theme.title,
                max_chars=decisions.MAX_REASON,
                key=f"return.{decision_id}.{theme.key}",
            )


def _finding_reasons(decision_id: int, report: ReadinessReport) -> list[str]:
    """A reason field per finding of the report, folded away; the findings' keys."""
    findings = report.findings()
    if findings:
        with st.expander("Reasons about particular findings"):
            for finding in findings:
                st.text_input(
                    # Labels render Markdown (images too): escape the quoted stored text.
                    escape_markdown(f"{check_words(finding.check_id)}: {finding.message}"[:240]),
                    max_chars=decisions.MAX_REASON,
                    key=f"return.{decision_id}.{finding.key}",
                )
    return [finding.key for finding in findings]


def _downloads(detail: DecisionDetail, principal: Principal) -> None:
    decision = detail.decision
    ctx = session.context()
    st.subheader("Documents", anchor=False)
    left, right = st.columns(2)
    left.download_button(
        "Download the decision record (PDF)",
        data=session.download_data(
            lambda: auditing.decision_record_pdf(ctx, principal, decision.id)
        ),
        file_name=f"decision-{decision.id}-{decision.case_reference}.pdf",
        mime="application/pdf",
        key=f"pdf.{decision.id}",
        on_click="ignore",
    )
    if decision.outcome == ReviewStatus.APPROVED:
        right.download_button(
            "Download the closure summary for the family (PDF)",
            data=session.download_data(
                lambda: auditing.family_summary_pdf(ctx, principal, decision.id)
            ),
            file_name=f"closure-summary-{decision.case_reference}.pdf",
            mime="application/pdf",
            key=f"family.{decision.id}",
            on_click="ignore",
        )


def _answers(detail: DecisionDetail) -> None:
    review = detail.decision.review
    st.header("Answers and evidence", anchor=False)
    by_id = {item.id: item for item in review.evidence}
    for theme in THEMES:
        answer = getattr(review.answers, theme.key)
        with st.expander(f"{theme.title}: {theme.question}"):
            cited = [fields.evidence_label(by_id[ref]) for ref in answer.cited if ref in by_id]
            st.text("Evidence cited:\n" + ("\n".join(cited) if cited else "none"))
            lines = answer_lines(answer)
            st.text("\n".join(lines) if lines else "Nothing recorded.")
    st.subheader("Evidence register", anchor=False)
    st.dataframe(
        [
            {
                "Id": i.id,
                "Agency": i.agency.label,
                "Kind": i.kind.label,
                "Date": words.day(i.observed_on),
                "Points to": i.direction.label,
                "What it shows": i.shows,
                "Record": i.record_ref,
            }
            for i in review.evidence
        ],
        hide_index=True,
    )
    if review.incidents:
        st.subheader("Incidents", anchor=False)
        st.dataframe(
            [
                {
                    "Id": i.id,
                    "Kind": i.kind.label,
                    "Date": words.day(i.occurred_on),
                    "What happened": i.summary,
                }
                for i in review.incidents
            ],
            hide_index=True,
        )


_OUTCOME_WORDS: dict[str, str] = {
    outcome: outcome.label for outcome in (Outcome.APPROVED, Outcome.RETURNED)
}


def action_words(action: str, detail: dict[str, object]) -> str:
    """What an audit event records, in words: a manager's decision says which it was."""
    if action == "decided":
        return _OUTCOME_WORDS.get(str(detail.get("outcome")), "decision recorded")
    return action.replace("_", " ")


def _trail(detail: DecisionDetail) -> None:
    st.header("Audit trail", anchor=False)
    st.dataframe(
        [
            {
                "#": e.seq,
                "When": words.london(e.at),
                "Who": _who(detail, e.actor) or e.actor,
                "What": action_words(e.action, e.detail),
                "Hash": e.hash[:16],
            }
            for e in detail.trail
        ],
        hide_index=True,
    )
