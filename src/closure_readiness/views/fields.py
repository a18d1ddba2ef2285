"""Widgets for a model's fields, chosen by type, seeded from stored values, keyed by path.

Answers are kept in the database, not in widget state: each widget is re-seeded with `value=`
from the stored review whenever it is drawn, so moving between steps loses nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import streamlit as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from closure_readiness.core.answers_text import in_sentence, title_of
from closure_readiness.core.errors import DATE_PROMPT, FieldProblem, question_at
from closure_readiness.core.review import EvidenceItem, Review
from closure_readiness.core.text import LONG_TEXT_MAX, SHORT_TEXT_MAX, TYPED_DATE_MAX
from closure_readiness.core.vocabulary import Labelled
from closure_readiness.views.safe import escape_markdown

EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2100, 12, 31)
DATE_FORMAT = "DD/MM/YYYY"
NOT_RECORDED = "Not recorded"
"""How an answer nobody has given yet is shown: never as the hopeful answer."""
YES, NO = "Yes", "No"
YES_NO_OPTIONS = (NOT_RECORDED, YES, NO)
CITED_LABEL = "Evidence this answer relies on"

E = TypeVar("E", bound=Enum)

Loc = tuple[int | str, ...]
Live = Callable[[Loc, Callable[[], Any]], dict[str, Any]]
"""Makes a widget save its answer the moment it changes (views/review/live.py): given the
field's place in the review and how to read, from the widget's state, the value it now stands
for (as stored), the widget's `on_change` and `args`. Widgets drawn without one are saved by
the page's next run, as before."""


def _changes(live: Live | None, loc: Loc, read: Callable[[], Any]) -> dict[str, Any]:
    """The `on_change` and `args` that make a widget save itself, or none."""
    return live(loc, read) if live is not None and loc else {}


def _state(key: str) -> Any:
    return st.session_state.get(key)


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


def evidence_line(item: EvidenceItem) -> str:
    """One evidence item in full, on one line: what a list of cited items shows."""
    record = f" (record {item.record_ref})" if item.record_ref else ""
    return (
        f"{item.id} · {item.observed_on:%d/%m/%Y} · {item.agency.label} · "
        f"{in_sentence(item.kind.label)} · {in_sentence(item.direction.label)}: "
        f"{item.shows}{record}"
    )


def problems_at(problems: list[FieldProblem], loc: tuple[int | str, ...]) -> list[str]:
    """What to show beside the field at `loc`, in the form's words."""
    return [p.beside for p in problems if p.loc[: len(loc)] == loc and p.loc]


_ANCHOR_PART = re.compile(r"[^a-z0-9]+")


def anchor_id(loc: tuple[int | str, ...]) -> str:
    """The id of the anchor drawn just before the field at `loc`: made only of our own field
    names and positions, lowered to [a-z0-9-], so it is safe in HTML whatever the input."""
    parts = (_ANCHOR_PART.sub("-", str(part).lower()).strip("-") for part in loc)
    return "field-" + "-".join(part for part in parts if part)


def anchor(loc: tuple[int | str, ...]) -> None:
    """A link target for the error summary ("#field-answers-cause-causes-1-plan-role").

    Streamlit widgets have no stable id of their own, so the summary links to this anchor.
    Only generated ids reach the HTML (never stored or typed text). Drawn only beside a field
    with a problem, so a page without errors carries no extra elements.
    """
    # Kept clear of the app's top bar when the page scrolls to it; no href, so no tab stop.
    st.markdown(
        f'<a id="{anchor_id(loc)}" style="display:block;scroll-margin-top:5rem"></a>',
        unsafe_allow_html=True,
    )


def anchors_below(problems: list[FieldProblem], loc: tuple[int | str, ...]) -> None:
    """Anchors for problems deeper than the field at `loc` (one choice in a list of choices,
    a field inside a family factor), so every summary link has its target."""
    deeper = {p.loc for p in problems if len(p.loc) > len(loc) and p.loc[: len(loc)] == loc}
    for found in sorted(deeper, key=str):
        anchor(found)


def entry_problems(problems: list[FieldProblem], loc: tuple[int | str, ...]) -> None:
    """Problems with a whole entry (a previous closure whose dates disagree), shown at it."""
    here = [p for p in problems if p.loc == loc]
    if here:
        anchor(loc)
    for problem in here:
        st.error(problem.beside, icon=":material/error:")


def forget(prefix: str) -> None:
    """Drop the state of every widget whose key starts with `prefix`: an add form that worked
    starts empty again (one that failed keeps what was typed)."""
    for name in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[name]


