"""Run every registered check on a review, as of a date, failing closed."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from closure_readiness.checks import themes  # noqa: F401 - registers every check
from closure_readiness.checks.registry import REGISTRY, CheckSpec, Problem, Registry
from closure_readiness.checks.report import (
    CheckResult,
    ExceptionNotice,
    Finding,
    NoticeKind,
    ReadinessReport,
    Resolution,
    fingerprint,
)
from closure_readiness.checks.thresholds import DEFAULT_THRESHOLDS, Thresholds
from closure_readiness.core.answers_text import answer_text
from closure_readiness.core.review import ManagerException, Review
from closure_readiness.core.vocabulary import Route
from closure_readiness.core.workflow import Level

CHECKS_VERSION = "2.0.0"
_WORDS = {"None": "not recorded", "True": "yes", "False": "no"}
_ISO_DATE = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")
"""Bump with every change to a check's logic, wording or threshold (see CHANGELOG.md)."""
CRASH_HINT = "Tell the system's support team: the check could not run, so it cannot pass."


def evaluate(
    review: Review,
    *,
    as_of: dt.date | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    registry: Registry = REGISTRY,
) -> ReadinessReport:
    """One result per registered check, in registry order. Never raises for a valid review."""
    as_of = as_of or review.case.proposed_closure_on
    route = review.case.route(as_of)
    results = [_run_one(spec, review, as_of, thresholds, route) for spec in registry]
    results, notices = _apply_exceptions(results, review.exceptions, registry)
    open_blocking = any(
        finding.resolution is Resolution.OPEN and finding.level in (Level.BLOCKER, Level.CAUTION)
        for result in results
        for finding in result.findings
    )
    return ReadinessReport(
        checks_version=CHECKS_VERSION,
        as_of=as_of,
        thresholds=thresholds,
        results=results,
        sign_off_possible=not open_blocking,
        route=route.value,
        exception_notices=notices,
    )


