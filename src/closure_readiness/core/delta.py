"""Compact saved versions: a JSON document as the changes from the one before it.

A saved step of a review changes a few answers or one evidence item; storing the whole review
again each time cost about 1.2 MB of history for a 30-item review (issue 12, item 5). A delta
holds only what changed, nested: `delta(old, new)` works it out and `apply_delta(old, d)` gives
`new` back. Both are pure: neither changes its arguments, and the result of `apply_delta`
shares the unchanged parts of `old` (nobody changes a rebuilt document, so no copy is made).

A patch of one value is one of:

- `["=", value]`: the value replaced whole;
- `{"key": patch, ...}`: a mapping changed key by key (`["-"]` removes a key);
- `["L", [step, ...]]`: a list rebuilt from the old one by steps over it: a number n keeps the
  next n old items, `["p", patch]` patches the next old item, `["d", n]` drops the next n old
  items, `["n", [value, ...]]` inserts new items; the old items left over at the end are kept.

A stored delta text is `["delta", patch]` (canonical JSON): a JSON array, so it is never taken
for a whole review, which is always a JSON object.
"""

from __future__ import annotations

import json
from difflib import SequenceMatcher
from typing import Any

from closure_readiness.core.canonical import canonical_json

DELTA_TAG = "delta"


class DeltaError(ValueError):
    """A delta that does not fit the document it is applied to (tampered or damaged)."""


def _same(old: Any, new: Any) -> bool:
    """Equal as JSON, all the way down: `1 == True`, `[0] == [False]` and `1 == 1.0` in
    Python, but not in a stored document."""
    if type(old) is not type(new):
        return False
    if isinstance(old, dict):
        return old.keys() == new.keys() and all(_same(old[key], new[key]) for key in old)
    if isinstance(old, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    return bool(old == new)


def diff(old: Any, new: Any) -> Any:
    """The patch turning `old` into `new` (None when they are the same)."""
    if _same(old, new):
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        return _diff_mapping(old, new)
    if isinstance(old, list) and isinstance(new, list):
        return _diff_list(old, new)
    return ["=", new]


def _diff_mapping(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for key, value in new.items():
        if key not in old:
            patch[key] = ["=", value]
        else:
            changed = diff(old[key], value)
            if changed is not None:
                patch[key] = changed
    for key in old:
        if key not in new:
            patch[key] = ["-"]
    return patch


def _diff_list(old: list[Any], new: list[Any]) -> list[Any]:
    """Steps over the old list: the common start and end kept, and the middle aligned item by
    item (an inserted, removed or changed item costs only itself)."""
    start = 0
    while start < len(old) and start < len(new) and _same(old[start], new[start]):
        start += 1
    end = 0
    while (
        end < len(old) - start
        and end < len(new) - start
        and _same(old[len(old) - 1 - end], new[len(new) - 1 - end])
    ):
        end += 1
    old_middle, new_middle = old[start : len(old) - end], new[start : len(new) - end]
    steps: list[Any] = []

    def keep(count: int) -> None:
        if count:
            if steps and isinstance(steps[-1], int):
                steps[-1] += count
            else:
                steps.append(count)

    keep(start)
    blocks: list[tuple[str, int, int, int, int]]
    if len(old_middle) == len(new_middle):
        blocks = [("replace", 0, len(old_middle), 0, len(new_middle))]
    else:
        matcher = SequenceMatcher(
            None,
            [canonical_json(v) for v in old_middle],
            [canonical_json(v) for v in new_middle],
            autojunk=False,
        )
        blocks = [(str(tag), a, b, c, d) for tag, a, b, c, d in matcher.get_opcodes()]
    for tag, i1, i2, j1, j2 in blocks:
        if tag == "equal":
            keep(i2 - i1)
            continue
        paired = min(i2 - i1, j2 - j1)
        for before, after in zip(
            old_middle[i1 : i1 + paired], new_middle[j1 : j1 + paired], strict=True
        ):
            changed = diff(before, after)
            if changed is None:
                keep(1)
            else:
                steps.append(["p", changed])
        if i2 - i1 > paired:
            steps.append(["d", i2 - i1 - paired])
        if j2 - j1 > paired:
            steps.append(["n", new_middle[j1 + paired : j2]])
    keep(end)
    return ["L", steps]


def apply(old: Any, patch: Any) -> Any:
    """`old` with `patch` applied (None: unchanged). Raises DeltaError when it does not fit."""
    if patch is None:
        return old
    if isinstance(patch, dict):
        if not isinstance(old, dict):
            raise DeltaError("a change to named parts of something that has none")
        result = dict(old)
        for key, change in patch.items():
            if change == ["-"]:
                if key not in result:
                    raise DeltaError(f"a removal of {key!r}, which is not there")
                del result[key]
            elif key in result:
                result[key] = apply(result[key], change)
            elif isinstance(change, list) and len(change) == 2 and change[0] == "=":
                result[key] = change[1]
            else:
                raise DeltaError(f"a change to {key!r}, which is not there")
        return result
    if isinstance(patch, list) and len(patch) == 2 and patch[0] == "=":
        return patch[1]
    if isinstance(patch, list) and len(patch) == 2 and patch[0] == "L":
        return _apply_list(old, patch[1])
    raise DeltaError("a change of an unknown kind")


def _apply_list(old: Any, steps: Any) -> list[Any]:
    if not isinstance(old, list) or not isinstance(steps, list):
        raise DeltaError("a change to a list of something that is not one")
    result: list[Any] = []
    at = 0
    for step in steps:
        if isinstance(step, int) and not isinstance(step, bool) and step >= 0:
            if at + step > len(old):
                raise DeltaError("a list kept beyond its end")
            result.extend(old[at : at + step])
            at += step
        elif isinstance(step, list) and len(step) == 2 and step[0] == "p":
            if at >= len(old):
                raise DeltaError("a change to a list item that is not there")
            result.append(apply(old[at], step[1]))
            at += 1
        elif (
            isinstance(step, list)
            and len(step) == 2
            and step[0] == "d"
            and isinstance(step[1], int)
            and 0 <= step[1] <= len(old) - at
        ):
            at += step[1]
        elif isinstance(step, list) and len(step) == 2 and step[0] == "n":
            if not isinstance(step[1], list):
                raise DeltaError("new list items that are not a list")
            result.extend(step[1])
        else:
            raise DeltaError("a list change of an unknown kind")
    result.extend(old[at:])
    return result


def delta_text(old: dict[str, Any], new: dict[str, Any]) -> str:
    """The stored text of the delta turning document `old` into `new`."""
    return canonical_json([DELTA_TAG, diff(old, new) or {}])


def is_delta_text(text: str) -> bool:
    """Whether a stored version's text is a delta (a whole document is a JSON object)."""
    return text.startswith("[")


def apply_delta_text(old: dict[str, Any], text: str) -> dict[str, Any]:
    """The document `old` with the stored delta `text` applied. Raises DeltaError when the
    text is not a delta or does not fit `old`."""
    try:
        stored = json.loads(text)
    except ValueError:
        raise DeltaError("not readable as a delta") from None
    if not (isinstance(stored, list) and len(stored) == 2 and stored[0] == DELTA_TAG):
        raise DeltaError("not a delta")
    result = apply(old, stored[1])
    if not isinstance(result, dict):
        raise DeltaError("a delta that does not give a document")
    return result
