"""The decision record PDF for a review with 30 evidence items, against a bare platypus floor.

The floor lays out the same paragraphs and tables with the same text and column widths in the
same font, on a plain canvas with one plain style: what any PDF of this content costs. The
subject adds building the content from the record, escaping, styling and "Page X of Y".
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table

from bench.checks_bench import review_with_evidence
from bench.harness import Measurement, compare
from closure_readiness.checks import evaluate
from closure_readiness.core.review import Review
from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.report.decision_pdf import (
    DecisionRecord,
    decision_record_pdf,
    decision_record_story,
)
from closure_readiness.report.fonts import REGULAR, register_fonts

Skeleton = list[tuple[str, Any]]


def bench_record(evidence: int = 30) -> DecisionRecord:
    review = Review.model_validate_json(review_with_evidence(evidence))
    assert len(review.evidence) == evidence
    report = evaluate(review)
    return DecisionRecord(
        decision_id=1,
        review_id=1,
        case_reference=review.case.case_reference,
        team=review.case.team,
        closure_reason=review.case.closure_reason.value if review.case.closure_reason else "",
        signed_by="SW-014",
        signed_by_name="Benchmark Worker",
        signed_at="2025-05-30T10:15:00+00:00",
        as_of=report.as_of,
        checks_version=report.checks_version,
        thresholds=report.thresholds,
        review=review,
        report=report,
        attestation="Benchmark attestation.",
        content_hash="0" * 64,
        outcome=ReviewStatus.APPROVED,
        decided_by="TM-002",
        decided_by_name="Benchmark Manager",
        decided_at="2025-06-02T08:30:00+00:00",
        hash_seen="0" * 64,
    )


def skeleton(flowables: list[Flowable]) -> Skeleton:
    """The text and shape of a story, without its styles: what the floor lays out."""
    shape: Skeleton = []
    for flowable in flowables:
        if isinstance(flowable, Paragraph):
            shape.append(("p", flowable.text))
        elif isinstance(flowable, Table):
            rows = [[_cell_texts(cell) for cell in row] for row in flowable._cellvalues]
            shape.append(("t", (rows, list(flowable._argW))))
        elif isinstance(flowable, Spacer):
            shape.append(("s", flowable.height))
        else:
            raise TypeError(f"the floor does not know {type(flowable).__name__}")
    return shape


def _cell_texts(cell: Any) -> list[str]:
    if isinstance(cell, Paragraph):
        return [cell.text]
    if isinstance(cell, list):
        return [part.text for part in cell]
    return [str(cell)] if cell else []


def floor_pdf(shape: Skeleton) -> bytes:
    """The same paragraphs and tables laid out with bare platypus (also the load floor's PDF)."""
    register_fonts()
    plain = ParagraphStyle("plain", fontName=REGULAR, fontSize=9, leading=12)
    story: list[Flowable] = []
    for kind, value in shape:
        if kind == "p":
            story.append(Paragraph(value, plain))
        elif kind == "s":
            story.append(Spacer(1, value))
        else:
            rows, widths = value
            data = [[[Paragraph(t, plain) for t in cell] for cell in row] for row in rows]
            story.append(Table(data, colWidths=widths))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, invariant=1).build(story)
    return buffer.getvalue()


def run(repeat: int) -> list[Measurement]:
    register_fonts()
    record = bench_record(30)
    shape = skeleton(decision_record_story(record))
    repeat = max(5, repeat // 10)  # a PDF takes ~100 ms: fewer rounds than the checks
    return [
        compare(
            "decision record PDF, review with 30 evidence items",
            lambda: decision_record_pdf(record),
            "bare platypus, same paragraphs and tables",
            lambda: floor_pdf(shape),
            repeat=repeat,
            target=2.5,
        )
    ]
