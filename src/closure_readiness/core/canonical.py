"""Canonical JSON and content hashes: the same content always gives the same bytes and hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant white space, UTF-8 text kept as is."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON, as lowercase hex."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
