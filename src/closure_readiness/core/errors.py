"""Turn validation errors into short messages that name the field in a caseworker's words."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

_MESSAGES: dict[str, str] = {
    "missing": "This is required; enter it.",
    "extra_forbidden": "This field is not part of a review; remove it.",
    "string_too_long": "Shorten this to at most {max_length} characters.",
    "string_too_short": "Enter this; it cannot be empty.",
    "too_long": "Too many entries here; at most {max_length} are allowed.",
    "date_from_datetime_parsing": "Enter a date as year-month-day, for example 2025-03-14.",
    "date_parsing": "Enter a date as year-month-day, for example 2025-03-14.",
    "date_from_datetime_inexact": "Enter a date without a time, for example 2025-03-14.",
    "date_type": "Enter a date as year-month-day, for example 2025-03-14.",
    "enum": "Choose one of: {expected}.",
    "bool_parsing": "Answer yes (true) or no (false).",
    "bool_type": "Answer yes (true) or no (false).",
    "int_parsing": "Enter a whole number.",
    "int_type": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "greater_than_equal": "Enter a number of at least {ge}.",
    "less_than_equal": "Enter a number no larger than {le}.",
    "string_type": "Enter text here.",
    "string_unicode": "The text contains a broken character; retype it.",
    "list_type": "This should be a list.",
    "dict_type": "This should be a set of named values.",
    "model_type": "This should be a set of named values.",
    "model_attributes_type": "This should be a set of named values.",
    "string_pattern_mismatch": "This is not in the expected form.",
    "json_invalid": "The file is not valid JSON: {error}.",
    "json_type": "The file should hold one JSON object.",
}


@dataclass(frozen=True)
class FieldProblem:
    """One problem with the input: where (in words) and what to do."""

    field: str
    message: str
    loc: tuple[int | str, ...] = ()
    """Where in the input, as pydantic gives it: lets a form show the message by its field."""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def explain(error: ValidationError, model: type[BaseModel] | None = None) -> list[FieldProblem]:
    """Every problem in a validation error, with the field named as people say it."""
    problems: list[FieldProblem] = []
    for detail in error.errors(include_url=False):
        problems.append(
            FieldProblem(
                field=_field_name(detail["loc"], model),
                message=_message(detail),
                loc=tuple(detail["loc"]),
            )
        )
    return problems


def _message(detail: Any) -> str:
    kind = detail["type"]
    if kind == "model_type" and not detail["loc"]:
        kind = "json_type"  # the whole input is not an object: a list, a number, a string
    template = _MESSAGES.get(kind)
    if template is None:
        return str(detail["msg"])
    context = dict(detail.get("ctx") or {})
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return str(detail["msg"])


def _field_name(loc: tuple[int | str, ...], model: type[BaseModel] | None) -> str:
    words: list[str] = []
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            if words:
                words[-1] = f"{words[-1]} {part + 1}"
            continue
        field = None
        if current is not None and hasattr(current, "model_fields"):
            field = current.model_fields.get(part)
        if field is None:
            words.append(_shown_key(str(part)))
            current = None
            continue
        words.append(field.title or str(part).replace("_", " "))
        current = _inner_model(field.annotation)
    return " › ".join(words)


_KEY_SHOWN = 40
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _shown_key(key: str) -> str:
    """A name taken from the input (an unknown field, a dictionary key), safe to show.

    It is the person's own text: control, format and text-direction characters are shown as
    escapes (a terminal escape or a bidi override must not reach the screen) and a long key is
    cut short.
    """
    shown = "".join(
        f"\\u{ord(char):04x}" if unicodedata.category(char) in _HIDDEN_CATEGORIES else char
        for char in key[:_KEY_SHOWN]
    )
    return shown.replace("_", " ") + ("…" if len(key) > _KEY_SHOWN else "")


def _inner_model(annotation: Any) -> Any:
    """The model a field holds, looking through list[...], X | None and dict[..., X]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
