"""What changed between two versions of a review, in sentences a manager reads, step by step.

"Evidence E7 added: Police, record or data, 28/11/2026, shows change: ...", "Notes changed:
...", "Proposed closure date: 01/12/2026 → 15/12/2026". Labels come from the model's own titles
and the vocabularies (`core.answers_text`); the sentences are plain text, so a page shows them
escaped. Pure: the views decide how to show them and the checks say which step a check id is
answered at (`check_step`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from closure_readiness.core.answers_text import answer_lines, plain, title_of
from closure_readiness.core.review import EvidenceItem, Incident, ManagerException, Review
from closure_readiness.core.text import SHORT_TEXT_MAX

_Entry = TypeVar("_Entry", EvidenceItem, Incident)

CASE = "case"
EVIDENCE = "evidence"
INCIDENTS = "incidents"
OTHER = "other"
"""The group of a change to a part of the review no step asks about."""

NOT_CHANGES = frozenset({"schema_version", "replies"})
"""Parts of a review that are not the worker's answers: the schema version moves on upgrade,
and the replies to a return are shown beside the reasons they answer, not as changes."""

_ITEM_NAME_MAX = 60


@dataclass(frozen=True)
class Changed:
    """One change in words, and the wizard step where it was made."""

    step: str
    """"case", "evidence", "incidents", a theme's key, or "other"."""
    text: str
    """One sentence, plain text (free text quoted as typed: escape it to show as Markdown)."""


def _theme_of(check_id: str) -> str:
    return check_id.split(".", 1)[0]


def changes_in_words(
    before: Review,
    after: Review,
    *,
    check_step: Callable[[str], str] = _theme_of,
    check_name: Callable[[str], str] = str,
) -> list[Changed]:
    """Every change from `before` to `after`, in the order of the review's steps.

    `check_step` says at which step a check is answered (a rationale for a caution, an
    exception to a blocker are grouped there); `check_name` names a check in a sentence.
    """
    found: list[Changed] = []
    found += [Changed(CASE, text) for text in _model_lines(before.case, after.case)]
    found += [Changed(EVIDENCE, text) for text in _evidence_lines(before.evidence, after.evidence)]
    found += [
        Changed(INCIDENTS, text) for text in _incident_lines(before.incidents, after.incidents)
    ]
    for theme, answer in after.answers.each():
        earlier = getattr(before.answers, theme)
        found += [Changed(theme, text) for text in _model_lines(earlier, answer)]
    found += _rationale_changes(before.rationales, after.rationales, check_step, check_name)
    found += _exception_changes(before.exceptions, after.exceptions, check_step, check_name)
    handled = {"case", "evidence", "incidents", "answers", "rationales", "exceptions"}
    for name, field in Review.model_fields.items():
        if name in handled or name in NOT_CHANGES:
            continue
        old, new = getattr(before, name), getattr(after, name)
        found += [
            Changed(OTHER, text) for text in _value_lines(title_of(name, field), field, old, new)
        ]
    return found


# Models, lists and values -------------------------------------------------------------------


def _model_lines(before: BaseModel, after: BaseModel, prefix: str = "") -> list[str]:
    lines: list[str] = []
    for name, field in type(after).model_fields.items():
        old, new = getattr(before, name, None), getattr(after, name)
        if old == new:
            continue
        title = title_of(name, field)
        label = f"{prefix} · {title}" if prefix else title
        lines += _value_lines(label, field, old, new, cited=name == "cited")
    return lines


def _value_lines(
    label: str, field: FieldInfo, old: Any, new: Any, *, cited: bool = False
) -> list[str]:
    if old == new:
        return []
    if cited:
        return [_cited_line(label, old, new)]
    if isinstance(old, BaseModel) and isinstance(new, BaseModel):
        return _model_lines(old, new, label)
    if isinstance(old, dict) and isinstance(new, dict):
        return _dict_lines(label, old, new)
    if isinstance(old, list | set) and isinstance(new, list | set):
        old, new = list(old), list(new)
        if any(isinstance(item, BaseModel) for item in [*old, *new]):
            return _list_of_models_lines(label, old, new)
        return [_list_line(label, old, new)]
    if _is_long_text(field, old, new):
        if not new:
            return [f"{label} removed."]
        if not old:
            return [f"{label} written: {new}"]
        return [f"{label} changed: {new}"]
    return [f"{label}: {plain(old)} → {plain(new)}"]


def _is_long_text(field: FieldInfo, old: Any, new: Any) -> bool:
    """A paragraph (notes, what evidence shows): said to have changed, with its new text."""
    if not isinstance(old, str) or not isinstance(new, str):
        return False
    longest = max((getattr(m, "max_length", 0) or 0 for m in field.metadata), default=0)
    return longest > SHORT_TEXT_MAX or "\n" in old or "\n" in new


def _list_line(label: str, old: list[Any], new: list[Any]) -> str:
    """A list of choices or ids: what joined it and what left it."""
    added = [plain(item) for item in new if item not in old]
    removed = [plain(item) for item in old if item not in new]
    if not added and not removed:
        return f"{label}: reordered."
    parts = []
    if added:
        parts.append(f"{', '.join(added)} added")
    if removed:
        parts.append(f"{', '.join(removed)} removed")
    return f"{label}: {'; '.join(parts)}."


def _cited_line(label: str, old: list[str], new: list[str]) -> str:
    """Evidence ids an answer cites: which it cites now, which it no longer cites."""
    added = [ref for ref in new if ref not in old]
    removed = [ref for ref in old if ref not in new]
    parts = []
    if added:
        parts.append(f"now cites {', '.join(added)}")
    if removed:
        parts.append(f"no longer cites {', '.join(removed)}")
    return f"{label}: {'; '.join(parts) or 'reordered'}."


