"""Turn validation errors into short messages that name the field in a caseworker's words."""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
import unicodedata
from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from closure_readiness.core.answers_text import in_sentence, sentence_case, title_of
from closure_readiness.core.vocabulary import Labelled

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


DATE_PROMPT = "Enter the date as dd/mm/yyyy, for example 14/03/2025."
"""How a form asks for a date (the file format's year-month-day is for the command line)."""
CHOICE_PROMPT = "Choose one of the options."
YES_NO_PROMPT = "Answer yes or no."

ITEM_NOUNS: dict[str, str] = {
    "causes": "cause",
    "plan_outcomes": "plan outcome",
    "protective_factors": "protective factor",
    "safety_network": "safety network member",
    "needs": "remaining need",
    "triggers": "trigger",
    "adults": "adult in the household",
    "previous_closures": "previous closure",
    "orders": "statutory order",
    "evidence": "evidence",
    "incidents": "incident",
    "exceptions": "exception",
}
"""One entry of a list, as a form names it ("cause 2", "evidence E4")."""


def item_noun(list_name: str) -> str:
    return ITEM_NOUNS.get(list_name, "entry")


@dataclass(frozen=True)
class FieldProblem:
    """One problem with the input: where (in words) and what to do."""

    field: str
    message: str
    loc: tuple[int | str, ...] = ()
    """Where in the input, as pydantic gives it: lets a form show the message by its field."""
    question: str = ""
    """The question as a form shows it, and where: "Plan: who acts (role), in cause 3".
    Empty when the problem is with a whole answer or the whole review."""
    prompt: str = ""
    """What to do, in a form's words (dates as dd/mm/yyyy); empty when `message` says it."""

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    @property
    def beside(self) -> str:
        """The message shown next to the field itself."""
        return self.prompt or self.message

    @property
    def in_words(self) -> str:
        """The problem for a form's error summary: the question named as the form shows it,
        never a path ("Plan: who acts (role), in cause 3: enter this; it cannot be empty.")."""
        if not self.question:
            return self.beside
        return f"{self.question}: {in_sentence(self.beside)}"


def explain(
    error: ValidationError, model: type[BaseModel] | None = None, *, document: Any = None
) -> list[FieldProblem]:
    """Every problem in a validation error, with the field named as people say it.

    `document` is the input that was validated: with it, an entry of the evidence register or
    the incidents is named by its id ("evidence E6") rather than its position.
    """
    problems: list[FieldProblem] = []
    for detail in error.errors(include_url=False):
        loc = tuple(detail["loc"])
        message = _message(detail)
        question, field = question_at(loc, model, document)
        problems.append(
            FieldProblem(
                field=_field_name(detail["loc"], model),
                message=message,
                loc=loc,
                question=question,
                prompt=_prompt(detail, field, message),
            )
        )
    return problems


_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DATE_KINDS = frozenset(
    {"date_from_datetime_parsing", "date_parsing", "date_from_datetime_inexact", "date_type"}
)


def _prompt(detail: Any, field: FieldInfo | None, message: str) -> str:
    """The message as a form says it; "" when it is the same."""
    kind = detail["type"]
    base = _strip(field.annotation) if field is not None else None
    if kind in _DATE_KINDS or (kind == "missing" and base is dt.date):
        return DATE_PROMPT
    if kind == "enum" or (kind == "missing" and isinstance(base, type) and issubclass(base, Enum)):
        return CHOICE_PROMPT
    if kind in ("bool_parsing", "bool_type") or (kind == "missing" and base is bool):
        return YES_NO_PROMPT
    shown = _ISO_DAY.sub(r"\3/\2/\1", message)
    return shown if shown != message else ""


