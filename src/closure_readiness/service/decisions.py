"""The team manager's use cases: the queue, countersign, return with reasons, exceptions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from closure_readiness.checks import CHECKS_VERSION, ReadinessReport, Resolution, evaluate
from closure_readiness.core.review import ManagerException, Review
from closure_readiness.core.text import LONG_TEXT_MAX
from closure_readiness.core.workflow import (
    Action,
    Outcome,
    RequestStatus,
    Transition,
    transition,
)
from closure_readiness.service.context import (
    Context,
    NotAllowed,
    NotFound,
    Principal,
    Refused,
    Role,
)
from closure_readiness.service.free_text import free_text
from closure_readiness.service.records import (
    EarlierReturn,
    ExceptionRequest,
    SealedDecision,
    refuse_disposed,
)
from closure_readiness.service.reviews import (
    earlier_returns,
    evaluated_content,
    record_outcome,
)
from closure_readiness.service.staff import ensure_active
from closure_readiness.service.viewing import Shown, decision_seen, read_then_audit
from closure_readiness.storage import audit, repositories
from closure_readiness.storage.database import ConstraintRefused, reading, writing
from closure_readiness.storage.integrity import check_decision

MAX_REASON = LONG_TEXT_MAX


@dataclass(frozen=True)
class QueueItem:
    decision_id: int
    review_id: int
    case_reference: str
    signed_by: str
    signed_by_name: str
    signed_at: str
    exceptions: int
    cautions: int
    days_waiting: int
    earlier_return: EarlierReturn | None = None
    """A review of the same case returned and withdrawn before this one was started."""


@dataclass(frozen=True)
class PendingException:
    request: ExceptionRequest
    check_title: str
    message: str
    """The finding as it stands now; empty when the data changed and the gap is gone."""
    facts: dict[str, str] = field(default_factory=dict)
    """What the check read (dates, statuses): kept with the exception if it is granted."""


@dataclass(frozen=True)
class Queue:
    submitted: list[QueueItem]
    """Sign-offs this manager may countersign or return."""
    exception_requests: list[PendingException]
    """Exception requests this manager may grant or decline."""
    own_sign_offs: list[QueueItem] = field(default_factory=list)
    """The manager's own sign-offs (made as a caseworker before a promotion): another manager
    of the team must countersign them."""
    own_exception_requests: list[PendingException] = field(default_factory=list)
    """Exception requests on the manager's own reviews or made by them: another manager of the
    team must decide them."""


def _require_manager(principal: Principal) -> None:
    if principal.role is not Role.TEAM_MANAGER:
        raise NotAllowed("Only a team manager can countersign, return or grant exceptions.")


def _reason(text: str, what: str) -> str:
    return free_text(text, what, limit=MAX_REASON)


def queue(ctx: Context, principal: Principal) -> Queue:
    """Submitted reviews of the manager's team, oldest first, and exception requests waiting.

    A manager never acts on their own work: a sign-off they made, or an exception request they
    made or that concerns their own review (a caseworker promoted to manager keeps their
    reviews), is listed apart, for another manager of the team.
    """
    _require_manager(principal)
    with reading(ctx.db_path) as db:
        ensure_active(db, principal)
        rows = repositories.submitted_for_team(db, principal.team)
        requests = repositories.pending_exception_requests_for_team(db, principal.team)
        names = repositories.staff_names(db)
        contents = {
            row["review_id"]: repositories.get_review(db, row["review_id"]) for row in requests
        }
        earlier = earlier_returns(db, [(row["case_reference"], row["review_id"]) for row in rows])
    pending: list[PendingException] = []
    own_pending: list[PendingException] = []
    for row in requests:
        review_row = contents[row["review_id"]]
        assert review_row is not None
        if transition(review_row["status"], Action.DECIDE_EXCEPTION, principal.role) is None:
            # Nothing to decide now: the review was signed off since (the request shows again
            # if it is returned), or is final (left pending before withdrawing withdrew them).
            continue
        _, report = evaluated_content(ctx, review_row["content"])
        finding = next((f for f in report.open_blockers if f.key == row["finding_key"]), None)
        title = next(r.title for r in report.results if r.id == row["check_id"])
        request = PendingException(
            request=ExceptionRequest.from_row(row),
            check_title=title,
            message=finding.message if finding else "",
            facts=finding.facts if finding else {},
        )
        own = principal.staff_id in (row["requested_by"], review_row["worker_id"])
        (own_pending if own else pending).append(request)
    submitted, own_submitted = _queue_items(rows, names, earlier, principal, ctx.now().date())
    return Queue(
        submitted=submitted,
        exception_requests=pending,
        own_sign_offs=own_submitted,
        own_exception_requests=own_pending,
    )


def _queue_items(
    rows: list[dict[str, Any]],
    names: dict[str, Any],
    earlier: dict[int, EarlierReturn],
    principal: Principal,
    today: dt.date,
) -> tuple[list[QueueItem], list[QueueItem]]:
    """The sign-offs waiting: those this manager may decide, and their own (made as a
    caseworker before a promotion), each with any earlier return it follows."""
    submitted: list[QueueItem] = []
    own_submitted: list[QueueItem] = []
    for row in rows:
        item = QueueItem(
            decision_id=row["decision_id"],
            review_id=row["review_id"],
            case_reference=row["case_reference"],
            signed_by=row["signed_by"],
            signed_by_name=str(names.get(row["signed_by"], row["signed_by"])),
            signed_at=row["signed_at"],
            exceptions=row["exceptions"],
            cautions=row["cautions"],
            days_waiting=(today - dt.datetime.fromisoformat(row["signed_at"]).date()).days,
            earlier_return=earlier.get(row["review_id"]),
        )
        (own_submitted if row["signed_by"] == principal.staff_id else submitted).append(item)
    return submitted, own_submitted


def _may_see_decision(principal: Principal, row: dict[str, Any]) -> bool:
    if principal.role is Role.AUDITOR:
        return True
    if principal.role in (Role.TEAM_MANAGER, Role.CASEWORKER):
        return bool(row["team"]) and row["team"] == principal.team
    return False


def get_decision(ctx: Context, principal: Principal, decision_id: int) -> SealedDecision:
    """A sealed decision as signed, with its outcome. Every view is an audit event."""

    def read(db: Any) -> Shown[SealedDecision]:
        row = repositories.get_decision(db, decision_id)
        if row is None or not _may_see_decision(principal, row):
            raise NotFound(f"There is no decision {decision_id} that you can see.")
        refuse_disposed(row)
        outcome = repositories.get_outcome(db, decision_id)
        return Shown(
            SealedDecision.from_rows(row, outcome),
            "decision_viewed",
            review_id=row["review_id"],
            decision_id=decision_id,
            detail=decision_seen(row, outcome),
        )

    sealed, _ = read_then_audit(ctx, principal, read)
    return sealed


def sealed_under_current_checks(decision: SealedDecision) -> bool:
    """Whether the decision was sealed under the checks this code runs (CHECKS_VERSION)."""
    return decision.checks_version == CHECKS_VERSION


def recheck(decision: SealedDecision) -> ReadinessReport:
    """The report the decision stands on, under the checks version it was sealed with.

    Sealed under the current version: the checks re-run on the sealed review with its stored
    as-of date and thresholds. Sealed under an earlier version: the sealed report itself, as
    the worker signed it; the older checks are not kept, and today's checks are not the rules
    it was signed against (see `under_current_checks` for what they would say).
    """
    if not sealed_under_current_checks(decision):
        return decision.report
    return evaluate(decision.review, as_of=decision.as_of, thresholds=decision.thresholds)


def under_current_checks(decision: SealedDecision) -> ReadinessReport | None:
    """What the current checks would say of a decision sealed under an earlier version.

    The sealed review, read in the current schema (answers added since are "not recorded"),
    evaluated as of the sealed as-of date with the sealed thresholds (settings added since
    take their defaults). None when the decision was sealed under the current checks: then
    `recheck` already is the current verdict. For the manager's judgement only: approval
    still countersigns the sealed content and its sealed report.
    """
    if sealed_under_current_checks(decision):
        return None
    return evaluate(decision.review, as_of=decision.as_of, thresholds=decision.thresholds)


def _decision_step(
    db: Any,
    row: dict[str, Any],
    action: Action,
    principal: Principal,
    *,
    outcome_checked: bool = False,
) -> Transition:
    """The table's row for the manager's outcome on a decision: its review must be waiting
    for countersignature with this decision (no outcome yet: `outcome_checked` when this
    transaction has just found none)."""
    review_row = repositories.get_review(db, row["review_id"])
    step = transition(review_row["status"], action, principal.role) if review_row else None
    decided = not outcome_checked and repositories.get_outcome(db, row["id"]) is not None
    if step is None or decided:
        raise Refused("This decision has already been countersigned, returned or withdrawn.")
    return step


def countersign_refusal(
    ctx: Context,
    principal: Principal,
    decision: SealedDecision,
    report: ReadinessReport | None = None,
) -> str | None:
    """Why this manager may not countersign the decision although the table lets them, or
    None: separation of duties (a setting, on by default), the manager granted an exception
    the sealed decision relies on (a blocker its report resolves by that exception), so
    another manager of the team must weigh it. Read by `countersign` and by the page, which
    pass the decision's `recheck` report when they have it."""
    if not ctx.separate_exception_and_countersign:
        return None
    excepted = {
        finding.key
        for finding in (report or recheck(decision)).findings()
        if finding.resolution is Resolution.EXCEPTION
    }
    if any(
        exception.manager == principal.staff_id and exception.finding in excepted
        for exception in decision.review.exceptions
    ):
        return (
            "You granted an exception this review relies on, so another manager of the team "
            "must countersign it. You can still return it."
        )
    return None