TYPED_DATE_PROBLEMS = "typed_date_problems"
"""Session key: dates typed this run that are not dates, for the page's error summary."""
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})\s*[/.\- ]\s*(\d{1,2})\s*[/.\- ]\s*(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DIGITS = re.compile(r"^(\d{2})(\d{2})(\d{4})$")
DATE_HELP = (
    "Type the date as dd/mm/yyyy, for example 14/03/2025. It is saved when you press Enter or Tab."
)


class NotADate(ValueError):
    """Typed text that is not a date the wizard can take: the message says what to do."""


def parse_day(text: str) -> dt.date | None:
    """A typed date: 14/03/2025 (also 14-03-2025, 14.03.2025, 14 3 2025, 14032025 or
    2025-03-14). Empty text is no date. Raises NotADate with a message in plain words."""
    typed = text.strip()
    if not typed:
        return None
    day_month_year = _DAY_MONTH_YEAR.match(typed) or _DIGITS.match(typed)
    iso = _ISO.match(typed)
    if day_month_year:
        day, month, year = (int(part) for part in day_month_year.groups())
    elif iso:
        year, month, day = (int(part) for part in iso.groups())
    else:
        raise NotADate(DATE_PROMPT)
    try:
        found = dt.date(year, month, day)
    except ValueError:
        raise NotADate(
            "Enter a real date as dd/mm/yyyy, for example 14/03/2025: that day does not exist."
        ) from None
    if not EARLIEST <= found <= LATEST:
        raise NotADate(
            f"Enter a date between {EARLIEST:%d/%m/%Y} and {LATEST:%d/%m/%Y}, as dd/mm/yyyy."
        )
    return found


def _tidy_typed_date(key: str) -> None:
    """After a date is typed: show it as dd/mm/yyyy (1/3/25 stays as typed, with its error)."""
    try:
        day = parse_day(str(st.session_state.get(key) or ""))
    except NotADate:
        return
    st.session_state[key] = f"{day:%d/%m/%Y}" if day else ""


def typed_date(
    label: str,
    value: dt.date | None,
    *,
    key: str,
    help: str | None,
    loc: tuple[int | str, ...],
    errors_shown: bool = False,
) -> tuple[dt.date | None, str]:
    """A date question typed as dd/mm/yyyy, saved on Enter or Tab like every other field.

    Streamlit's date picker (1.67) keeps a typed date until focus leaves the field and its
    calendar, so Enter does nothing and one Tab lands on the calendar button: the date was not
    saved. A text field is saved on Enter and Tab. Returns the date (the stored one while the
    text is not a date) and the problem to show ("" when none).
    """
    shown = f"{value:%d/%m/%Y}" if value else ""
    # What the field will hold is known before it is drawn, so a date that is not one gets
    # its anchor above the field (the error summary scrolls there).
    typed = str(st.session_state.get(key, shown) or "")
    try:
        day, problem = parse_day(typed), ""
    except NotADate as refused:
        day, problem = value, str(refused)
        if loc and not errors_shown:
            anchor(loc)
        st.session_state.setdefault(TYPED_DATE_PROBLEMS, []).append(
            FieldProblem(
                field=label,
                message=problem,
                loc=loc,
                question=question_at(loc, Review)[0] if loc else label,
            )
        )
    st.text_input(
        label,
        value=shown,
        max_chars=TYPED_DATE_MAX,
        key=key,
        help=f"{help} {DATE_HELP}" if help else DATE_HELP,
        placeholder="dd/mm/yyyy",
        on_change=_tidy_typed_date,
        args=(key,),
    )
    return day, problem


def typed_date_problems_shown() -> bool:
    """Whether a date typed on this page is not a date (before the summary takes them)."""
    return bool(st.session_state.get(TYPED_DATE_PROBLEMS))


def typed_date_problems() -> list[FieldProblem]:
    """Dates typed on this page that are not dates (each field shows its own message too)."""
    found: list[FieldProblem] = st.session_state.pop(TYPED_DATE_PROBLEMS, [])
    return found


def yes_no(
    label: str,
    value: bool | None,
    *,
    key: str,
    help: str | None = None,
    saving: dict[str, Any] | None = None,
) -> bool | None:
    """A yes-or-no question that may not be answered yet: "Not recorded", "Yes", "No".

    Stores None, True or False. The options are words, so what is checked is what is shown.
    `saving` is the widget's `on_change` and `args` (fields.Live), if it saves itself.
    """
    current = NOT_RECORDED if value is None else (YES if value else NO)
    picked = st.radio(
        label,
        YES_NO_OPTIONS,
        index=YES_NO_OPTIONS.index(current),
        key=key,
        help=help,
        horizontal=True,
        **(saving or {}),
    )
    return _from_yes_no(picked)


def _from_yes_no(picked: Any) -> bool | None:
    return None if picked in (NOT_RECORDED, None) else picked == YES


def optional_choice(
    label: str,
    choices: type[E],
    value: E | None,
    *,
    key: str,
    help: str | None = None,
    saving: dict[str, Any] | None = None,
) -> E | None:
    """A choice from a vocabulary that may not be made yet: "Not recorded" comes first.
    `saving` is the widget's `on_change` and `args` (fields.Live), if it saves itself."""
    options: list[Any] = [NOT_RECORDED, *choices]
    picked = st.selectbox(
        label,
        options,
        index=options.index(value) if value is not None else 0,
        format_func=_label,
        key=key,
        help=help,
        **(saving or {}),
    )
    return optional_from(choices, picked)


def optional_from(choices: type[E], picked: Any) -> E | None:
    """What an optional choice's widget state stands for: None while "Not recorded"."""
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
    loc: tuple[int | str, ...] = (),
    in_form: bool = False,
    live: Live | None = None,
) -> Any:
    """One widget for one field; returns the value it now holds (JSON-compatible).

    `loc` is where the field sits in the review: a field with a problem gets an anchor the
    error summary links to. In a form (`in_form`) a date is picked from a calendar or typed,
    and saved with the form; elsewhere it is typed as dd/mm/yyyy and saved on Enter or Tab.
    With `live`, the widget saves its answer itself when changed (a typed date does not: it
    is tidied on change, and saved by the page's run).
    """
    errors = list(errors)
    if errors and loc:
        anchor(loc)
    annotation, _ = _unwrap_optional(field.annotation)
    result: Any
    if name == "cited":
        changes = _changes(live, loc, lambda: list(_state(key) or []))
        result = _cited_widget(cited_label, value, key=key, evidence=evidence, saving=changes)
    elif annotation is dt.date and not in_form:
        result, problem = _typed_date_widget(
            title_of(name, field), field, value, key=key, loc=loc, errors_shown=bool(errors)
        )
        errors += [problem] if problem else []
    else:
        result = _plain_widget(name, field, value, key=key, in_form=in_form, live=live, loc=loc)
    for message in errors:
        st.error(message, icon=":material/error:")
    return result


