"""Run every registered check on a review, as of a date, failing closed."""

from __future__ import annotations

import datetime as dt

from closure_readiness.checks import themes  # noqa: F401 - registers every check
from closure_readiness.checks.registry import REGISTRY, CheckSpec, Problem, Registry
from closure_readiness.checks.report import (
    CheckResult,
    Finding,
    ReadinessReport,
    Resolution,
    fingerprint,
)
from closure_readiness.checks.thresholds import DEFAULT_THRESHOLDS, Thresholds
from closure_readiness.core.review import Review

CHECKS_VERSION = "1.0.0"
CRASH_HINT = "Tell the system's support team: the check could not run, so it cannot pass."
"""Bump with every change to a check's logic, wording or threshold (see CHANGELOG.md)."""


def evaluate(
    review: Review,
    *,
    as_of: dt.date | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    registry: Registry = REGISTRY,
) -> ReadinessReport:
    """One result per registered check, in registry order. Never raises for a valid review."""
    as_of = as_of or review.case.proposed_closure_on
    results = [_run_one(spec, review, as_of, thresholds) for spec in registry]
    open_blocking = any(
        finding.resolution is Resolution.OPEN and finding.level in ("blocker", "caution")
        for result in results
        for finding in result.findings
    )
    return ReadinessReport(
        checks_version=CHECKS_VERSION,
        as_of=as_of,
        thresholds=thresholds,
        results=results,
        sign_off_possible=not open_blocking,
    )


def _run_one(
    spec: CheckSpec, review: Review, as_of: dt.date, thresholds: Thresholds
) -> CheckResult:
    try:
        problems = spec.run(review, as_of=as_of, thresholds=thresholds)
        crashed = False
    except Exception as error:  # fail closed: a check that cannot run blocks sign-off
        problems = [
            Problem(
                message=(
                    f"This check could not run ({type(error).__name__}), so sign-off is blocked "
                    "until it is fixed. Tell the system's support team."
                ),
                subject="crash",
            )
        ]
        crashed = True
    findings: list[Finding] = []
    seen: set[str] = set()
    for problem in problems:
        finding = _finding(spec, problem, review, crashed=crashed, seen=seen)
        seen.add(finding.key)
        findings.append(finding)
    return CheckResult(
        id=spec.id,
        title=spec.title,
        theme=spec.theme,
        level="blocker" if crashed else spec.level,
        overridable=spec.overridable and not crashed,
        passed=not problems,
        crashed=crashed,
        findings=findings,
    )


def _finding(
    spec: CheckSpec, problem: Problem, review: Review, *, crashed: bool, seen: set[str]
) -> Finding:
    key = fingerprint(spec.id, problem.subject, problem.evidence)
    repeat = 1
    while key in seen:  # two findings about the same thing (e.g. two needs named alike)
        repeat += 1
        key = fingerprint(spec.id, f"{problem.subject}\x1e{repeat}", problem.evidence)
    level = "blocker" if crashed else spec.level
    resolution, text, by = Resolution.OPEN, "", ""
    if level == "note":
        resolution = Resolution.NOTED
    elif level == "caution":
        rationale = review.rationales.get(spec.id, "")
        if rationale:
            resolution, text = Resolution.RATIONALE, rationale
    elif spec.overridable and not crashed:
        for exception in review.exceptions:
            if exception.finding == key:
                resolution, text, by = Resolution.EXCEPTION, exception.reason, exception.manager
    return Finding(
        key=key,
        check_id=spec.id,
        level=level,
        message=problem.message,
        hint=CRASH_HINT if crashed else spec.hint,
        evidence=list(problem.evidence),
        resolution=resolution,
        resolution_text=text,
        resolved_by=by,
    )
