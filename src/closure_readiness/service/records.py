"""Read models the use cases return: a review as stored, a decision as sealed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from closure_readiness.checks import ReadinessReport, Thresholds
from closure_readiness.core.review import Review


@dataclass(frozen=True)
class ReturnNote:
    """A manager's reasons for returning a review: overall, and per finding key."""

    decision_id: int
    returned_by: str
    returned_at: str
    overall: str
    findings: dict[str, str]
    themes: dict[str, str]


@dataclass(frozen=True)
class ExceptionRequest:
    id: int
    review_id: int
    finding_key: str
    check_id: str
    requested_by: str
    requested_at: str
    worker_reason: str
    status: str
    decided_by: str | None
    decided_at: str | None
    manager_reason: str
    case_reference: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ExceptionRequest:
        return cls(**{name: row.get(name) for name in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    status: str
    version: int
    worker_id: str
    team: str
    case_reference: str
    content_hash: str
    review: Review
    report: ReadinessReport
    created_at: str
    updated_at: str
    re_referral_of: int | None
    last_return: ReturnNote | None = None
    exception_requests: list[ExceptionRequest] = field(default_factory=list)
    pending_decision_id: int | None = None

    @property
    def editable(self) -> bool:
        return self.status in ("draft", "returned")


@dataclass(frozen=True)
class ReviewSummary:
    id: int
    case_reference: str
    status: str
    worker_id: str
    proposed_closure_on: str
    open_blockers: int
    open_cautions: int
    updated_at: str
    re_referral_of: int | None


@dataclass(frozen=True)
class SealedDecision:
    """Everything sealed at sign-off, read back from the sealed JSON."""

    id: int
    review_id: int
    case_reference: str
    team: str
    closure_reason: str
    signed_by: str
    signed_at: str
    as_of: dt.date
    checks_version: str
    thresholds: Thresholds
    review: Review
    report: ReadinessReport
    attestation: str
    content_hash: str
    outcome: str
    decided_by: str | None = None
    decided_at: str | None = None
    hash_seen: str | None = None
    reasons: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, decision: dict[str, Any], outcome: dict[str, Any] | None) -> SealedDecision:
        sealed = json.loads(decision["sealed"])
        return cls(
            id=decision["id"],
            review_id=decision["review_id"],
            case_reference=decision["case_reference"],
            team=decision["team"],
            closure_reason=decision["closure_reason"],
            signed_by=decision["signed_by"],
            signed_at=decision["signed_at"],
            as_of=dt.date.fromisoformat(decision["as_of"]),
            checks_version=decision["checks_version"],
            thresholds=Thresholds.model_validate(sealed["thresholds"]),
            review=Review.model_validate(sealed["review"]),
            report=ReadinessReport.model_validate(sealed["report"]),
            attestation=sealed.get("attestation", ""),
            content_hash=decision["content_hash"],
            outcome=outcome["outcome"] if outcome else "submitted",
            decided_by=outcome["decided_by"] if outcome else None,
            decided_at=outcome["decided_at"] if outcome else None,
            hash_seen=outcome["hash_seen"] if outcome else None,
            reasons=json.loads(outcome["reasons"]) if outcome else {},
        )
