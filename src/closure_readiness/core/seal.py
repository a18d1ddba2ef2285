"""What is sealed: the one typed model of a sealed decision and of its outcome.

The service builds these documents to write a sign-off or a manager's decision, and integrity
verification parses the stored text back into the same models to compare every column a reader
relies on. One canonical serialisation (`canonical_json`, sorted keys) and one hash
(`seal_hash`, SHA-256 of that text) serve both sides.

Documents written before a field existed still parse: a field added later is optional and
left out of the serialisation while it is empty (None), so an older document re-serialises to
exactly the bytes it was sealed with. Verification hashes the stored text itself, never a
re-serialisation, so even a document this model could not reproduce keeps its seal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict

from closure_readiness.core.canonical import canonical_json
from closure_readiness.core.workflow import Outcome

DECISION_FORMAT: Final = "closure-readiness/decision@1"
OUTCOME_FORMAT: Final = "closure-readiness/outcome@1"

ATTESTATION = (
    "I confirm that this review is accurate to the best of my knowledge, that the evidence cited "
    "is recorded in the case record, and that I have considered every gap shown."
)


def seal_hash(text: str) -> str:
    """SHA-256 of a sealed document's stored text, as lowercase hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SealedFinding(BaseModel):
    """One finding of a sealed report, as the learning figures read it (`decision_findings`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    finding_key: str
    check_id: str
    level: str
    resolution: str
    resolved_by: str = ""


class _Sealed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    OPTIONAL: ClassVar[frozenset[str]] = frozenset()
    """Fields added after the first documents were sealed: left out while None."""

    def text(self) -> str:
        """The canonical serialisation: the exact text stored and hashed."""
        document = self.model_dump(mode="json")
        for name in self.OPTIONAL:
            if document.get(name) is None:
                document.pop(name, None)
        return canonical_json(document)

    def digest(self) -> str:
        return seal_hash(self.text())


def search_words(review: dict[str, Any]) -> str:
    """Every piece of text in a review, one per line: the decision's search text."""
    words: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if value:
                words.append(value)
        elif isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(review)
    return "\n".join(words)


def same_search_text(stored: str, expected: str) -> bool:
    """Whether two search texts hold the same words (the order of a review's fields in the
    text depends on how it was serialised, so the lines are compared as a multiset)."""
    return sorted(stored.split("\n")) == sorted(expected.split("\n"))


class SealedRetention(BaseModel):
    """The retention class and disposal date sealed with a decision (core.retention)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    involvement: str
    keep_until_age: int
    years_after_closure: int
    dispose_on: str
    """The first day the records may be disposed of (ISO date)."""


class SealedDecisionDoc(_Sealed):
    """Everything sealed at sign-off: the review, its report and who signed, when."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"signed_by_name", "retention"})

    format: Literal["closure-readiness/decision@1"] = DECISION_FORMAT
    review_id: int
    case_reference: str
    team: str
    closure_reason: str
    signed_by: str
    signed_at: str
    as_of: str
    checks_version: str
    thresholds: dict[str, Any]
    review: dict[str, Any]
    report: dict[str, Any]
    attestation: str
    signed_by_name: str | None = None
    """The signer's name as printed in the record (sealed since names are printed with it)."""
    retention: SealedRetention | None = None
    """The retention class and disposal date under the schedule at sign-off (decisions sealed
    before retention was recorded have none: their date is worked out when disposal runs)."""

    SEALED_COLUMNS: ClassVar[tuple[str, ...]] = (
        "review_id",
        "case_reference",
        "team",
        "closure_reason",
        "signed_by",
        "signed_at",
        "as_of",
        "checks_version",
    )
    """Columns of `decisions` that copy a field of the document."""
    DERIVED_COLUMNS: ClassVar[tuple[str, ...]] = (
        "sign_off_possible",
        "exceptions",
        "cautions",
        "search_text",
    )
    """Columns of `decisions` worked out from the document (see `columns`)."""
    STORAGE_COLUMNS: ClassVar[tuple[str, ...]] = ("id", "sealed", "content_hash", "disposed_on")
    """The row's own key, the document's text and its hash, and the date its content was
    disposed of (checked against the audit trail's disposal event)."""

    def findings(self) -> list[SealedFinding]:
        """The sealed report's findings, one row each, in report order."""
        return list(_report_findings(self.report))

    def columns(self) -> dict[str, Any]:
        """Every column of the `decisions` row but id, sealed and content_hash."""
        findings = self.findings()
        return {
            **{name: getattr(self, name) for name in self.SEALED_COLUMNS},
            "sign_off_possible": 1,
            "exceptions": sum(f.resolution == "exception" for f in findings),
            "cautions": sum(f.resolution == "rationale" for f in findings),
            "search_text": search_words(self.review),
        }


