"""The readiness report as plain text and as stable JSON, for the command line and exports."""

from __future__ import annotations

import json
from typing import Any

from closure_readiness.checks.report import Finding, ReadinessReport
from closure_readiness.core.dates import human
from closure_readiness.core.vocabulary import Route
from closure_readiness.core.workflow import Level

REPORT_FORMAT = "closure-readiness/report@1"


def report_as_json(
    report: ReadinessReport, *, case_reference: str, upgraded: list[str] | None = None
) -> str:
    """The documented JSON form (docs/json-output.md). Keys are sorted; fields are only added."""
    document: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "case_reference": case_reference,
        "summary": report.summary(),
        "upgraded": upgraded or [],
        **report.model_dump(mode="json"),
    }
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False)


def report_as_text(
    report: ReadinessReport, *, case_reference: str, upgraded: list[str] | None = None
) -> str:
    lines = [
        f"Case {case_reference}, as of {human(report.as_of)} (checks {report.checks_version})",
    ]
    if report.route:
        lines.append(f"Closure route: {Route(report.route).label}")
    lines += [f"Upgraded: {note}" for note in upgraded or []]
    lines.append("")
    not_applicable = [result.id for result in report.results if not result.applicable]
    if not_applicable:
        lines += [
            f"Not asked on this route ({len(not_applicable)}): {', '.join(not_applicable)}",
            "",
        ]
    for level in Level:
        findings = report.findings(level=level)
        if not findings:
            continue
        lines.append(f"{level.plural} ({len(findings)})")
        for finding in findings:
            lines.extend(_finding_lines(finding))
        lines.append("")
    if report.exception_notices:
        lines.append(f"Exceptions that resolve nothing ({len(report.exception_notices)})")
        lines += [f"  {notice.check_id}  {notice.message}" for notice in report.exception_notices]
        lines.append("")
    lines.append(report.summary())
    return "\n".join(lines)


def _finding_lines(finding: Finding) -> list[str]:
    lines = [f"  {finding.check_id}  [{finding.resolution.value}]  {finding.message}"]
    if finding.lapsed:
        lines.append(f"      {finding.lapsed}")
    if finding.evidence:
        lines.append(f"      Evidence: {', '.join(finding.evidence)}")
    if finding.resolution_text:
        by = f" ({finding.resolved_by})" if finding.resolved_by else ""
        lines.append(
            f"      {finding.resolution.value.capitalize()}{by}: {finding.resolution_text}"
        )
    else:
        lines.append(f"      What would resolve it: {finding.hint}")
    return lines
