"""Per-check example data: JSON merge patches (RFC 7386) over a whole-case review in examples/.

Each file in tests/examples/<check id>/ is named pass_<what>.json or fail_<what>.json and holds
{"description": ..., "base": <examples/ file stem>, "as_of": "YYYY-MM-DD" (optional),
"merge": <merge patch over the base review>}.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

from closure_readiness.core.review import Review

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
"""tests/examples/: one folder per check id, holding that check's pass and fail examples."""
SCENARIOS_DIR = REPO_ROOT / "examples"
"""examples/: the whole-case reviews the per-check examples patch."""
KEYS = {"description", "base", "as_of", "merge"}


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes a key, anything else replaces.

    Neither argument is changed; the result shares nothing with them.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def example_files() -> list[Path]:
    """Every example file, in a stable order."""
    return sorted(EXAMPLES_DIR.glob("*/*.json"))


def example_id(path: Path) -> str:
    """How a test names an example: 'change.E003/fail_only_parent'."""
    return f"{path.parent.name}/{path.stem}"


def load_document(path: Path) -> tuple[dict[str, Any], dt.date | None]:
    """The merged review document (not yet validated) and the as-of date, if the file names one."""
    example = json.loads(path.read_text(encoding="utf-8"))
    unknown = set(example) - KEYS
    if unknown or not {"description", "base", "merge"} <= set(example):
        raise ValueError(
            f"{path}: keys must be {sorted(KEYS)} (as_of optional), got {sorted(example)}"
        )
    if not example["description"].strip():
        raise ValueError(f"{path}: the description is empty")
    base_path = SCENARIOS_DIR / f"{example['base']}.json"
    base = json.loads(base_path.read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(example["as_of"]) if example.get("as_of") else None
    return apply_merge_patch(base, example["merge"]), as_of


def load_example(path: Path) -> tuple[Review, dt.date | None]:
    """The example's review, validated, and the as-of date it is to be evaluated at (if any)."""
    document, as_of = load_document(path)
    return Review.model_validate(document), as_of
