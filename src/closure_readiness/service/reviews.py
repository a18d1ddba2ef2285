"""The caseworker's use cases: start, save, evaluate, sign off, withdraw, ask for an exception."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from closure_readiness.checks import Finding, ReadinessReport, Thresholds, evaluate
from closure_readiness.checks.runner import CHECKS_VERSION
from closure_readiness.core.canonical import canonical_json, content_hash
from closure_readiness.core.case_reference import new_reference
from closure_readiness.core.dates import add_months
from closure_readiness.core.errors import explain
from closure_readiness.core.retention import DEFAULT_POLICY, RetentionPolicy
from closure_readiness.core.review import Case, Review, refuse_lax_values
from closure_readiness.core.seal import ATTESTATION as ATTESTATION
from closure_readiness.core.seal import DECISION_FORMAT as DECISION_FORMAT
from closure_readiness.core.seal import (
    SealedDecisionDoc,
    SealedOutcomeDoc,
    SealedRetention,
    evidence_register,
    seal_hash,
)
from closure_readiness.core.sized_cache import SizedCache, digest
from closure_readiness.core.text import LONG_TEXT_MAX
from closure_readiness.core.workflow import (
    Action,
    Outcome,
    RequestStatus,
    ReviewStatus,
    Transition,
    rows_for,
    transition,
)
from closure_readiness.service.context import (
    Conflict,
    Context,
    InvalidInput,
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
    ReturnNote,
    ReviewRecord,
    ReviewSummary,
)
from closure_readiness.service.staff import ensure_active
from closure_readiness.storage import audit, queries, repositories, versions
from closure_readiness.storage.database import ConstraintRefused, reading, writing


def evaluate_review(ctx: Context, review: Review) -> ReadinessReport:
    """The report the worker sees: as of the proposed closure date, configured thresholds."""
    return evaluate(review, as_of=review.case.proposed_closure_on, thresholds=ctx.thresholds)


CACHED_REVIEWS_BUDGET = 2_000_000
"""How much stored review JSON (in characters) the cache below stands for: parsed and checked,
an entry takes about 14 times its JSON (about 150 KiB for a 30-item review, docs/performance.md),
so the cache holds at most about 28 MiB, however large the reviews grow: about 180 reviews of
30 items, or 25 of 200, for every session of a server at once."""


@dataclass
class _Parsed:
    """A stored review parsed, and its report under each set of thresholds asked for."""

    review: Review
    reports: dict[Thresholds, ReadinessReport] = field(default_factory=dict)


_reviews: SizedCache[_Parsed] = SizedCache(CACHED_REVIEWS_BUDGET)
"""One entry per distinct stored content: the parsed review and its reports leave together."""


def _parsed(content: str) -> _Parsed:
    return _reviews.get(
        digest(content), len(content), lambda: _Parsed(Review.model_validate_json(content))
    )


def _load(content: str) -> Review:
    """A stored review, parsed once per distinct content: the model is frozen, so one parse
    serves every reader (a save reads the content the page has just shown)."""
    return _parsed(content).review


def _evaluated(content: str, thresholds: Thresholds) -> tuple[Review, ReadinessReport]:
    """A stored review and its report, worked out once per distinct content and thresholds.

    Every rerun of a page showing a review, and every row of a list, read the same stored
    JSON: validating it and running the checks again each time cost more than the database.
    The checks depend only on the review (its proposed closure date included) and the
    thresholds, and both models are frozen, so one result serves every session. Two sessions
    missing the same report at once both work it out; either is kept (they are equal).
    """
    entry = _parsed(content)
    report = entry.reports.get(thresholds)
    if report is None:
        as_of = entry.review.case.proposed_closure_on
        report = evaluate(entry.review, as_of=as_of, thresholds=thresholds)
        entry.reports[thresholds] = report
    return entry.review, report


def evaluated_content(ctx: Context, content: str) -> tuple[Review, ReadinessReport]:
    """A stored review's content parsed and its report (`evaluate_review`), worked out once
    per distinct content and thresholds for every page and use case that reads it."""
    return _evaluated(content, ctx.thresholds)


def forget_evaluations() -> None:
    """Empty the caches of parsed and evaluated reviews (tests that count evaluations)."""
    _reviews.clear()


def _may_read(principal: Principal, row: dict[str, Any]) -> bool:
    if principal.role is Role.AUDITOR:
        return True
    if principal.role in (Role.CASEWORKER, Role.TEAM_MANAGER):
        return bool(row["team"]) and row["team"] == principal.team
    return False


def _require_caseworker(principal: Principal) -> None:
    if principal.role is not Role.CASEWORKER:
        raise NotAllowed("Only a caseworker can prepare and sign off a closure review.")


def _may_as(principal: Principal, action: Action, *, worker_id: str, team: str) -> bool:
    """Whether the principal's role, team and allocation let them take `action` in some state:
    the table has a row for their role, the review is their team's, and, where the row says
    so, it is allocated to them."""
    rows = rows_for(action, principal.role)
    if not rows or not team or team != principal.team:
        return False
    return not any(row.own_only for row in rows) or worker_id == principal.staff_id


def may(
    principal: Principal,
    action: Action,
    *,
    status: str,
    worker_id: str,
    team: str,
    signed_by: str = "",
) -> bool:
    """Whether `principal` may take `action` on a review in `status` now: the transition table
    has a row for (status, action, their role), the review is in their team, allocated to them
    where the row is own-only, and a countersignature is never by the one who signed off
    (`signed_by`). The one rule, read by the use cases and by the pages offering a button."""
    if transition(status, action, principal.role) is None:
        return False
    if action is Action.COUNTERSIGN and signed_by == principal.staff_id:
        return False
    return _may_as(principal, action, worker_id=worker_id, team=team)


def _require_own_editable(
    principal: Principal, row: dict[str, Any], action: Action = Action.EDIT
) -> Transition:
    """The table's row letting the allocated caseworker take `action` on this review now."""
    if not rows_for(action, principal.role):
        raise NotAllowed("Only a caseworker can prepare and sign off a closure review.")
    if not _may_as(principal, action, worker_id=row["worker_id"], team=row["team"]):
        raise NotAllowed("Only the allocated worker can change or sign off this review.")
    step = transition(row["status"], action, principal.role)
    if step is None:
        raise Refused(f"This review is {row['status']} and can no longer be changed.")
    return step


