"""The auditor's use cases: find decisions, read one with its trail and integrity, export,
verify everything, and the learning figures. Read-only, except the audit events they write."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from closure_readiness.checks import ReadinessReport
from closure_readiness.core.location import store_key
from closure_readiness.core.seal import sealed_names
from closure_readiness.core.workflow import Outcome, ReviewStatus
from closure_readiness.report import decision_pdf, family_pdf
from closure_readiness.report.decision_pdf import DecisionRecord
from closure_readiness.report.export import decisions_csv, decisions_json
from closure_readiness.service.context import (
    Context,
    InvalidInput,
    NotAllowed,
    NotFound,
    Principal,
    Refused,
    Role,
)
from closure_readiness.service.decisions import recheck, under_current_checks
from closure_readiness.service.records import (
    EarlierReturn,
    SealedDecision,
    finding_messages,
    refuse_disposed,
)
from closure_readiness.service.reviews import earlier_return
from closure_readiness.service.staff import ensure_active
from closure_readiness.service.viewing import Shown, decision_seen, read_then_audit
from closure_readiness.storage import audit, queries, repositories
from closure_readiness.storage.audit import AuditEvent
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import IntegrityReport, check_decision, verify
from closure_readiness.storage.queries import STATUSES, DecisionQuery

__all__ = ["STATUSES", "DecisionQuery"]  # re-exported for the views

EXPORT_LIMIT = 100_000
PAGE_LIMIT = 200


@dataclass(frozen=True)
class DecisionPage:
    rows: list[dict[str, Any]]
    total: int
    query: DecisionQuery
    more_than_total: bool = False
    """True when counting stopped at `total`: there are more matches than that."""

    @property
    def has_next_page(self) -> bool:
        """Whether matches remain after this page."""
        return self.query.offset + self.query.limit < self.total or self.more_than_total


@dataclass(frozen=True)
class DecisionDetail:
    decision: SealedDecision
    report: ReadinessReport
    """The report the decision stands on, under the checks version it was sealed with."""
    trail: list[AuditEvent]
    integrity_problems: list[str]
    re_referrals: list[int]
    names: dict[str, str]
    returns_before: list[dict[str, Any]] = field(default_factory=list)
    current: ReadinessReport | None = None
    """What the current checks would say, when it was sealed under an earlier version."""
    earlier_return: EarlierReturn | None = None
    """A review of the same case returned and withdrawn before this one was started."""

    @property
    def intact(self) -> bool:
        return not self.integrity_problems


@dataclass(frozen=True)
class LearningFigures:
    closures_per_month: list[dict[str, Any]]
    gaps_at_first_sign_off: list[dict[str, Any]]
    returns_by_month: list[dict[str, Any]]
    return_reasons: list[dict[str, Any]]
    exceptions_by_check: list[dict[str, Any]]
    exceptions_by_team: list[dict[str, Any]]
    exceptions_by_manager: list[dict[str, Any]]
    re_referral_comparison: list[dict[str, Any]]
    re_referral_checks: list[dict[str, Any]]


def _require_reader(principal: Principal) -> None:
    """Auditors, team managers (their own team) and operators at the command line."""
    if principal.role not in (Role.AUDITOR, Role.TEAM_MANAGER, Role.ADMIN):
        raise NotAllowed("Only auditors and team managers can read stored decisions.")


def _scoped(principal: Principal, query: DecisionQuery) -> DecisionQuery:
    """Managers see their own team's decisions only; auditors see everything."""
    if query.status is not None and query.status not in STATUSES:
        raise InvalidInput(f"Status must be one of: {', '.join(STATUSES)}.")
    if query.limit < 1 or query.limit > PAGE_LIMIT or query.offset < 0:
        raise InvalidInput(f"Show between 1 and {PAGE_LIMIT} decisions at a time.")
    if principal.role is Role.TEAM_MANAGER:
        return replace(query, team=principal.team)
    return query


def has_filters(query: DecisionQuery) -> bool:
    """Whether the reader narrowed the list (any filter or search words), whatever the page:
    with none, an empty list means nothing has been signed off yet."""
    return query != DecisionQuery(limit=query.limit, offset=query.offset)


def _filters(query: DecisionQuery) -> dict[str, Any]:
    return {k: v for k, v in query.__dict__.items() if v not in (None, "") and k != "offset"}


