"""Answers as people read them: in summaries, in the manager's view of what a check rested
on, and anywhere a stored value is shown as words rather than as a widget."""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from closure_readiness.core.vocabulary import Labelled
from closure_readiness.core.words import NONE_RECORDED, NOT_RECORDED, day, human


def plain(value: Any, *, printed: bool = False) -> str:
    """A stored value in words, the one way the app and both PDFs write it: labels for
    choices, yes/no, "not recorded" for no answer and "none recorded" for an empty list.

    On screen dates read 04/03/2025. `printed` is the form a printed record's table cell
    takes: "4 March 2025", and the words that stand alone in a cell capitalised ("Yes",
    "Not recorded"). Typed text is never recased.
    """
    if value is None or value == "":
        return _alone(NOT_RECORDED, printed)
    if value == [] or value == {}:
        return _alone(NONE_RECORDED, printed)
    if isinstance(value, bool):
        return _alone("yes" if value else "no", printed)
    if isinstance(value, Labelled):
        return value.label
    if isinstance(value, dt.date):
        return human(value) if printed else day(value)
    if isinstance(value, BaseModel):
        return join_clauses(answer_lines(value, skip=(), printed=printed))
    if isinstance(value, dict):
        # In vocabulary order, so a report re-run on sealed JSON (keys sorted) reads the same.
        return join_clauses(
            [
                f"{plain(k, printed=printed)}: {plain(v, printed=printed)}"
                for k, v in sorted(value.items(), key=_order)
            ]
        )
    if isinstance(value, list):
        joiner = " | " if any(isinstance(item, BaseModel) for item in value) else ", "
        return joiner.join(plain(item, printed=printed) for item in value)
    return str(value)


def _alone(word: str, printed: bool) -> str:
    return sentence_case(word) if printed else word


def sentence_case(title: str) -> str:
    """First letter up, the rest as written: "risk indicator tool (RIT)" keeps its acronym."""
    return title[:1].upper() + title[1:]


def in_sentence(label: str) -> str:
    """A label inside a sentence: "Record or data" -> "record or data", but an acronym or a
    name keeps its capitals ("CAMHS threshold not met", "MACE oversight", "GP").

    Only the first letter is lowered, and only when the first word is not an acronym: the
    rest of a label is already written as it should read ("Still open to MACE").
    """
    first = label.split(" ", 1)[0]
    if len(first) > 1 and first[1:2].isupper():
        return label
    return label[:1].lower() + label[1:]


def plural(count: int, one: str, many: str | None = None) -> str:
    """ "1 blocker", "2 blockers", "1 person", "3 people": never "blocker(s)"."""
    word = one if count == 1 else (many if many is not None else one + "s")
    return f"{count} {word}"


def join_clauses(clauses: list[str], separator: str = "; ") -> str:
    """Clauses joined into one line without doubled punctuation: a clause that ends with a full
    stop (typed text often does) loses it before the separator, so no line reads ".;"."""
    trimmed = [c.rstrip() for c in clauses if c.strip()]
    last = len(trimmed) - 1
    kept = [
        c[:-1] if index < last and c.endswith(".") and not c.endswith("..") else c
        for index, c in enumerate(trimmed)
    ]
    return separator.join(kept)


def title_of(name: str, field: FieldInfo) -> str:
    """A field's title as a label."""
    return sentence_case(field.title or name.replace("_", " "))


def answer_lines(
    model: BaseModel,
    *,
    skip: tuple[str, ...] = ("cited",),
    unrecorded: bool = False,
    printed: bool = False,
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
        lines.append(f"{title_of(name, field)}: {_shown(value, printed=printed)}")
    return lines


_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _shown(value: Any, *, printed: bool = False) -> str:
    """As `plain`, and a month of birth ("2010-05") as people write it: 05/2010."""
    if isinstance(value, str) and (month := _YEAR_MONTH.match(value)):
        return f"{month[2]}/{month[1]}"
    return plain(value, printed=printed)


def entry_line(name: str, model: BaseModel) -> str:
    """One entry of a list on one line, named first: "Cause 1: Custody or remand; Date the
    circumstance ends: 27/06/2025; ...". The first answer stands for the entry unless it is a
    date or a yes/no, which need their question to make sense."""
    fields = type(model).model_fields
    first = next(iter(fields))
    value = getattr(model, first)
    lines = answer_lines(model, skip=(), unrecorded=True)
    if value not in (None, "") and not isinstance(value, (bool, dt.date)) and lines:
        lines[0] = _shown(value)
    return f"{name}: " + (join_clauses(lines) if lines else NOT_RECORDED)


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