def _row_or_missing(db: Any, review_id: int, principal: Principal) -> dict[str, Any]:
    row = repositories.get_review(db, review_id)
    if row is None or not _may_read(principal, row):
        raise NotFound(f"There is no review {review_id} that you can see.")
    return row


def _new_review(ctx: Context, principal: Principal, case: Case | dict[str, Any]) -> Review:
    """Validate: the case as entered (its reference held to the council's rule), allocated to
    the caseworker starting it, in a review with nothing else yet."""
    try:
        typed = case.model_dump() if isinstance(case, Case) else case
        case = Case.model_validate(typed, context=new_reference(ctx.case_reference_pattern))
        case = case.model_copy(
            update={"allocated_worker": principal.staff_id, "team": principal.team}
        )
        return Review(case=case)
    except ValidationError as error:
        raise InvalidInput("Check the case details.", problems=explain(error, Case)) from None


def _already_open(reference: str) -> Refused:
    return Refused(f"Case {reference} already has an open closure review; continue that one.")


def _re_referral_of(ctx: Context, db: Any, reference: str, now: dt.datetime) -> int | None:
    """The review whose approved closure this case comes back within the re-referral window
    of, if any."""
    approval = repositories.last_approval_for_case(db, reference)
    if approval is None:
        return None
    approved_on = dt.datetime.fromisoformat(approval["decided_at"]).date()
    if now.date() <= add_months(approved_on, ctx.thresholds.re_referral_window_months):
        return int(approval["review_id"])
    return None


def _store_version(
    db: Any, review_id: int, version: int, content: str, digest: str, by: str, at: dt.datetime
) -> None:
    """Keep this version of the review's content in its history."""
    repositories.insert_review_version(
        db,
        {
            "review_id": review_id,
            "version": version,
            "content": content,
            "content_hash": digest,
            "saved_by": by,
            "saved_at": at.isoformat(),
        },
    )


_LATEST = 2**63 - 1
"""Larger than any review id SQLite can hold: "before the review being started"."""