def countersign(ctx: Context, principal: Principal, decision_id: int, *, hash_seen: str) -> None:
    """Approve the closure: re-check the sealed content and record the hash seen.

    The checks re-run under the version the decision was sealed with; a decision sealed under
    an earlier version stands on its sealed report (`recheck`).

    A sealed decision and its audit events never change once written (the append-only
    triggers), so the seal, the chain and the checks are read and run in a snapshot, before
    the write lock: other writers do not queue behind them. Under the lock only what can have
    changed since is checked again: the account, the decision still there and still waiting
    (no outcome recorded meanwhile), and its seal the one seen.
    """
    _require_manager(principal)
    now = ctx.now()
    with reading(ctx.db_path) as db:
        ensure_active(db, principal)
        row = _countersignable(db, principal, decision_id, hash_seen)
        if check_decision(db, decision_id, read=(row, None)):
            raise Refused(
                "This record failed its integrity check (its seal or audit chain does not "
                "match), so it cannot be countersigned. Tell the system's support team."
            )
    sealed = SealedDecision.from_rows(row, None)
    report = recheck(sealed)
    refusal = countersign_refusal(ctx, principal, sealed, report)
    if refusal is not None:
        raise Refused(refusal)
    if not report.sign_off_possible:
        raise Refused(
            "Re-running the checks on the sealed review shows open gaps "
            f"({', '.join(f.check_id for f in report.open_findings)}); return it instead.",
            blocking=[f.check_id for f in report.open_findings],
        )
    try:
        with writing(ctx.db_path) as db:
            staff_row = ensure_active(db, principal)
            row = _countersignable(db, principal, decision_id, hash_seen)
            step = _decision_step(db, row, Action.COUNTERSIGN, principal, outcome_checked=True)
            record_outcome(
                db,
                decision_id=decision_id,
                outcome=Outcome.APPROVED,
                by=principal.staff_id,
                at=now,
                hash_seen=hash_seen,
                reasons={},
                by_row=staff_row,
            )
            repositories.set_review_status(db, row["review_id"], step.to, now.isoformat())
    except ConstraintRefused as error:
        raise Refused(f"The countersignature was refused: {error}.") from None