def _cited_widget(
    label: str,
    value: Any,
    *,
    key: str,
    evidence: list[EvidenceItem],
    saving: dict[str, Any],
) -> list[str]:
    """Evidence cited, picked from the register, then listed in full below."""
    by_id = {item.id: item for item in evidence}
    chosen = [ref for ref in value or [] if ref in by_id]
    picked: list[str] = st.multiselect(
        label,
        list(by_id),
        default=chosen,
        format_func=lambda ref: evidence_label(by_id[ref]),
        key=key,
        help="Pick items from the evidence register. Add missing items there first.",
        placeholder="Choose evidence items",
        **saving,
    )
    _cited_list([by_id[ref] for ref in picked if ref in by_id])
    return picked


def _typed_date_widget(
    label: str,
    field: FieldInfo,
    value: Any,
    *,
    key: str,
    loc: tuple[int | str, ...],
    errors_shown: bool,
) -> tuple[str | None, str]:
    """A date typed as dd/mm/yyyy: the date as stored, and the problem with what was typed."""
    current = dt.date.fromisoformat(value) if isinstance(value, str) else value
    typed, problem = typed_date(
        label, current, key=key, help=field.description, loc=loc, errors_shown=errors_shown
    )
    return (typed.isoformat() if typed else None), problem


def _plain_widget(
    name: str,
    field: FieldInfo,
    value: Any,
    *,
    key: str,
    in_form: bool,
    live: Live | None = None,
    loc: Loc = (),
) -> Any:
    """The widget for a field's type: yes or no, a tick, a date picked in a form, a choice,
    several choices, a whole number, or text. With `live`, it saves itself when changed."""
    label, help_text = title_of(name, field), field.description
    annotation, optional = _unwrap_optional(field.annotation)
    if annotation is bool and optional:
        changes = _changes(live, loc, lambda: _from_yes_no(_state(key)))
        return yes_no(label, value, key=key, help=help_text, saving=changes)
    if annotation is bool:
        changes = _changes(live, loc, lambda: bool(_state(key)))
        return st.checkbox(label, value=bool(value), key=key, help=help_text, **changes)
    if annotation is dt.date:
        return picked_date(label, value, key=key, help=help_text)
    if _is_enum(annotation):
        if optional:
            changes = _changes(live, loc, lambda: _value(optional_from(annotation, _state(key))))
        else:
            changes = _changes(live, loc, lambda: _value(_state(key)))
        return _choice(
            label, annotation, value, optional=optional, key=key, help=help_text, saving=changes
        )
    if typing.get_origin(annotation) is list and _is_enum(typing.get_args(annotation)[0]):
        changes = _changes(live, loc, lambda: _values(_state(key)))
        vocabulary = typing.get_args(annotation)[0]
        return _choices(label, vocabulary, value, key=key, help=help_text, saving=changes)
    if annotation is int:
        number = st.number_input(
            label,
            value=value,
            min_value=_bound(field, "ge"),
            max_value=_bound(field, "le"),
            step=1,
            key=key,
            help=help_text,
            **_changes(live, loc, lambda: _whole(_state(key))),
        )
        return _whole(number)
    if annotation is str:
        limit = _max_length(field)
        # A new entry has no text yet: an empty box, never "no answer" (None) to refuse.
        text = value if value is not None else ""
        box = st.text_area if limit > SHORT_TEXT_MAX else st.text_input
        changes = _changes(live, loc, lambda: str(_state(key) or ""))
        return box(label, value=text, max_chars=limit, key=key, help=help_text, **changes)
    raise TypeError(f"no widget for field {name}: {annotation!r}")


