"""What changed between two versions of a review, as paths a manager can read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Leaf-level differences; lists of records with ids are matched by id, others by position."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for key in sorted(set(before) | set(after)):
            found += changes(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(before, list) and isinstance(after, list):
        if all(isinstance(x, dict) and "id" in x for x in [*before, *after]) and (before or after):
            old = {x["id"]: x for x in before}
            new = {x["id"]: x for x in after}
            found = []
            for ident in sorted(set(old) | set(new)):
                found += changes(old.get(ident), new.get(ident), f"{path}[{ident}]")
            return found
        if before == after:
            return []
        return [Change(path, before, after)]
    if before == after:
        return []
    return [Change(path, before, after)]
