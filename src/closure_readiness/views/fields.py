"""Widgets for a model's fields, chosen by type, seeded from stored values, keyed by path.

Answers are kept in the database, not in widget state: each widget is re-seeded with `value=`
from the stored review whenever it is drawn, so moving between steps loses nothing.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import streamlit as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from closure_readiness.core.answers_text import title_of
from closure_readiness.core.errors import FieldProblem
from closure_readiness.core.review import EvidenceItem
from closure_readiness.core.text import LONG_TEXT_MAX, SHORT_TEXT_MAX
from closure_readiness.core.vocabulary import Labelled

EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2100, 12, 31)
DATE_FORMAT = "DD/MM/YYYY"
NOT_RECORDED = "Not recorded"
"""How an answer nobody has given yet is shown: never as the hopeful answer."""
YES, NO = "Yes", "No"
YES_NO_OPTIONS = (NOT_RECORDED, YES, NO)
CITED_LABEL = "Evidence this answer relies on"

E = TypeVar("E", bound=Enum)


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    annotation = _strip_annotated(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return _strip_annotated(args[0]), True
    return annotation, False


def _bound(field: FieldInfo, name: str) -> Any:
    for item in field.metadata:
        value = getattr(item, name, None)
        if value is not None:
            return value
    return None


def _max_length(field: FieldInfo) -> int:
    limit = _bound(field, "max_length")
    return int(limit) if limit else LONG_TEXT_MAX


def evidence_label(item: EvidenceItem) -> str:
    shows = item.shows if len(item.shows) <= 60 else item.shows[:57] + "..."
    return f"{item.id} · {item.agency.label} · {item.observed_on:%d/%m/%Y} · {shows}"


def problems_at(problems: list[FieldProblem], loc: tuple[int | str, ...]) -> list[str]:
    return [p.message for p in problems if p.loc[: len(loc)] == loc and p.loc]


def yes_no(label: str, value: bool | None, *, key: str, help: str | None = None) -> bool | None:
    """A yes-or-no question that may not be answered yet: "Not recorded", "Yes", "No".

    Stores None, True or False. The options are words, so what is checked is what is shown.
    """
    current = NOT_RECORDED if value is None else (YES if value else NO)
    picked = st.radio(
        label,
        YES_NO_OPTIONS,
        index=YES_NO_OPTIONS.index(current),
        key=key,
        help=help,
        horizontal=True,
    )
    return None if picked == NOT_RECORDED else picked == YES


def optional_choice(
    label: str, choices: type[E], value: E | None, *, key: str, help: str | None = None
) -> E | None:
    """A choice from a vocabulary that may not be made yet: "Not recorded" comes first."""
    options: list[Any] = [NOT_RECORDED, *choices]
    picked = st.selectbox(
        label,
        options,
        index=options.index(value) if value is not None else 0,
        format_func=_label,
        key=key,
        help=help,
    )
    return None if picked == NOT_RECORDED or picked is None else choices(picked)


def field_widget(
    name: str,
    field: FieldInfo,
    value: Any,
    *,
    key: str,
    evidence: list[EvidenceItem],
    errors: list[str],
    cited_label: str = CITED_LABEL,
) -> Any:
    """One widget for one field; returns the value it now holds (JSON-compatible)."""
    label = title_of(name, field)
    annotation, optional = _unwrap_optional(field.annotation)
    origin = typing.get_origin(annotation)
    help_text = field.description
    result: Any
    if name == "cited":
        by_id = {item.id: item for item in evidence}
        options = list(by_id)
        chosen = [ref for ref in value or [] if ref in by_id]
        result = st.multiselect(
            cited_label,
            options,
            default=chosen,
            format_func=lambda ref: evidence_label(by_id[ref]),
            key=key,
            help="Pick items from the evidence register. Add missing items there first.",
            placeholder="Choose evidence items",
        )
    elif annotation is bool and optional:
        result = yes_no(label, value, key=key, help=help_text)
    elif annotation is bool:
        result = st.checkbox(label, value=bool(value), key=key, help=help_text)
    elif annotation is dt.date:
        current = dt.date.fromisoformat(value) if isinstance(value, str) else value
        picked = st.date_input(
            label,
            value=current,
            min_value=EARLIEST,
            max_value=LATEST,
            format=DATE_FORMAT,
            key=key,
            help=help_text,
        )
        result = picked.isoformat() if isinstance(picked, dt.date) else None
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        current_enum = annotation(value) if value is not None else None
        if optional:
            picked_enum = optional_choice(label, annotation, current_enum, key=key, help=help_text)
        else:
            options_enum: list[Any] = list(annotation)
            picked_enum = st.selectbox(
                label,
                options_enum,
                # A new list item has no value yet for a required choice: show it unchosen.
                index=options_enum.index(current_enum) if current_enum in options_enum else None,
                format_func=_label,
                key=key,
                help=help_text,
                placeholder="Choose",
            )
        result = picked_enum.value if picked_enum is not None else None
    elif origin is list and _is_enum(typing.get_args(annotation)[0]):
        enum_type = typing.get_args(annotation)[0]
        result = [
            option.value
            for option in st.multiselect(
                label,
                list(enum_type),
                default=[enum_type(v) for v in value or []],
                format_func=_label,
                key=key,
                help=help_text,
                placeholder="Choose",
            )
        ]
    elif annotation is int:
        result = st.number_input(
            label,
            value=value,
            min_value=_bound(field, "ge"),
            max_value=_bound(field, "le"),
            step=1,
            key=key,
            help=help_text,
        )
        result = int(result) if result is not None else None
    elif annotation is str:
        limit = _max_length(field)
        if limit > SHORT_TEXT_MAX:
            result = st.text_area(label, value=value, max_chars=limit, key=key, help=help_text)
        else:
            result = st.text_input(label, value=value, max_chars=limit, key=key, help=help_text)
    else:
        raise TypeError(f"no widget for field {name}: {annotation!r}")
    for message in errors:
        st.error(message, icon=":material/error:")
    return result


def _is_enum(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, Enum)


def _label(option: Any) -> str:
    return option.label if isinstance(option, Labelled) else str(option)


def model_fields(
    model: type[BaseModel],
    current: dict[str, Any],
    *,
    key: str,
    evidence: list[EvidenceItem],
    problems: list[FieldProblem],
    loc: tuple[int | str, ...],
    skip: tuple[str, ...] = (),
    list_editor: Callable[[str, FieldInfo, list[Any]], list[Any]] | None = None,
    cited_label: str = CITED_LABEL,
) -> dict[str, Any]:
    """Widgets for every simple field of a model; lists of models go to `list_editor`."""
    updated = dict(current)
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        annotation, _ = _unwrap_optional(field.annotation)
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) is list and args and _is_model(args[0]):
            if list_editor is not None:
                updated[name] = list_editor(name, field, current.get(name, []))
            continue
        if typing.get_origin(annotation) is dict:
            continue
        updated[name] = field_widget(
            name,
            field,
            current.get(name),
            key=f"{key}.{name}",
            evidence=evidence,
            errors=problems_at(problems, (*loc, name)),
            cited_label=cited_label,
        )
    return updated


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def item_model(field: FieldInfo) -> type[BaseModel]:
    annotation, _ = _unwrap_optional(field.annotation)
    model = typing.get_args(annotation)[0]
    assert _is_model(model)
    return typing.cast(type[BaseModel], model)
