"""Answers as people read them: in summaries, in the manager's view of what a check rested
on, and anywhere a stored value is shown as words rather than as a widget."""

from __future__ import annotations

import datetime as dt
import types
import typing
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

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
        return "; ".join(answer_lines(value, skip=()))
    if isinstance(value, dict):
        # In vocabulary order, so a report re-run on sealed JSON (keys sorted) reads the same.
        return "; ".join(f"{plain(k)}: {plain(v)}" for k, v in sorted(value.items(), key=_order))
    if isinstance(value, list):
        joiner = " | " if any(isinstance(item, BaseModel) for item in value) else ", "
        return joiner.join(plain(item) for item in value)
    return str(value)


def sentence_case(title: str) -> str:
    """First letter up, the rest as written: "risk indicator tool (RIT)" keeps its acronym."""
    return title[:1].upper() + title[1:]


def title_of(name: str, field: FieldInfo) -> str:
    """A field's title as a label."""
    return sentence_case(field.title or name.replace("_", " "))


def answer_lines(
    model: BaseModel, *, skip: tuple[str, ...] = ("cited",), unrecorded: bool = False
) -> list[str]:
    """'Title: value' for every field that holds something, in the model's own words.

    With `unrecorded`, a question still unanswered (a choice or yes/no left at "not recorded")
    is listed as such, so a summary never hides what is missing.
    """
    lines = []
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if name in skip:
            continue
        if value is None and unrecorded:
            if not is_question(field):
                continue
        elif value in (None, "", [], {}):
            continue
        lines.append(f"{title_of(name, field)}: {plain(value)}")
    return lines


def is_question(field: FieldInfo) -> bool:
    """A choice or yes/no that starts as "not recorded" (None) until someone answers it."""
    annotation = field.annotation
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return False
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return len(args) == 1 and (
        args[0] is bool or (isinstance(args[0], type) and issubclass(args[0], Enum))
    )


def answer_text(review: BaseModel, path: str) -> tuple[str, str]:
    """("Lead professional (role)", "Senior youth worker") for "exit.lead_role"."""
    owner: Any = review
    parts = path.split(".")
    if parts[0] != "case":
        owner = review.answers  # type: ignore[attr-defined]
    for part in parts[:-1]:
        owner = getattr(owner, part)
    field = type(owner).model_fields[parts[-1]]
    return title_of(parts[-1], field), plain(getattr(owner, parts[-1]))


def _order(item: tuple[Any, Any]) -> tuple[int, str]:
    key = item[0]
    if isinstance(key, Labelled):
        return list(type(key)).index(key), ""
    return 0, str(key)