def earlier_return(db: Any, case_reference: str, review_id: int) -> EarlierReturn | None:
    """A review of this case returned and then withdrawn before `review_id` was started
    (since the case's last approved closure), with the reasons it was returned with."""
    return earlier_returns(db, [(case_reference, review_id)]).get(review_id)


def earlier_returns(db: Any, wanted: list[tuple[str, int]]) -> dict[int, EarlierReturn]:
    """`earlier_return` for many (case reference, review id) pairs at once, by review id."""
    return {
        review_id: EarlierReturn(review_id=row["review_id"], note=ReturnNote.from_decision(row))
        for review_id, row in queries.withdrawn_returns_before(db, wanted).items()
    }


def _insert_review(
    db: Any,
    principal: Principal,
    review: Review,
    re_referral_of: int | None,
    now: dt.datetime,
    follows_return_of: int | None = None,
) -> int:
    """Write the new draft and its first version, and audit the start; returns its id. The
    start names the earlier review returned and withdrawn it follows, if any."""
    case = review.case
    content = review.model_dump_json()
    digest = content_hash(review)
    review_id = repositories.insert_review(
        db,
        {
            "case_reference": case.case_reference,
            "team": principal.team,
            "worker_id": principal.staff_id,
            "content": content,
            "content_hash": digest,
            "proposed_closure_on": case.proposed_closure_on.isoformat(),
            "re_referral_of": re_referral_of,
            "created_at": now.isoformat(),
        },
    )
    _store_version(db, review_id, 1, content, digest, principal.staff_id, now)
    audit.append(
        db,
        at=now,
        actor=principal.staff_id,
        action="review_started",
        review_id=review_id,
        detail={
            "case_reference": case.case_reference,
            "re_referral_of": re_referral_of,
            "team": principal.team,
            "version": 1,
            "content_hash": digest,
            **({"follows_return_of": follows_return_of} if follows_return_of else {}),
        },
    )
    return review_id


def start_review(ctx: Context, principal: Principal, case: Case | dict[str, Any]) -> int:
    """Open a draft review for a case. Linked as a re-referral inside the re-referral window."""
    _require_caseworker(principal)
    review = _new_review(ctx, principal, case)
    reference = review.case.case_reference
    now = ctx.now()
    try:
        with writing(ctx.db_path) as db:
            ensure_active(db, principal)
            if repositories.open_review_for_case(db, reference) is not None:
                raise _already_open(reference)
            re_referral_of = _re_referral_of(ctx, db, reference, now)
            earlier = earlier_return(db, reference, _LATEST)
            follows = earlier.review_id if earlier else None
            return _insert_review(db, principal, review, re_referral_of, now, follows)
    except ConstraintRefused:
        raise _already_open(reference) from None


def get_review(ctx: Context, principal: Principal, review_id: int) -> ReviewRecord:
    with reading(ctx.db_path) as db:
        ensure_active(db, principal)
        row = _row_or_missing(db, review_id, principal)
        requests = repositories.exception_requests_for_review(db, review_id)
        decisions = repositories.decisions_for_review(db, review_id)
        pending = repositories.pending_decision(db, review_id)
    review, report = _evaluated(row["content"], ctx.thresholds)
    last_return = None
    status = ReviewStatus(row["status"])
    for decision in reversed(decisions if status is ReviewStatus.RETURNED else []):
        if decision["outcome"] == Outcome.RETURNED:
            last_return = ReturnNote.from_decision(decision)
            break
    return ReviewRecord(
        id=row["id"],
        status=status,
        version=row["version"],
        worker_id=row["worker_id"],
        team=row["team"],
        case_reference=row["case_reference"],
        content_hash=row["content_hash"],
        review=review,
        report=report,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        re_referral_of=row["re_referral_of"],
        last_return=last_return if status is ReviewStatus.RETURNED else None,
        exception_requests=[ExceptionRequest.from_row(r) for r in requests],
        pending_decision_id=pending["id"] if pending else None,
    )


