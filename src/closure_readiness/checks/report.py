"""The readiness report: one result per check, its findings, and whether sign-off is possible."""

from __future__ import annotations

import datetime as dt
import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.workflow import Level


class Resolution(StrEnum):
    OPEN = "open"
    """A blocker with no exception, or a caution with no rationale: sign-off waits for it."""
    RATIONALE = "rationale"
    """A caution the caseworker has explained."""
    EXCEPTION = "exception"
    """An overridable blocker a team manager has accepted, with a written reason."""
    NOTED = "noted"
    """A note: shown, never blocks."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def fingerprint(
    check_id: str,
    subject: str,
    evidence: tuple[str, ...],
    facts: tuple[tuple[str, str], ...] = (),
) -> str:
    """A stable key for one finding: an exception or return reason attaches to it.

    It changes when the evidence concerned or any fact the check read (dates, statuses,
    counts) changes, so an exception never outlives the data it was granted against.
    """
    raw = "\x1f".join(
        [check_id, subject, *sorted(evidence), *(f"{name}\x1d{value}" for name, value in facts)]
    )
    return f"{check_id}:{hashlib.sha256(raw.encode()).hexdigest()[:12]}"


class Finding(_Frozen):
    key: str = Field(description="check id and a fingerprint of what the finding concerns")
    check_id: str
    level: Level
    message: str
    hint: str
    evidence: list[str] = Field(default_factory=list)
    resolution: Resolution = Resolution.OPEN
    resolution_text: str = ""
    resolved_by: str = ""
    subject: str = ""
    facts: dict[str, str] = Field(default_factory=dict)
    lapsed: str = ""
    """When a manager's exception for this gap no longer applies: what changed since."""


class NoticeKind(StrEnum):
    LAPSED = "lapsed"
    """The facts changed since the exception was granted: the worker must ask again."""
    NOT_OVERRIDABLE = "not_overridable"
    """The check cannot be overridden (or no longer exists): the exception is ignored."""
    RESOLVED = "resolved"
    """The gap it covered is closed: the exception is no longer needed."""


class ExceptionNotice(_Frozen):
    """A recorded exception that resolves nothing now, and why: never silently ignored."""

    finding: str
    check_id: str
    kind: NoticeKind
    message: str


class CheckResult(_Frozen):
    id: str
    title: str
    theme: str
    level: Level
    overridable: bool
    passed: bool
    crashed: bool = False
    findings: list[Finding] = Field(default_factory=list)
    applicable: bool = True
    """False when the closure route does not ask this question (it then passes)."""
    rests_on: list[tuple[str, str]] = Field(default_factory=list)
    """The answers a passing check rested on, as (question, answer), for the manager to see."""


class ReadinessReport(_Frozen):
    checks_version: str
    as_of: dt.date
    thresholds: Thresholds
    results: list[CheckResult]
    sign_off_possible: bool
    route: str = ""
    """The closure route the checks were chosen for (empty in reports before checks 2.0.0)."""
    exception_notices: list[ExceptionNotice] = Field(default_factory=list)

    def findings(self, *, level: Level | str | None = None) -> list[Finding]:
        return [
            finding
            for result in self.results
            for finding in result.findings
            if level is None or finding.level == level
        ]

    @property
    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings() if f.resolution is Resolution.OPEN]

    @property
    def blockers(self) -> list[Finding]:
        """Every blocker found, open or resolved (by a manager's exception)."""
        return self.findings(level=Level.BLOCKER)

    @property
    def cautions(self) -> list[Finding]:
        """Every caution found, open or explained (by a rationale)."""
        return self.findings(level=Level.CAUTION)

    @property
    def open_blockers(self) -> list[Finding]:
        return [f for f in self.open_findings if f.level is Level.BLOCKER]

    @property
    def overridable_blockers(self) -> list[Finding]:
        """Open blockers a team manager's written exception may resolve (their check allows
        it), in the report's order."""
        overridable = {result.id for result in self.results if result.overridable}
        return [f for f in self.open_blockers if f.check_id in overridable]

    @property
    def open_cautions(self) -> list[Finding]:
        return [f for f in self.open_findings if f.level is Level.CAUTION]

    @property
    def passed_count(self) -> int:
        return sum(result.passed for result in self.results)

    def summary(self) -> str:
        blockers = len(self.blockers)
        cautions = len(self.cautions)
        notes = len(self.findings(level=Level.NOTE))
        verdict = "Sign-off possible" if self.sign_off_possible else "Sign-off blocked"
        applying = [result for result in self.results if result.applicable]
        passed = sum(result.passed for result in applying)
        skipped = len(self.results) - len(applying)
        not_asked = f" ({skipped} not asked on this route)" if skipped else ""
        return (
            f"{verdict}: {passed} of {len(applying)} checks pass{not_asked}; "
            f"{len(self.open_blockers)} of {blockers} blockers open, "
            f"{len(self.open_cautions)} of {cautions} cautions need a rationale, {notes} notes."
        )