def _run_one(
    spec: CheckSpec, review: Review, as_of: dt.date, thresholds: Thresholds, route: Route
) -> CheckResult:
    if route not in spec.routes:
        return CheckResult(
            id=spec.id,
            title=spec.title,
            theme=spec.theme,
            level=spec.level,
            overridable=spec.overridable,
            passed=True,
            applicable=False,
        )
    try:
        problems = _checked(spec.run(review, as_of=as_of, thresholds=thresholds))
        crashed = False
    except Exception as error:  # fail closed: a check that cannot run blocks sign-off
        problems = [
            Problem(
                message=(
                    f"The check {spec.id} could not run ({type(error).__name__}), so sign-off "
                    "is blocked until it is fixed. Tell the system's support team."
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
        level=Level.BLOCKER if crashed else spec.level,
        overridable=spec.overridable and not crashed,
        passed=not problems,
        crashed=crashed,
        findings=findings,
        rests_on=[] if problems else [answer_text(review, path) for path in spec.reads],
    )


class CheckReturnedNonsense(TypeError):
    """A check returned something other than a list of problems."""


def _checked(returned: Any) -> list[Problem]:
    if not isinstance(returned, list) or not all(isinstance(p, Problem) for p in returned):
        raise CheckReturnedNonsense(type(returned).__name__)
    return returned


def _finding(
    spec: CheckSpec, problem: Problem, review: Review, *, crashed: bool, seen: set[str]
) -> Finding:
    key = fingerprint(spec.id, problem.subject, problem.evidence, problem.facts)
    repeat = 1
    while key in seen:  # two findings about the same thing (e.g. two needs named alike)
        repeat += 1
        key = fingerprint(
            spec.id, f"{problem.subject}\x1e{repeat}", problem.evidence, problem.facts
        )
    level = Level.BLOCKER if crashed else spec.level
    resolution, text = Resolution.OPEN, ""
    if level is Level.NOTE:
        resolution = Resolution.NOTED
    elif level is Level.CAUTION:
        rationale = review.rationales.get(spec.id, "")
        if rationale:
            resolution, text = Resolution.RATIONALE, rationale
    return Finding(
        key=key,
        check_id=spec.id,
        level=level,
        message=problem.message,
        hint=CRASH_HINT if crashed else spec.hint,
        evidence=list(problem.evidence),
        resolution=resolution,
        resolution_text=text,
        subject=problem.subject,
        facts=dict(problem.facts),
    )


def _apply_exceptions(
    results: list[CheckResult], exceptions: list[ManagerException], registry: Registry
) -> tuple[list[CheckResult], list[ExceptionNotice]]:
    """Resolve findings a manager's exception still fits; report every exception that fits none.

    An exception fits a finding only while its key matches: the check, what the finding
    concerns, the evidence and every fact the check read. When the facts change, the finding
    says what changed and the worker must ask again.
    """
    granted = {exception.finding: exception for exception in exceptions}
    used: set[str] = set()
    updated: list[CheckResult] = []
    lapsed_for: dict[str, ManagerException] = {}
    for exception in exceptions:
        check_id = exception.finding.split(":", 1)[0]
        lapsed_for.setdefault(f"{check_id}\x1f{exception.subject}", exception)
    for result in results:
        if not result.findings:
            updated.append(result)
            continue
        findings = []
        for finding in result.findings:
            fits = granted.get(finding.key)
            if fits is not None and result.overridable and finding.level is Level.BLOCKER:
                used.add(finding.key)
                finding = finding.model_copy(
                    update={
                        "resolution": Resolution.EXCEPTION,
                        "resolution_text": fits.reason,
                        "resolved_by": fits.manager,
                    }
                )
            elif finding.resolution is Resolution.OPEN and result.overridable:
                old: ManagerException | None = lapsed_for.get(
                    f"{finding.check_id}\x1f{finding.subject}"
                )
                if old is not None and old.finding not in {f.key for f in result.findings}:
                    finding = finding.model_copy(update={"lapsed": _what_changed(old, finding)})
            findings.append(finding)
        updated.append(result.model_copy(update={"findings": findings}))
    notices = [
        _notice(exception, updated, registry)
        for exception in exceptions
        if exception.finding not in used
    ]
    return updated, notices


def _fact(facts: dict[str, str], name: str) -> str:
    """A fact as people read it: ISO dates shown as 25/04/2025, nothing as "not recorded"."""
    value = _WORDS.get(facts.get(name) or "", facts.get(name) or "not recorded")
    return _ISO_DATE.sub(lambda m: f"{m['d']}/{m['m']}/{m['y']}", value)


def _what_changed(exception: ManagerException, finding: Finding) -> str:
    changes = [
        f"{name}: {_fact(exception.facts, name)} → {_fact(finding.facts, name)}"
        for name in dict.fromkeys([*exception.facts, *finding.facts])
        if exception.facts.get(name) != finding.facts.get(name)
    ]
    if not changes:
        return (
            "Exception no longer applies: it was granted under an earlier version of the checks "
            f'("{exception.message or exception.finding}"). Ask your manager again.'
        )
    return "Exception no longer applies: " + "; ".join(changes) + ". Ask your manager again."


def _notice(
    exception: ManagerException, results: list[CheckResult], registry: Registry
) -> ExceptionNotice:
    check_id = exception.finding.split(":", 1)[0]
    result = next((r for r in results if r.id == check_id), None)
    if check_id not in registry or result is None or not result.overridable:
        kind = NoticeKind.NOT_OVERRIDABLE
        message = (
            f"The exception for {check_id} is ignored: that check cannot be overridden by a "
            "manager, so only a change in the review can resolve it."
        )
    elif any(f.lapsed and f.subject == exception.subject for f in result.findings):
        kind = NoticeKind.LAPSED
        message = (
            f"The exception for {check_id} no longer applies: the facts it was granted against "
            "have changed. The worker must ask again."
        )
    elif result.findings:
        kind = NoticeKind.LAPSED
        message = (
            f"The exception for {check_id} no longer fits any of its findings (the facts or the "
            "checks version changed). The worker must ask again."
        )
    else:
        kind = NoticeKind.RESOLVED
        message = f"The exception for {check_id} is no longer needed: the gap it covered is closed."
    return ExceptionNotice(finding=exception.finding, check_id=check_id, kind=kind, message=message)