def list_reviews(ctx: Context, principal: Principal, *, mine: bool = True) -> list[ReviewSummary]:
    """The worker's own reviews (or the team's), newest change first, with open gaps counted."""
    if principal.role not in (Role.CASEWORKER, Role.TEAM_MANAGER):
        raise NotAllowed("Only caseworkers and team managers have a list of reviews.")
    with reading(ctx.db_path) as db:
        ensure_active(db, principal)
        if mine and principal.role is Role.CASEWORKER:
            rows = repositories.list_reviews(db, worker_id=principal.staff_id)
        else:
            rows = repositories.list_reviews(db, team=principal.team)
    summaries = []
    for row in rows:
        _, report = _evaluated(row["content"], ctx.thresholds)
        summaries.append(
            ReviewSummary(
                id=row["id"],
                case_reference=row["case_reference"],
                status=ReviewStatus(row["status"]),
                worker_id=row["worker_id"],
                proposed_closure_on=row["proposed_closure_on"],
                open_blockers=len(report.open_blockers),
                open_cautions=len(report.open_cautions),
                updated_at=row["updated_at"],
                re_referral_of=row["re_referral_of"],
            )
        )
    return summaries


def _without_exceptions(content: str | dict[str, Any]) -> str:
    document = dict(json.loads(content) if isinstance(content, str) else content)
    document.pop("exceptions", None)
    return canonical_json(document)


def _validated(review: Review | dict[str, Any]) -> Review:
    """The service's own validation of what the worker sends, the one gate of a save. A Review
    is not trusted either: one made by copying or constructing was never validated."""
    document = review.model_dump() if isinstance(review, Review) else review
    try:
        if not isinstance(review, Review):
            refuse_lax_values(document)  # a document from outside is strictly typed
        return Review.model_validate(document)
    except ValidationError as error:
        raise InvalidInput(
            "Some answers need correcting.", problems=explain(error, Review)
        ) from None


def _with_record_fields(review: Review, row: dict[str, Any]) -> Review:
    """The worker's review with what is not theirs to change taken from the record: the
    allocation (worker and team) and the manager's exceptions, whatever the worker sent.

    No second validation: the review passed the gate, the exceptions are the stored review's,
    and the worker and team are the record's own (no rule of the review reads them)."""
    stored = _load(row["content"])
    if review.case.case_reference != stored.case.case_reference:
        raise Refused("The case reference of a review cannot change; start a new review.")
    case = review.case.model_copy(
        update={"allocated_worker": row["worker_id"], "team": row["team"]}
    )
    return review.model_copy(update={"exceptions": stored.exceptions, "case": case})


def _refuse_if_changed_elsewhere(db: Any, row: dict[str, Any], expected_version: int) -> None:
    """Conflict when the review was saved elsewhere since `expected_version`, unless the only
    change since then is a manager's exception."""
    if expected_version == int(row["version"]):
        return
    seen = versions.document_at(db, row["id"], expected_version)
    if seen is None or _without_exceptions(seen) != _without_exceptions(row["content"]):
        raise Conflict(
            "This review was changed in another tab or window since you opened it. "
            "Reload to see the latest version; your unsaved change was not stored."
        )


def _write_saved(
    db: Any, principal: Principal, row: dict[str, Any], review: Review, now: dt.datetime
) -> int:
    """Write the review's new content, version and evidence register, and audit the save;
    returns the new version (the current one when nothing changed)."""
    review_id, version = row["id"], int(row["version"])
    content = review.model_dump_json()
    document = json.loads(content)
    digest = content_hash(document)
    if digest == row["content_hash"]:
        return version
    repositories.update_review_content(
        db,
        review_id,
        expected_version=version,
        content=content,
        content_hash=digest,
        proposed_closure_on=review.case.proposed_closure_on.isoformat(),
        case_reference=review.case.case_reference,
        at=now.isoformat(),
    )
    # A saved step is kept as a delta against the version before it (the review's content
    # until now), unless it must be whole (storage.versions); its hash is the whole content's.
    previous = json.loads(row["content"])
    kept = versions.stored_text(version + 1, previous, document, content, digest)
    _store_version(db, review_id, version + 1, kept, digest, principal.staff_id, now)
    repositories.replace_evidence(db, review_id, evidence_register(document))
    audit.append(
        db,
        at=now,
        actor=principal.staff_id,
        action="review_saved",
        review_id=review_id,
        detail={"version": version + 1, "content_hash": digest},
    )
    return version + 1


