"""Read models the use cases return: a review as stored, a decision as sealed."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from closure_readiness.checks import ReadinessReport, Thresholds
from closure_readiness.checks.questions import THEMES_BY_KEY
from closure_readiness.core import words
from closure_readiness.core.retention import sealed_words
from closure_readiness.core.review import Review
from closure_readiness.core.workflow import RequestStatus, ReviewStatus
from closure_readiness.service.context import NotFound

_CHECK_ID = re.compile(r"[a-z_]{1,24}\.[A-Z]\d{3}")


def reply_key(decision_id: int, about: str) -> str:
    """Where a reply to one reason of a return is kept in `Review.replies`: the return's
    decision id, then "overall", "step:<step>" or "finding:<finding key>"."""
    return f"{decision_id}:{about}"


def replies_to(review: Review, decision_id: int) -> dict[str, str]:
    """The worker's replies to one return, by what they answer ("overall", "step:support")."""
    prefix = f"{decision_id}:"
    return {k[len(prefix) :]: v for k, v in review.replies.items() if k.startswith(prefix) and v}


def check_of_finding(finding_key: str) -> str:
    """The check id a finding key starts with ("exit.W002:0123..." -> "exit.W002"), or ""."""
    check_id = finding_key.split(":", 1)[0]
    return check_id if _CHECK_ID.fullmatch(check_id) else ""


def finding_messages(report: Any) -> dict[str, str]:
    """Each finding's message by key, read from a sealed report (JSON), defensively: an older
    report's shape is not checked here."""
    found: dict[str, str] = {}
    results = report.get("results", []) if isinstance(report, dict) else []
    for result in results if isinstance(results, list) else []:
        for finding in result.get("findings", []) if isinstance(result, dict) else []:
            if isinstance(finding, dict) and isinstance(finding.get("key"), str):
                found[finding["key"]] = str(finding.get("message", ""))
    return found


@dataclass(frozen=True)
class ReturnedFinding:
    """A finding the manager gave a reason about, as the returned report stated it."""

    key: str
    check_id: str
    """The check it came from ("" when the key names no check)."""
    message: str
    """The finding as the manager saw it ("" when the returned report does not hold it)."""
    reason: str


@dataclass(frozen=True)
class ReturnNote:
    """A manager's reasons for returning a review: overall, per step and per finding key."""

    decision_id: int
    returned_by: str
    returned_at: str
    overall: str
    findings: dict[str, str]
    themes: dict[str, str]
    finding_messages: dict[str, str] = field(default_factory=dict)
    """What each finding the manager commented on said in the returned report, by key."""

    @classmethod
    def from_decision(cls, row: dict[str, Any]) -> ReturnNote:
        """The note of a returned decision (a row with its outcome's reasons and the seal)."""
        reasons = json.loads(row["reasons"])
        findings: dict[str, str] = reasons.get("findings", {})
        sealed = json.loads(row["sealed"]) if row.get("sealed") else {}
        messages = finding_messages(sealed.get("report"))
        return cls(
            decision_id=row["id"],
            returned_by=row["decided_by"],
            returned_at=row["decided_at"],
            overall=reasons.get("overall", ""),
            findings=findings,
            themes=reasons.get("themes", {}),
            finding_messages={k: messages[k] for k in findings if k in messages},
        )

    def reply_key(self, about: str) -> str:
        return reply_key(self.decision_id, about)

    def about_findings(self) -> list[ReturnedFinding]:
        return [
            ReturnedFinding(
                key=key,
                check_id=check_of_finding(key),
                message=self.finding_messages.get(key, ""),
                reason=reason,
            )
            for key, reason in self.findings.items()
        ]


@dataclass(frozen=True)
class EarlierReturn:
    """A review of the same case returned and then withdrawn before this one was started: the
    manager deciding this one sees why the earlier one was returned ("return laundering")."""

    review_id: int
    note: ReturnNote

    def heading(self) -> str:
        return (
            f"An earlier review of this case was returned and withdrawn (review {self.review_id}, "
            f"returned on {words.london_day(self.note.returned_at)}). It was returned because:"
        )

    def reason_lines(self) -> list[str]:
        """The reasons it was returned with: overall, then per step, then per finding."""
        lines = [self.note.overall] if self.note.overall else []
        for step, reason in self.note.themes.items():
            theme = THEMES_BY_KEY.get(step)
            lines.append(f"{theme.title if theme else 'Another step'}: {reason}")
        for finding in self.note.about_findings():
            about = finding.message or finding.check_id or "A finding"
            lines.append(f"{about}: {finding.reason}")
        return lines


@dataclass(frozen=True)
class ExceptionRequest:
    id: int
    review_id: int
    finding_key: str
    check_id: str
    requested_by: str
    requested_at: str
    worker_reason: str
    status: RequestStatus
    decided_by: str | None
    decided_at: str | None
    manager_reason: str
    case_reference: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ExceptionRequest:
        fields = {name: row.get(name) for name in cls.__dataclass_fields__}
        fields["status"] = RequestStatus(str(fields["status"]))
        return cls(**fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    status: ReviewStatus
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
        return ReviewStatus(self.status).editable


@dataclass(frozen=True)
class ReviewSummary:
    id: int
    case_reference: str
    status: ReviewStatus
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
    outcome: ReviewStatus
    """Where the decision stands: submitted (waiting) or the outcome (DECISION_STATUSES)."""
    decided_by: str | None = None
    decided_at: str | None = None
    hash_seen: str | None = None
    reasons: dict[str, Any] = field(default_factory=dict)
    retention: str = ""
    """The retention class and disposal date sealed with it, in words."""

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
            outcome=ReviewStatus(outcome["outcome"]) if outcome else ReviewStatus.SUBMITTED,
            decided_by=outcome["decided_by"] if outcome else None,
            decided_at=outcome["decided_at"] if outcome else None,
            hash_seen=outcome["hash_seen"] if outcome else None,
            reasons=json.loads(outcome["reasons"]) if outcome else {},
            retention=sealed_words(sealed.get("retention")),
        )


def refuse_disposed(row: dict[str, Any]) -> None:
    """A decision disposed of under the retention schedule has no record left to show."""
    if row.get("disposed_on"):
        on = words.day(dt.date.fromisoformat(row["disposed_on"]))
        raise NotFound(
            f"Decision {row['id']} was disposed of on {on} under the "
            "council's retention schedule: only the fact of the decision is kept (its team, "
            "dates, outcome and the checks it met, in the learning figures)."
        )