def _countersignable(
    db: Any, principal: Principal, decision_id: int, hash_seen: str
) -> dict[str, Any]:
    """The decision's row, if this manager may countersign it now: in their team, not signed
    off by them, no outcome yet, and sealed with the hash they saw."""
    row = repositories.get_decision(db, decision_id)
    if row is None or row["team"] != principal.team:
        raise NotFound(f"There is no decision {decision_id} in your team.")
    if row["signed_by"] == principal.staff_id:
        raise Refused(
            "You signed off this review yourself, so another manager must countersign it."
        )
    if repositories.get_outcome(db, decision_id) is not None:
        raise Refused("This decision has already been countersigned, returned or withdrawn.")
    if hash_seen != row["content_hash"]:
        raise Refused(
            "The decision you saw is not the one sealed. Reload it before countersigning."
        )
    return row


def return_review(
    ctx: Context,
    principal: Principal,
    decision_id: int,
    *,
    overall: str,
    findings: dict[str, str] | None = None,
    themes: dict[str, str] | None = None,
) -> None:
    """Send the review back to the worker with reasons, overall and per finding or step."""
    _require_manager(principal)
    overall = _reason(overall, "reason for returning the review")
    # A per-finding or per-step reason left blank (or only spaces) was not given.
    findings = {
        key: _reason(text, "reason given for a finding")
        for key, text in (findings or {}).items()
        if text.strip()
    }
    themes = {
        key: _reason(text, "reason given for a step")
        for key, text in (themes or {}).items()
        if text.strip()
    }
    now = ctx.now()
    try:
        with writing(ctx.db_path) as db:
            ensure_active(db, principal)
            row = repositories.get_decision(db, decision_id)
            if row is None or row["team"] != principal.team:
                raise NotFound(f"There is no decision {decision_id} in your team.")
            step = _decision_step(db, row, Action.RETURN, principal)
            record_outcome(
                db,
                decision_id=decision_id,
                outcome=Outcome.RETURNED,
                by=principal.staff_id,
                at=now,
                hash_seen=row["content_hash"],
                reasons={"overall": overall, "findings": findings, "themes": themes},
            )
            repositories.set_review_status(db, row["review_id"], step.to, now.isoformat())
    except ConstraintRefused as error:
        raise Refused(f"Returning the review was refused: {error}.") from None