def save_review(
    ctx: Context,
    principal: Principal,
    review_id: int,
    review: Review | dict[str, Any],
    *,
    expected_version: int,
) -> int:
    """Save the worker's answers and evidence; returns the new version.

    Refuses with Conflict when the review was saved elsewhere (another tab) since
    `expected_version`, unless the only change since then is a manager's exception.
    Exceptions are the manager's: whatever the worker sends, the stored ones are kept.
    """
    review = _validated(review)
    now = ctx.now()
    with writing(ctx.db_path) as db:
        ensure_active(db, principal)
        row = _row_or_missing(db, review_id, principal)
        _require_own_editable(principal, row)
        review = _with_record_fields(review, row)
        _refuse_if_changed_elsewhere(db, row, expected_version)
        return _write_saved(db, principal, row, review, now)


def _staff_name(db: Any, staff_id: str) -> str | None:
    """The display name of a member of staff, sealed with what they sign or decide (the
    record prints it)."""
    row = repositories.get_staff(db, staff_id)
    return str(row["display_name"]) if row else None


def _signable(
    ctx: Context, db: Any, principal: Principal, review_id: int, seen_hash: str
) -> tuple[dict[str, Any], Transition, Review, ReadinessReport]:
    """Load and authorise: the review the allocated worker may sign off now, unchanged since
    the report they saw, with no open gap. Returns its row, the table's step, review and report."""
    ensure_active(db, principal)
    row = _row_or_missing(db, review_id, principal)
    step = _require_own_editable(principal, row, Action.SIGN_OFF)
    if row["content_hash"] != seen_hash:
        raise Conflict(
            "The review changed since the report you saw. Check the report again "
            "before signing off."
        )
    # The stored content parsed (validated) once and checked once (`evaluate_review` as of its
    # proposed closure date), shared with the page that showed the worker this report.
    review, report = evaluated_content(ctx, row["content"])
    if not report.sign_off_possible:
        raise Refused(
            "Sign-off is blocked: resolve every blocker and write a rationale for every "
            "caution first.",
            blocking=[finding.check_id for finding in report.open_findings],
        )
    return row, step, review, report


def _decision_document(
    db: Any,
    principal: Principal,
    row: dict[str, Any],
    review: Review,
    report: ReadinessReport,
    now: dt.datetime,
    policy: RetentionPolicy = DEFAULT_POLICY,
) -> SealedDecisionDoc:
    """What the worker's sign-off seals: the review, its report, the attestation and the
    retention class and disposal date under the council's schedule now."""
    case = review.case
    kept = policy.class_for(case.involvement)
    retention = SealedRetention(
        involvement=case.involvement.value,
        keep_until_age=kept.keep_until_age,
        years_after_closure=kept.years_after_closure,
        dispose_on=kept.dispose_on(
            birth_month=case.birth_month, closed_on=case.proposed_closure_on
        ).isoformat(),
    )
    return SealedDecisionDoc(
        review_id=row["id"],
        case_reference=review.case.case_reference,
        team=row["team"],
        closure_reason=review.case.closure_reason.value if review.case.closure_reason else "",
        signed_by=principal.staff_id,
        signed_by_name=_staff_name(db, principal.staff_id),
        signed_at=now.isoformat(),
        as_of=report.as_of.isoformat(),
        checks_version=CHECKS_VERSION,
        thresholds=report.thresholds.model_dump(mode="json"),
        review=review.model_dump(mode="json"),
        report=report.model_dump(mode="json"),
        attestation=ATTESTATION,
        retention=retention,
    )


def _write_sign_off(
    db: Any,
    principal: Principal,
    document: SealedDecisionDoc,
    step: Transition,
    now: dt.datetime,
) -> int:
    """Write the sealed decision and its findings, move the review on, and audit the sign-off;
    returns the decision id."""
    sealed = document.text()  # serialised once: the text stored is the text hashed
    digest = seal_hash(sealed)
    decision_id = repositories.insert_decision(
        db, {**document.columns(), "sealed": sealed, "content_hash": digest}
    )
    repositories.insert_decision_findings(
        db, decision_id, (f.model_dump() for f in document.findings())
    )
    repositories.set_review_status(db, document.review_id, step.to, now.isoformat())
    audit.append(
        db,
        at=now,
        actor=principal.staff_id,
        action="signed_off",
        review_id=document.review_id,
        decision_id=decision_id,
        detail={"content_hash": digest, "checks_version": CHECKS_VERSION},
    )
    return decision_id


