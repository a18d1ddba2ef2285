"""Answers as people read them: what a passing check rested on, shown to the manager."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from closure_readiness.core.vocabulary import Labelled

NOT_RECORDED = "not recorded"


def plain(value: Any) -> str:
    """A stored value in words: labels for choices, 4/3/2025 for dates, yes/no, "not recorded"."""
    if value is None or value == "" or value == [] or value == {}:
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Labelled):
        return value.label
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, BaseModel):
        parts = [
            plain(getattr(value, name))
            for name in type(value).model_fields
            if getattr(value, name) not in (None, "", [], {}, False)
        ]
        return ", ".join(parts)
    if isinstance(value, dict):
        # In vocabulary order, so a report re-run on sealed JSON (keys sorted) reads the same.
        return "; ".join(f"{plain(k)}: {plain(v)}" for k, v in sorted(value.items(), key=_order))
    if isinstance(value, list):
        return "; ".join(plain(item) for item in value)
    return str(value)


def answer_text(review: BaseModel, path: str) -> tuple[str, str]:
    """("Lead professional (role)", "Senior youth worker") for "exit.lead_role"."""
    owner: Any = review
    parts = path.split(".")
    if parts[0] != "case":
        owner = review.answers  # type: ignore[attr-defined]
    for part in parts[:-1]:
        owner = getattr(owner, part)
    field = type(owner).model_fields[parts[-1]]
    return sentence_case(field.title or parts[-1].replace("_", " ")), plain(
        getattr(owner, parts[-1])
    )


def sentence_case(title: str) -> str:
    """First letter up, the rest as written: "risk indicator tool (RIT)" keeps its acronym."""
    return title[:1].upper() + title[1:]


def _order(item: tuple[Any, Any]) -> tuple[int, str]:
    key = item[0]
    if isinstance(key, Labelled):
        return list(type(key)).index(key), ""
    return 0, str(key)