def _decidable_request(
    db: Any, principal: Principal, request_id: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load and authorise: a pending request on a review of the manager's team, not their own,
    while the review is being prepared. Returns the request and the review's row."""
    ensure_active(db, principal)
    request = repositories.get_exception_request(db, request_id)
    review_row = repositories.get_review(db, request["review_id"]) if request else None
    if request is None or review_row is None or review_row["team"] != principal.team:
        raise NotFound(f"There is no exception request {request_id} in your team.")
    if request["status"] != RequestStatus.PENDING:
        raise Refused(f"This request has already been {request['status']}.")
    if request["requested_by"] == principal.staff_id or (
        review_row["worker_id"] == principal.staff_id
    ):
        raise Refused("You cannot decide an exception on your own review.")
    if transition(review_row["status"], Action.DECIDE_EXCEPTION, principal.role) is None:
        raise Refused("Exceptions can be decided only while the review is being prepared.")
    return request, review_row


def _grant(
    ctx: Context,
    db: Any,
    review_row: dict[str, Any],
    finding_key: str,
    principal: Principal,
    reason: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Add the manager's exception to the review, with the finding as it stands now; returns
    the version this writes and its hash, for the grant's audit event."""
    review, report = evaluated_content(ctx, review_row["content"])
    finding = next((f for f in report.open_blockers if f.key == finding_key), None)
    if finding is None:
        raise Refused(
            "The gap has changed since the exception was asked for; the worker must ask again."
        )
    # What the manager saw, kept with the exception: when the facts change, the
    # finding can say what changed since it was granted.
    exception = ManagerException(
        finding=finding.key,
        subject=finding.subject,
        facts=finding.facts,
        message=finding.message,
        reason=reason,
        manager=principal.staff_id,
        granted_on=now.date(),
    )
    updated = review.model_copy(update={"exceptions": [*review.exceptions, exception]})
    return _store_manager_change(db, review_row, updated, principal, now)


def decide_exception(
    ctx: Context, principal: Principal, request_id: int, *, grant: bool, reason: str
) -> None:
    """Grant (the finding is resolved) or decline a worker's request for an exception."""
    _require_manager(principal)
    reason = _reason(reason, "reason for your decision")
    now = ctx.now()
    with writing(ctx.db_path) as db:
        request, review_row = _decidable_request(db, principal, request_id)
        version: dict[str, Any] = {}
        if grant:
            version = _grant(ctx, db, review_row, request["finding_key"], principal, reason, now)
        repositories.decide_exception_request(
            db,
            request_id,
            status=RequestStatus.GRANTED if grant else RequestStatus.DECLINED,
            decided_by=principal.staff_id,
            decided_at=now.isoformat(),
            reason=reason,
        )
        audit.append(
            db,
            at=now,
            actor=principal.staff_id,
            action="exception_granted" if grant else "exception_declined",
            review_id=review_row["id"],
            detail={
                "request_id": request_id,
                "finding": request["finding_key"],
                "reason": reason,
                **version,
            },
        )


def _store_manager_change(
    db: Any, row: dict[str, Any], review: Review, principal: Principal, now: dt.datetime
) -> dict[str, Any]:
    """Write the review with the manager's change as its next version; returns that version
    and its hash (recorded by the grant's audit event, so the history stays in the chain)."""
    from closure_readiness.core.canonical import content_hash

    content = review.model_dump_json()
    digest = content_hash(review)
    repositories.update_review_content(
        db,
        row["id"],
        expected_version=row["version"],
        content=content,
        content_hash=digest,
        proposed_closure_on=row["proposed_closure_on"],
        case_reference=row["case_reference"],
        at=now.isoformat(),
    )
    repositories.insert_review_version(
        db,
        {
            "review_id": row["id"],
            "version": row["version"] + 1,
            "content": content,
            "content_hash": digest,
            "saved_by": principal.staff_id,
            "saved_at": now.isoformat(),
        },
    )
    return {"version": row["version"] + 1, "content_hash": digest}