def sign_off(
    ctx: Context,
    principal: Principal,
    review_id: int,
    *,
    seen_hash: str,
    attested: bool,
) -> int:
    """Seal the review and its report and submit it for countersignature; returns the decision id.

    Refused while any blocker is open, a caution lacks a rationale, the worker has not attested,
    or the review changed since the report the worker saw (`seen_hash`).
    """
    if not attested:
        raise Refused("Confirm the attestation before signing off.")
    now = ctx.now()
    try:
        with writing(ctx.db_path) as db:
            row, step, review, report = _signable(ctx, db, principal, review_id, seen_hash)
            document = _decision_document(db, principal, row, review, report, now, ctx.retention)
            return _write_sign_off(db, principal, document, step, now)
    except ConstraintRefused as error:
        raise Refused(f"Sign-off was refused by the database: {error}.") from None


MAX_WITHDRAWAL_REASON = LONG_TEXT_MAX
_NOT_WITHDRAWABLE = {
    ReviewStatus.APPROVED: "This review has been approved, so it cannot be withdrawn.",
    ReviewStatus.WITHDRAWN: "This review has already been withdrawn.",
}


def may_withdraw(principal: Principal, *, status: str, worker_id: str, team: str) -> bool:
    """Whether `principal` may withdraw a review in this state (the transition table: its
    allocated caseworker, or a team manager of its team, while it is a draft, returned or
    waiting for countersignature). Read by `withdraw` and by the pages offering it."""
    return may(principal, Action.WITHDRAW, status=status, worker_id=worker_id, team=team)


def _withdrawal_reason(reason: str) -> str:
    """Validate the reason for withdrawing: written, not too long, no hidden characters."""
    return free_text(reason, "reason for withdrawing the review", limit=MAX_WITHDRAWAL_REASON)


def _withdrawable(db: Any, principal: Principal, review_id: int) -> Transition:
    """Load and authorise: the table's step withdrawing this review, for its allocated worker
    or a team manager of its team, in a state that allows it."""
    ensure_active(db, principal)
    row = _row_or_missing(db, review_id, principal)
    if not _may_as(principal, Action.WITHDRAW, worker_id=row["worker_id"], team=row["team"]):
        raise NotAllowed(
            "Only the allocated worker or a team manager of the team can withdraw this review."
        )
    step = transition(row["status"], Action.WITHDRAW, principal.role)
    if step is None:
        raise Refused(
            _NOT_WITHDRAWABLE.get(
                row["status"], f"This review is {row['status']} and cannot be withdrawn."
            )
        )
    return step


def _withdraw_requests(db: Any, principal: Principal, review_id: int, now: dt.datetime) -> None:
    """Withdraw the review's exception requests still waiting for a decision, each audited."""
    for request in repositories.exception_requests_for_review(db, review_id):
        if request["status"] != RequestStatus.PENDING:
            continue
        # Nobody decided it: decided_by stays empty (the worker may be the one withdrawing,
        # and a request is never decided by the person who made it).
        db.execute(
            "UPDATE exception_requests SET status = 'withdrawn', decided_at = ? "
            "WHERE id = ? AND status = 'pending'",
            [now.isoformat(), request["id"]],
        )
        audit.append(
            db,
            at=now,
            actor=principal.staff_id,
            action="exception_request_withdrawn",
            review_id=review_id,
            detail={"request_id": request["id"], "finding": request["finding_key"]},
        )