def list_decisions(ctx: Context, principal: Principal, query: DecisionQuery) -> DecisionPage:
    """One page of decisions, newest first, with the total. The search is an audit event."""
    _require_reader(principal)
    query = _scoped(principal, query)
    cap = max(queries.COUNT_CAP, query.offset + 2 * query.limit)

    def read(db: Any) -> Shown[DecisionPage]:
        rows = queries.list_decisions(db, query)
        total = queries.count_decisions(db, query, cap=cap)
        page = DecisionPage(
            rows=rows, total=min(total, cap), query=query, more_than_total=total > cap
        )
        detail = {"filters": _filters(query), "shown": len(rows)}
        return Shown(page, "decisions_listed", detail=detail)

    page, _ = read_then_audit(ctx, principal, read)
    return page


def export_decisions(
    ctx: Context, principal: Principal, query: DecisionQuery, *, fmt: str
) -> bytes:
    """Every decision matching the filters as CSV or JSON. The export is an audit event."""
    _require_reader(principal)
    if fmt not in ("csv", "json"):
        raise InvalidInput("Export as csv or json.")
    query = _scoped(principal, replace(query, limit=1, offset=0))
    query = replace(query, limit=EXPORT_LIMIT)

    def read(db: Any) -> Shown[list[dict[str, Any]]]:
        rows = queries.list_decisions(db, query)
        detail = {"filters": _filters(query), "format": fmt, "rows": len(rows)}
        return Shown(rows, "decisions_exported", detail=detail)

    rows, _ = read_then_audit(ctx, principal, read)
    return decisions_csv(rows) if fmt == "csv" else decisions_json(rows)


def teams(ctx: Context, principal: Principal) -> list[str]:
    """The teams this person may see decisions of: every team with a decision for an auditor
    (and the command line), their own team for a manager or caseworker. Asked of an active
    account only."""
    with reading(ctx.db_path) as db:
        ensure_active(db, principal)
        if principal.role in (Role.TEAM_MANAGER, Role.CASEWORKER):
            return [principal.team]
        return queries.teams(db)


def _visible_decision(db: Any, principal: Principal, decision_id: int) -> dict[str, Any]:
    """The decision row, if this principal may see it (managers: their own team only)."""
    row = repositories.get_decision(db, decision_id)
    if row is None or (principal.role is Role.TEAM_MANAGER and row["team"] != principal.team):
        raise NotFound(f"There is no decision {decision_id} that you can see.")
    refuse_disposed(row)
    return row


def decision_detail(ctx: Context, principal: Principal, decision_id: int) -> DecisionDetail:
    """Everything the manager saw, the audit trail and the integrity check. Audited: the trail
    shown is the one read, ending with this view's own event."""
    _require_reader(principal)

    def read(db: Any) -> Shown[DecisionDetail]:
        row = _visible_decision(db, principal, decision_id)
        outcome = repositories.get_outcome(db, decision_id)
        problems = check_decision(db, decision_id, read=(row, outcome))
        trail = audit.trail_for(db, review_id=row["review_id"], decision_id=decision_id)
        re_referrals = [
            r["id"]
            for r in db.query("SELECT id FROM reviews WHERE re_referral_of = ?", [row["review_id"]])
        ]
        earlier = [
            d
            for d in repositories.decisions_for_review(db, row["review_id"])
            if d["id"] < decision_id and d["outcome"] == Outcome.RETURNED
        ]
        names = {**repositories.staff_names(db), **sealed_names(row, outcome)}
        before = earlier_return(db, row["case_reference"], row["review_id"])
        sealed = SealedDecision.from_rows(row, outcome)
        detail = DecisionDetail(
            decision=sealed,
            report=recheck(sealed),
            current=under_current_checks(sealed),
            trail=trail,
            integrity_problems=problems,
            re_referrals=re_referrals,
            names=names,
            returns_before=[_returned(d) for d in earlier],
            earlier_return=before,
        )
        return Shown(
            detail,
            "decision_viewed",
            review_id=row["review_id"],
            decision_id=decision_id,
            detail=decision_seen(row, outcome),
        )

    detail, event = read_then_audit(ctx, principal, read)
    return replace(detail, trail=[*detail.trail, event])


def _returned(row: dict[str, Any]) -> dict[str, Any]:
    """An earlier return: its reasons, the review as returned, and what each finding the
    manager commented on said then (by finding key)."""
    sealed = json.loads(row["sealed"])
    return {
        "decision_id": row["id"],
        "decided_at": row["decided_at"],
        "reasons": json.loads(row["reasons"]),
        "review": sealed["review"],
        "finding_messages": finding_messages(sealed.get("report")),
    }


def verify_everything(ctx: Context, principal: Principal) -> IntegrityReport:
    """Check every seal and the whole audit chain. The check itself is an audit event."""
    if principal.role is not Role.AUDITOR:
        raise NotAllowed("Only auditors can verify the whole store.")

    def read(db: Any) -> Shown[IntegrityReport]:
        report = verify(db)
        detail = {"intact": report.intact, "problems": len(report.problems)}
        return Shown(report, "integrity_verified", detail=detail)

    report, _ = read_then_audit(ctx, principal, read)
    return report