def question_at(
    loc: tuple[int | str, ...], model: type[BaseModel] | None, document: Any = None
) -> tuple[str, FieldInfo | None]:
    """The question at `loc` as a form labels it, and the field it is (None for an entry or
    a whole answer). Containers with no title (the answers, a step) are the page itself."""
    items: list[str] = []
    leaf = ""
    current: Any = model
    field: FieldInfo | None = None
    data = document
    keyed: str = ""  # the label of a dictionary key ("Domestic abuse"), for the field in it
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            if field is not None and _inner_model(field.annotation) is not None:
                entry = data[part] if isinstance(data, list) and 0 <= part < len(data) else None
                ident = entry.get("id") if isinstance(entry, dict) else None
                noun = item_noun(str(previous))
                items.append(
                    f"{noun} {_shown_key(ident)}"
                    if isinstance(ident, str)
                    else f"{noun} {part + 1}"
                )
                leaf, field = "", None
            data = data[part] if isinstance(data, list) and 0 <= part < len(data) else None
            previous = part
            continue
        data = data.get(part) if isinstance(data, dict) else None
        fields = getattr(current, "model_fields", None)
        known = fields.get(part) if isinstance(fields, dict) else None
        if known is None:
            key_type = _dict_key_type(field.annotation) if field is not None else None
            label = _key_label(key_type, part)
            if previous == "rationales":
                label = f"Rationale for {_shown_key(part)}"
            keyed, leaf = label, label
            current = _inner_model(field.annotation) if field is not None else None
            field = None
            previous = part
            continue
        field = known
        label = title_of(part, known)
        if keyed:
            label, keyed = f"{keyed}: {in_sentence(label)}", ""
        # A step or the answers as a whole is the page itself, not a question on it.
        leaf = label if known.title else ""
        current = _inner_model(known.annotation)
        previous = part
    whole = field is not None and _inner_model(field.annotation) is not None
    if whole and field is not None and typing.get_origin(_strip(field.annotation)) is not list:
        leaf, field = "", None  # a whole answer (a step): the message says what is wrong
    where = ", in " + " of ".join(reversed(items)) if items else ""
    if leaf:
        return leaf + where, field
    if items:
        return sentence_case(items[-1]) + (
            ", in " + " of ".join(reversed(items[:-1])) if len(items) > 1 else ""
        ), None
    return "", None


def _key_label(key_type: Any, key: str) -> str:
    if isinstance(key_type, type) and issubclass(key_type, Labelled):
        try:
            return key_type(key).label
        except ValueError:
            pass
    return sentence_case(_shown_key(key))


def _strip(annotation: Any) -> Any:
    """Annotated[X, ...] and X | None as X."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _strip(args[0])
    return annotation


def _dict_key_type(annotation: Any) -> Any:
    stripped = _strip(annotation)
    if typing.get_origin(stripped) is dict:
        return _strip(typing.get_args(stripped)[0])
    return None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?\d+(\.\d*)?")


def _wrong_json_type(kind: str, given: Any) -> str | None:
    """What to do about a value of the wrong JSON type in a file read strictly (true for a
    number of weeks, a number for a date, a date with a time, "4" for 4), or None."""
    number = isinstance(given, int | float) and not isinstance(given, bool)
    if kind == "int_type":
        if isinstance(given, bool):
            return "Enter a whole number, not true or false."
        if isinstance(given, str) and _NUMBER.fullmatch(given.strip()):
            return "Enter a whole number without quotation marks, for example 4."
        if isinstance(given, float):
            return "Enter a whole number, without a decimal point."
    if kind == "date_type" and number:
        return 'Enter a date as year-month-day, for example "2025-03-14", not a number.'
    if kind == "date_parsing" and _date_and_time(given):
        return "Enter the date alone, without a time, for example 2025-03-14."
    if kind == "bool_type":
        if isinstance(given, str):
            return "Answer true (yes) or false (no), without quotation marks."
        if number:
            return "Answer true (yes) or false (no), not a number."
    return None


def _date_and_time(given: Any) -> bool:
    """Whether `given` is a date followed by a time ("2025-03-14T10:00:00", "2025-03-14 10:00")."""
    day = len("2025-03-14")
    return (
        isinstance(given, str)
        and len(given) > day
        and _ISO_DATE.fullmatch(given[:day]) is not None
        and given[day] in "Tt "
    )


def _message(detail: Any) -> str:
    kind = detail["type"]
    if kind == "model_type" and not detail["loc"]:
        kind = "json_type"  # the whole input is not an object: a list, a number, a string
    wrong_type = _wrong_json_type(kind, detail.get("input"))
    if wrong_type is not None:
        return wrong_type
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
