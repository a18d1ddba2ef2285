"""Evaluating every check on a full review, against reading the same review with plain pydantic.

The floor is "the same work done the simplest way": turning the review's JSON into objects a
check could read, with pydantic and nothing of ours. `plain_twin` builds a model with the
review's fields and types but none of its validators, constraints or configuration, so the
floor is not our own validation (which does much more than parse, and was the floor before).
Our own validation is reported beside it, for scale.
"""

from __future__ import annotations

import datetime as dt
import json
import types
import typing
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, create_model

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


def _plain(annotation: Any, made: dict[type, type]) -> Any:
    """`annotation` with every model replaced by its plain twin and every constraint dropped."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _plain(typing.get_args(annotation)[0], made)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return plain_twin(annotation, made)
    if origin is None:
        return annotation
    args = tuple(_plain(arg, made) for arg in typing.get_args(annotation))
    if origin in (types.UnionType, typing.Union):
        return typing.Union[args]  # noqa: UP007 (a runtime-built union)
    return origin[args] if len(args) > 1 else origin[args[0]]


def plain_twin(model: type[BaseModel], made: dict[type, type] | None = None) -> type[BaseModel]:
    """A pydantic model with `model`'s fields and types, and nothing else of ours."""
    made = {} if made is None else made
    if model in made:
        return made[model]
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            default: Any = ...
        elif info.default_factory is not None:
            default = info.default_factory()  # type: ignore[call-arg]
        else:
            default = info.default
        fields[name] = (_plain(info.annotation, made), default)
    twin = create_model(f"Plain{model.__name__}", **fields)
    made[model] = twin
    return twin


def run(repeat: int) -> list[Measurement]:
    text = review_with_evidence(30)
    review = Review.model_validate_json(text)
    assert len(review.evidence) == 30
    plain = plain_twin(Review)
    assert len(plain.model_validate_json(text).evidence) == 30  # type: ignore[attr-defined]
    return [
        compare(
            f"all {len(REGISTRY)} checks, review with 30 evidence items",
            lambda: evaluate(review),
            "plain pydantic reading the same review (no validators)",
            lambda: plain.model_validate_json(text),
            repeat=repeat,
            target=None,
        ),
        compare(
            "our validation of the same review (for scale)",
            lambda: Review.model_validate_json(text),
            "plain pydantic reading the same review (no validators)",
            lambda: plain.model_validate_json(text),
            repeat=repeat,
            target=None,
        ),
    ]