_LEARNING_CACHE: dict[tuple[str, tuple[Any, ...]], LearningFigures] = {}
_LEARNING_LOCK = threading.Lock()


def learning(ctx: Context, principal: Principal) -> LearningFigures:
    """Quality-assurance figures: closures, recurring gaps, returns, exceptions, re-referrals.

    The figures are aggregates over every decision (hundreds of milliseconds at 100k), so they
    are kept per database until a decision or outcome is written (a few index lookups tell).
    """
    if principal.role is not Role.AUDITOR:
        raise NotAllowed("Only auditors can read the learning figures.")
    with reading(ctx.db_path) as db:
        ensure_active(db, principal)
        key = (store_key(ctx.db_path), queries.decisions_version(db))
        with _LEARNING_LOCK:
            cached = _LEARNING_CACHE.get(key)
        if cached is not None:
            return cached
        figures = _learning_figures(db)
    with _LEARNING_LOCK:
        _LEARNING_CACHE.clear()  # only the newest version of each database is worth keeping
        _LEARNING_CACHE[key] = figures
    return figures


def clear_learning_cache() -> None:
    """Forget cached figures (benchmarks measure the first computation with this)."""
    with _LEARNING_LOCK:
        _LEARNING_CACHE.clear()


def _learning_figures(db: Any) -> LearningFigures:
    return LearningFigures(
        closures_per_month=queries.closures_per_month(db),
        gaps_at_first_sign_off=queries.gaps_at_first_sign_off(db),
        returns_by_month=queries.returns_by_month(db),
        return_reasons=[_with_overall(row) for row in queries.recent_return_reasons(db)],
        exceptions_by_check=queries.exceptions_by(db, "check_id"),
        exceptions_by_team=queries.exceptions_by(db, "team"),
        exceptions_by_manager=queries.exceptions_by(db, "manager"),
        re_referral_comparison=queries.re_referral_comparison(db),
        re_referral_checks=queries.re_referral_checks(db),
    )


def _with_overall(row: dict[str, Any]) -> dict[str, Any]:
    """A returned decision's row with the manager's overall reason read out of the stored
    reasons ("overall"), empty when there is none."""
    return {**row, "overall": json.loads(row["reasons"]).get("overall", "")}


def _record(ctx: Context, principal: Principal, decision_id: int, *, action: str) -> DecisionRecord:
    """The sealed decision as the PDFs need it; the export is an audit event."""
    _require_reader(principal)

    def read(db: Any) -> Shown[tuple[SealedDecision, dict[str, str]]]:
        row = _visible_decision(db, principal, decision_id)
        outcome = repositories.get_outcome(db, decision_id)
        names = {**repositories.staff_names(db), **sealed_names(row, outcome)}
        return Shown(
            (SealedDecision.from_rows(row, outcome), names),
            action,
            review_id=row["review_id"],
            decision_id=decision_id,
            detail=decision_seen(row, outcome),
        )

    (sealed, names), _ = read_then_audit(ctx, principal, read)
    return DecisionRecord(
        decision_id=sealed.id,
        review_id=sealed.review_id,
        case_reference=sealed.case_reference,
        team=sealed.team,
        closure_reason=sealed.closure_reason,
        signed_by=sealed.signed_by,
        signed_by_name=names.get(sealed.signed_by, sealed.signed_by),
        signed_at=sealed.signed_at,
        as_of=sealed.as_of,
        checks_version=sealed.checks_version,
        thresholds=sealed.thresholds,
        review=sealed.review,
        report=sealed.report,
        attestation=sealed.attestation,
        content_hash=sealed.content_hash,
        outcome=sealed.outcome,
        decided_by=sealed.decided_by,
        decided_by_name=names.get(sealed.decided_by or "", sealed.decided_by),
        decided_at=sealed.decided_at,
        hash_seen=sealed.hash_seen,
        reasons=sealed.reasons,
        retention=sealed.retention,
    )


def decision_record_pdf(ctx: Context, principal: Principal, decision_id: int) -> bytes:
    """The decision record as PDF. Downloading it is an audit event."""
    return decision_pdf.decision_record_pdf(
        _record(ctx, principal, decision_id, action="decision_record_exported")
    )


def family_summary_pdf(ctx: Context, principal: Principal, decision_id: int) -> bytes:
    """The plain-language closure summary for the young person and family (approved only)."""
    record = _record(ctx, principal, decision_id, action="family_summary_exported")
    if record.outcome != ReviewStatus.APPROVED:
        raise Refused("The family summary is offered once the closure is approved.")
    return family_pdf.family_summary_pdf(record)
