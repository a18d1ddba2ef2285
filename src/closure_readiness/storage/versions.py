"""A review's saved versions, kept compactly (issue 12, item 5).

A saved step is stored as a delta against the version before it (`core.delta`); the first
version, every `FULL_EVERY`th, every version a manager's change wrote, and the version a
worker signed off (so also the one a manager returned) are stored whole: the last by a trigger
on sign-off (migration m009), whatever code signs. Versions stored before compaction are whole.
`content_hash` is always the hash of the whole content, so a reader rebuilds and checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from closure_readiness.core.canonical import content_hash
from closure_readiness.core.delta import DeltaError, apply_delta_text, delta_text, is_delta_text
from closure_readiness.storage.database import Db

FULL_EVERY = 50
"""A whole copy at least every this many versions: a version is rebuilt from at most
FULL_EVERY - 1 deltas (a conflict check reads that many rows, at worst)."""


def stored_text(
    version: int,
    previous: dict[str, Any] | None,
    document: dict[str, Any],
    whole: str,
    digest: str,
) -> str:
    """The text to store for `version` of a review (`document`, stored whole as `whole`, with
    hash `digest`) whose version before it is `previous`: a delta when it is shorter and
    rebuilds to exactly `digest`, else `whole`."""
    if previous is None or version % FULL_EVERY == 0:
        return whole
    text = delta_text(previous, document)
    try:
        if content_hash(apply_delta_text(previous, text)) == digest:
            return text if len(text) < len(whole) else whole
    except DeltaError:
        pass
    return whole


@dataclass(frozen=True)
class Rebuilt:
    """One stored version, its whole content worked out again (None when it cannot be)."""

    row: dict[str, Any]
    document: dict[str, Any] | None
    delta: bool

    @property
    def matches(self) -> bool:
        """Whether the rebuilt content is what the version's hash says was saved."""
        return self.document is not None and content_hash(self.document) == self.row.get(
            "content_hash"
        )


def rebuilt(rows: Iterable[dict[str, Any]]) -> Iterator[Rebuilt]:
    """Each version's whole content, from rows in version order (each with `version` and
    `content`): a whole copy read as it is, a delta applied to the version just before it.
    A delta after a gap, or after a version that cannot be rebuilt, cannot be rebuilt either."""
    previous: dict[str, Any] | None = None
    previous_number: Any = None
    for row in rows:
        text = row.get("content")
        text = text if isinstance(text, str) else ""
        document: dict[str, Any] | None = None
        delta = is_delta_text(text)
        if delta:
            if previous is not None and previous_number == row.get("version", 0) - 1:
                try:
                    document = apply_delta_text(previous, text)
                except DeltaError:
                    document = None
        else:
            try:
                loaded = json.loads(text)
            except ValueError:
                loaded = None
            document = loaded if isinstance(loaded, dict) else None
        yield Rebuilt(row=row, document=document, delta=delta)
        previous, previous_number = document, row.get("version")


def document_at(db: Db, review_id: int, version: int) -> dict[str, Any] | None:
    """The whole content of one saved version of a review (None when there is no such version
    or it cannot be rebuilt): read back to the whole copy it builds on."""
    rows: list[dict[str, Any]] = []
    for row in db.query(
        "SELECT version, content FROM review_versions WHERE review_id = ? AND version <= ? "
        "ORDER BY version DESC",
        [review_id, version],
    ):
        rows.append(row)
        if not is_delta_text(str(row["content"])):
            break
    if not rows or rows[0]["version"] != version:
        return None
    found = last_rebuilt(reversed(rows))
    return found.document if found is not None else None


def last_rebuilt(rows: Iterable[dict[str, Any]]) -> Rebuilt | None:
    """The last of `rebuilt(rows)`: the latest version, rebuilt from the versions before it."""
    found = None
    for each in rebuilt(rows):
        found = each
    return found


def versions_bytes(db: Db, review_id: int) -> int:
    """How many bytes the saved versions of one review hold (their content)."""
    row = db.execute(
        "SELECT coalesce(sum(length(CAST(content AS BLOB))), 0) FROM review_versions "
        "WHERE review_id = ?",
        [review_id],
    ).fetchone()
    return int(row[0])
