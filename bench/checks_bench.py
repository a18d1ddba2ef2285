"""Evaluating every check on a full review, against validating the same review with pydantic."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bench.harness import Measurement, compare
from closure_readiness.checks import REGISTRY, evaluate
from closure_readiness.core.review import Review

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "examples" / "ready-three-agencies-sustained-change.json"


def review_with_evidence(count: int = 30) -> str:
    """The ready example grown to `count` evidence items, every theme answered."""
    document = json.loads(BASE.read_text(encoding="utf-8"))
    evidence = document["evidence"]
    agencies = ["school", "police", "health", "voluntary", "youth_justice", "housing"]
    kinds = ["observed", "record", "opinion", "parent_account"]
    directions = ["shows_change", "neutral", "shows_change", "shows_concern"]
    closure = dt.date.fromisoformat(document["case"]["proposed_closure_on"])
    for index in range(len(evidence), count):
        evidence.append(
            {
                "id": f"B{index}",
                "agency": agencies[index % len(agencies)],
                "kind": kinds[index % len(kinds)],
                "observed_on": (closure - dt.timedelta(days=3 * index)).isoformat(),
                "direction": directions[index % len(directions)],
                "shows": f"Synthetic benchmark observation number {index}.",
                "record_ref": f"BENCH-{index:04d}",
            }
        )
    ids = [item["id"] for item in evidence]
    for theme in document["answers"].values():
        theme.setdefault("cited", [])
    document["answers"]["change"]["cited"] = ids[:3] + ids[5:20]
    return json.dumps(document)


def run(repeat: int) -> list[Measurement]:
    text = review_with_evidence(30)
    review = Review.model_validate_json(text)
    assert len(review.evidence) == 30
    return [
        compare(
            f"all {len(REGISTRY)} checks, review with 30 evidence items",
            lambda: evaluate(review),
            "pydantic validation of the same review",
            lambda: Review.model_validate_json(text),
            repeat=repeat,
            target=10.0,
        )
    ]