def _item_name(item: BaseModel) -> str:
    """An item named by its first answer ("Positive activities and mentoring")."""
    first = next(iter(type(item).model_fields))
    name = plain(getattr(item, first))
    return name if len(name) <= _ITEM_NAME_MAX else name[: _ITEM_NAME_MAX - 1] + "…"


def _item_text(item: Any) -> str:
    if isinstance(item, BaseModel):
        return "; ".join(answer_lines(item, skip=())) or "nothing recorded"
    return plain(item)


def _list_of_models_lines(label: str, old: list[Any], new: list[Any]) -> list[str]:
    """Items matched by position while the list keeps its length (one edited in place);
    otherwise what was added and what was removed."""
    if len(old) == len(new):
        lines = []
        for number, (was, now) in enumerate(zip(old, new, strict=True), start=1):
            if was == now:
                continue
            if isinstance(was, BaseModel) and isinstance(now, BaseModel) and type(was) is type(now):
                name = _item_name(now) if _item_name(was) == _item_name(now) else f"item {number}"
                lines += _model_lines(was, now, f"{label} · {name}")
            else:
                lines.append(f"{label}: item {number} changed to {_item_text(now)}")
        return lines
    remaining = list(old)
    added = []
    for item in new:
        if item in remaining:
            remaining.remove(item)
        else:
            added.append(item)
    return [f"{label}: added {_item_text(item)}" for item in added] + [
        f"{label}: removed {_item_text(item)}" for item in remaining
    ]


def _dict_lines(label: str, old: dict[Any, Any], new: dict[Any, Any]) -> list[str]:
    lines = []
    for key in [*new, *(k for k in old if k not in new)]:
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        here = f"{label} · {plain(key)}"
        if was is None:
            lines.append(f"{here}: recorded as {_item_text(now)}")
        elif now is None:
            lines.append(f"{here}: no longer recorded")
        elif isinstance(was, BaseModel) and isinstance(now, BaseModel):
            lines += _model_lines(was, now, here)
        else:
            lines.append(f"{here}: {plain(was)} → {plain(now)}")
    return lines


# The register, resolutions ------------------------------------------------------------------


def _lower(label: str) -> str:
    """A label inside a sentence: "Record or data" -> "record or data", "CAMHS" kept."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _evidence_words(item: EvidenceItem) -> str:
    where = f" (record {item.record_ref})" if item.record_ref else ""
    return (
        f"{item.agency.label}, {_lower(item.kind.label)}, {plain(item.observed_on)}, "
        f"{_lower(item.direction.label)}: {item.shows}{where}"
    )


def _evidence_lines(old: list[EvidenceItem], new: list[EvidenceItem]) -> list[str]:
    return _register_lines(
        old,
        new,
        "Evidence",
        _evidence_words,
        lambda i: f"{i.agency.label}, {_lower(i.kind.label)}, {plain(i.observed_on)}",
    )


def _incident_words(incident: Incident) -> str:
    what = f": {incident.summary}" if incident.summary else ""
    where = f" (record {incident.record_ref})" if incident.record_ref else ""
    return f"{incident.kind.label}, {plain(incident.occurred_on)}{what}{where}"


def _incident_lines(old: list[Incident], new: list[Incident]) -> list[str]:
    return _register_lines(
        old, new, "Incident", _incident_words, lambda i: f"{i.kind.label}, {plain(i.occurred_on)}"
    )


def _register_lines(
    old: Sequence[_Entry],
    new: Sequence[_Entry],
    noun: str,
    words: Callable[[_Entry], str],
    brief: Callable[[_Entry], str],
) -> list[str]:
    """Entries of the evidence register or the incidents added (in full), changed (field by
    field) or removed (briefly), matched by id."""
    before = {entry.id: entry for entry in old}
    after = {entry.id for entry in new}
    lines = []
    for entry in new:
        was = before.get(entry.id)
        if was is None:
            lines.append(f"{noun} {entry.id} added: {words(entry)}")
        elif was != entry:
            lines += _model_lines(was, entry, f"{noun} {entry.id}")
    lines += [
        f"{noun} {entry.id} removed (it was: {brief(entry)})."
        for entry in old
        if entry.id not in after
    ]
    return lines


def _rationale_changes(
    old: dict[str, str],
    new: dict[str, str],
    check_step: Callable[[str], str],
    check_name: Callable[[str], str],
) -> list[Changed]:
    found = []
    for check_id in [*new, *(c for c in old if c not in new)]:
        was, now = old.get(check_id, ""), new.get(check_id, "")
        if was == now:
            continue
        what = f"Rationale for {check_name(check_id)}"
        if not now:
            text = f"{what} removed."
        elif not was:
            text = f"{what} written: {now}"
        else:
            text = f"{what} changed: {now}"
        found.append(Changed(check_step(check_id), text))
    return found


def _exception_changes(
    old: list[ManagerException],
    new: list[ManagerException],
    check_step: Callable[[str], str],
    check_name: Callable[[str], str],
) -> list[Changed]:
    found = []
    for exception in new:
        if exception not in old:
            check_id = exception.finding.split(":", 1)[0]
            found.append(
                Changed(
                    check_step(check_id),
                    f"Exception to {check_name(check_id)} granted by {exception.manager} on "
                    f"{plain(exception.granted_on)}: {exception.reason}",
                )
            )
    for exception in old:
        if exception not in new:
            check_id = exception.finding.split(":", 1)[0]
            found.append(
                Changed(
                    check_step(check_id),
                    f"Exception to {check_name(check_id)} granted on "
                    f"{plain(exception.granted_on)} no longer recorded.",
                )
            )
    return found