def _report_findings(report: dict[str, Any]) -> Iterator[SealedFinding]:
    results = report.get("results", [])
    for result in results if isinstance(results, list) else []:
        findings = result.get("findings", []) if isinstance(result, dict) else []
        for finding in findings if isinstance(findings, list) else []:
            if not isinstance(finding, dict):
                continue
            yield SealedFinding(
                finding_key=str(finding.get("key", "")),
                check_id=str(finding.get("check_id", "")),
                level=str(finding.get("level", "")),
                resolution=str(finding.get("resolution", "open")),
                resolved_by=str(finding.get("resolved_by", "")),
            )


class SealedOutcomeDoc(_Sealed):
    """A manager's decision on a sealed sign-off (or its withdrawal), with the reasons."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"decided_by_name"})

    format: Literal["closure-readiness/outcome@1"] = OUTCOME_FORMAT
    decision_id: int
    outcome: Outcome
    decided_by: str
    decided_at: str
    hash_seen: str
    reasons: dict[str, Any]
    decided_by_name: str | None = None
    """The name of who decided, as printed in the record (sealed since names are printed)."""

    SEALED_COLUMNS: ClassVar[tuple[str, ...]] = (
        "decision_id",
        "outcome",
        "decided_by",
        "decided_at",
        "hash_seen",
    )
    DERIVED_COLUMNS: ClassVar[tuple[str, ...]] = ("reasons",)
    STORAGE_COLUMNS: ClassVar[tuple[str, ...]] = ("sealed", "outcome_hash")

    def columns(self) -> dict[str, Any]:
        """Every column of the `outcomes` row but sealed and outcome_hash."""
        return {
            **{name: getattr(self, name) for name in self.SEALED_COLUMNS},
            "outcome": self.outcome.value,
            "reasons": canonical_json(self.reasons),
        }


def evidence_register(review: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the `evidence` table for a review, worked out from its stored content (the
    review as JSON): what a save writes, and what verification works out again to compare."""
    items = review.get("evidence", [])
    return [
        {
            "evidence_id": item.get("id"),
            "agency": item.get("agency"),
            "kind": item.get("kind"),
            "observed_on": item.get("observed_on"),
            "direction": item.get("direction"),
            "shows": item.get("shows"),
            "record_ref": item.get("record_ref", ""),
        }
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    ]


def sealed_names(decision: dict[str, Any], outcome: dict[str, Any] | None) -> dict[str, str]:
    """The names sealed with a decision and its outcome, by staff id: what a record prints as
    who signed off and who decided (empty for documents sealed before names were)."""
    names: dict[str, str] = {}
    for row, model in ((decision, SealedDecisionDoc), (outcome, SealedOutcomeDoc)):
        if not row or not isinstance(row.get("sealed"), str):
            continue
        try:
            document = model.model_validate_json(row["sealed"])
        except ValueError:
            continue
        if isinstance(document, SealedDecisionDoc) and document.signed_by_name:
            names[document.signed_by] = document.signed_by_name
        if isinstance(document, SealedOutcomeDoc) and document.decided_by_name:
            names[document.decided_by] = document.decided_by_name
    return names