def _whole(number: Any) -> int | None:
    return int(number) if number is not None else None


def _values(picked: Any) -> list[Any]:
    return [option.value for option in picked or []]


def picked_date(
    label: str, value: Any = None, *, key: str, help: str | None = None, where: Any = st
) -> str | None:
    """A date picked from a calendar or typed, within our bounds and shown as dd/mm/yyyy;
    ISO text, or None while empty. `where` is the column or container to draw it in."""
    current = dt.date.fromisoformat(value) if isinstance(value, str) else value
    picked = where.date_input(
        label,
        value=current,
        min_value=EARLIEST,
        max_value=LATEST,
        format=DATE_FORMAT,
        key=key,
        help=help,
    )
    return picked.isoformat() if isinstance(picked, dt.date) else None


def _choice(
    label: str,
    choices: type[Enum],
    value: Any,
    *,
    optional: bool,
    key: str,
    help: str | None,
    saving: dict[str, Any],
) -> Any:
    """One choice from a vocabulary, as its stored value (None while not made)."""
    current = choices(value) if value is not None else None
    if optional:
        picked = optional_choice(label, choices, current, key=key, help=help, saving=saving)
    else:
        options: list[Any] = list(choices)
        picked = st.selectbox(
            label,
            options,
            # A new list item has no value yet for a required choice: show it unchosen.
            index=options.index(current) if current in options else None,
            format_func=_label,
            key=key,
            help=help,
            placeholder="Choose",
            **saving,
        )
    return _value(picked)


def _value(picked: Any) -> Any:
    return picked.value if picked is not None else None


def _choices(
    label: str,
    choices: type[Enum],
    value: Any,
    *,
    key: str,
    help: str | None,
    saving: dict[str, Any],
) -> list[Any]:
    """Several choices from a vocabulary, as their stored values."""
    picked = st.multiselect(
        label,
        list(choices),
        default=[choices(v) for v in value or []],
        format_func=_label,
        key=key,
        help=help,
        placeholder="Choose",
        **saving,
    )
    return _values(picked)


def _cited_list(items: list[EvidenceItem]) -> None:
    """Every item cited, one a line, in full: the box above shows them as a strip that
    scrolls out of sight."""
    if not items:
        return
    lines = "\n".join(f"- {escape_markdown(evidence_line(item))}" for item in items)
    st.markdown(f"Evidence cited ({len(items)}):\n\n{lines}")


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
    in_form: bool = False,
    live: Live | None = None,
) -> dict[str, Any]:
    """Widgets for every simple field of a model; lists of models go to `list_editor`.

    `loc` is where the model sits in the review (problems are matched to fields by it). With
    `live`, each widget saves its answer itself when changed (fields.Live)."""
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
        anchors_below(problems, (*loc, name))
        updated[name] = field_widget(
            name,
            field,
            current.get(name),
            key=f"{key}.{name}",
            evidence=evidence,
            errors=problems_at(problems, (*loc, name)),
            cited_label=cited_label,
            loc=(*loc, name) if loc else (),
            in_form=in_form,
            live=live,
        )
    return updated


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def item_model(field: FieldInfo) -> type[BaseModel]:
    annotation, _ = _unwrap_optional(field.annotation)
    model = typing.get_args(annotation)[0]
    assert _is_model(model)
    return typing.cast(type[BaseModel], model)