def withdraw(
    ctx: Context, principal: Principal, review_id: int, *, reason: str, via: str = ""
) -> None:
    """Stop a review that will not lead to closure (by its worker or a manager of its team).

    The review leaves every working list; a sign-off waiting for countersignature is closed
    with the outcome "withdrawn" and the reason (the auditor still finds it), and exception
    requests still waiting for a decision are withdrawn with it. `via` names where the
    withdrawal was recorded when not in the app (the command line), for the audit trail.
    """
    reason = _withdrawal_reason(reason)
    now = ctx.now()
    with writing(ctx.db_path) as db:
        step = _withdrawable(db, principal, review_id)
        pending = repositories.pending_decision(db, review_id)
        if pending is not None:
            record_outcome(
                db,
                decision_id=pending["id"],
                outcome=Outcome.WITHDRAWN,
                by=principal.staff_id,
                at=now,
                hash_seen=pending["content_hash"],
                reasons={"overall": reason},
            )
        _withdraw_requests(db, principal, review_id, now)
        repositories.set_review_status(db, review_id, step.to, now.isoformat())
        audit.append(
            db,
            at=now,
            actor=principal.staff_id,
            action="review_withdrawn",
            review_id=review_id,
            detail={"reason": reason, **({"via": via} if via else {})},
        )


def record_outcome(
    db: Any,
    *,
    decision_id: int,
    outcome: Outcome | str,
    by: str,
    at: dt.datetime,
    hash_seen: str,
    reasons: dict[str, Any],
    by_row: dict[str, Any] | None = None,
) -> str:
    """Seal and store a manager's outcome, with its audit event. `by_row`: the decider's
    staff row if this transaction has just read it (`ensure_active`), for the name sealed."""
    name = str(by_row["display_name"]) if by_row is not None else _staff_name(db, by)
    document = SealedOutcomeDoc(
        decision_id=decision_id,
        outcome=Outcome(outcome),
        decided_by=by,
        decided_by_name=name,
        decided_at=at.isoformat(),
        hash_seen=hash_seen,
        reasons=reasons,
    )
    sealed = document.text()  # serialised once: the text stored is the text hashed
    digest = seal_hash(sealed)
    repositories.insert_outcome(
        db, {**document.columns(), "sealed": sealed, "outcome_hash": digest}
    )
    audit.append(
        db,
        at=at,
        actor=by,
        action="decided",
        decision_id=decision_id,
        detail={"outcome": document.outcome, "outcome_hash": digest},
    )
    return digest


def askable_exceptions(record: ReviewRecord) -> list[Finding]:
    """The gaps the caseworker may ask a team manager to except: open blockers whose check
    allows an exception, except those with a request already waiting for a decision."""
    waiting = {
        request.finding_key
        for request in record.exception_requests
        if request.status == RequestStatus.PENDING
    }
    return [f for f in record.report.overridable_blockers if f.key not in waiting]


def request_exception(
    ctx: Context, principal: Principal, review_id: int, *, finding_key: str, reason: str
) -> int:
    """Ask the team manager for an exception to one finding of an overridable blocker."""
    reason = free_text(reason, "reasoning for the exception")
    now = ctx.now()
    with writing(ctx.db_path) as db:
        ensure_active(db, principal)
        row = _row_or_missing(db, review_id, principal)
        _require_own_editable(principal, row, Action.REQUEST_EXCEPTION)
        report = evaluate_review(ctx, _load(row["content"]))
        finding = next((f for f in report.open_blockers if f.key == finding_key), None)
        if finding is None:
            raise Refused("That gap is no longer open, so no exception is needed.")
        result = next(r for r in report.results if r.id == finding.check_id)
        if not result.overridable:
            raise Refused(
                f"{finding.check_id} cannot be excepted: the data must change so it passes."
            )
        for existing in repositories.exception_requests_for_review(db, review_id):
            if (
                existing["finding_key"] == finding_key
                and existing["status"] == RequestStatus.PENDING
            ):
                raise Refused("An exception for this gap has already been asked for.")
        request_id = repositories.insert_exception_request(
            db,
            {
                "review_id": review_id,
                "finding_key": finding_key,
                "check_id": finding.check_id,
                "requested_by": principal.staff_id,
                "requested_at": now.isoformat(),
                "worker_reason": reason,
            },
        )
        audit.append(
            db,
            at=now,
            actor=principal.staff_id,
            action="exception_requested",
            review_id=review_id,
            detail={"request_id": request_id, "finding": finding_key, "reason": reason},
        )
    return request_id
