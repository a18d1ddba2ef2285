"""The question steps: case details, one step per theme, and the editors for lists of answers."""

from __future__ import annotations

import functools
from typing import Any

import streamlit as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from closure_readiness.checks.questions import THEMES_BY_KEY
from closure_readiness.core.answers_text import (
    answer_lines,
    join_clauses,
    sentence_case,
    title_of,
)
from closure_readiness.core.errors import FieldProblem, item_noun
from closure_readiness.core.review import Case, EvidenceItem, RouteAnswer
from closure_readiness.core.text import SHORT_TEXT_MAX
from closure_readiness.core.vocabulary import (
    Agency,
    FactorStatus,
    FamilyFactor,
)
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields
from closure_readiness.views.findings import (
    CASE_STEP,
    finding_box,
    route_label,
)
from closure_readiness.views.review import live
from closure_readiness.views.review.returns import (
    changed_finding_reasons,
    finding_reason,
    step_reason,
)
from closure_readiness.views.review.state import (
    commit,
    error_summary,
    key,
    problems_key,
    reload_record,
    remove_item,
    set_step,
)
from closure_readiness.views.review.tasks import (
    not_needed,
    not_needed_text,
    route_fields,
    step_results,
)


def _route_intro(record: ReviewRecord) -> None:
    """What the closure route step rests on: the closure reason recorded at Case details."""
    reason = record.review.case.closure_reason
    if reason is None:
        st.warning(
            "The closure reason is not recorded yet. Record it at Case details: it decides "
            "which questions this closure must answer.",
            icon=":material/warning:",
        )
    else:
        st.markdown(
            f"**Closure reason:** {reason.label}  \n**Closure route:** {route_label(record.report)}"
        )
    st.button(
        "Change the closure reason at Case details",
        key=key(record.id, "route", "to_case"),
        on_click=set_step,
        args=(CASE_STEP,),
        icon=":material/arrow_forward:",
        type="tertiary",
    )


def theme_step(record: ReviewRecord, theme_key: str) -> ReviewRecord:
    _theme_intro(record, theme_key)
    document = record.review.model_dump(mode="json")
    current = document["answers"][theme_key]
    problems: list[FieldProblem] = st.session_state.pop(problems_key(record.id), [])
    # Each answer saves itself when changed and only the checks are drawn again (live.py),
    # unless this page shows problems: they must go from the whole page once put right.
    saver = live.saver(record, theme_key) if live.allow(record, shown=problems) else None
    summary = st.container()
    model = type(getattr(record.review.answers, theme_key))
    loc: tuple[int | str, ...] = ("answers", theme_key)

    def editor(name: str, field: Any, items: list[Any]) -> list[Any]:
        evidence = list(record.review.evidence)
        return list_editor(
            record, loc, name, field, items, problems, evidence=evidence, saver=saver
        )

    updated = fields.model_fields(
        model,
        current,
        key=key(record.id, theme_key),
        evidence=list(record.review.evidence),
        problems=problems,
        loc=loc,
        skip=_not_asked(record, theme_key),
        list_editor=editor,
        live=saver,
    )
    if theme_key == "family":
        updated["factors"] = _family_factors(record, current.get("factors", {}), problems, saver)
    updated["notes"] = fields.field_widget(
        "notes",
        model.model_fields["notes"],
        current.get("notes", ""),
        key=key(record.id, theme_key, "notes"),
        evidence=[],
        errors=fields.problems_at(problems, (*loc, "notes")),
        loc=(*loc, "notes"),
        live=saver,
    )
    if updated != current:
        document["answers"][theme_key] = updated
        record, problems = _save_step(record, document, step=theme_key, shown=problems)
    if problems or fields.typed_date_problems_shown():
        live.forbid(record.id)
    with summary:
        error_summary(problems)
    if live.on(record.id):
        _live_step_findings(record, theme_key)
    else:
        step_findings(record, theme_key)
    return record


def _theme_intro(record: ReviewRecord, theme_key: str) -> None:
    """The step's question, whether it applies to this route, its guidance and red flags,
    and the manager's reason about it."""
    theme = THEMES_BY_KEY[theme_key]
    st.header(theme.question, anchor=False)
    st.caption(f"{theme.title} · {theme.learning}")
    if not_needed(record, theme_key):
        st.info(
            f"**{not_needed_text(record)}.** No check at this step applies to this closure "
            "route, so nothing here blocks sign-off. You can still record notes.",
            icon=":material/do_not_disturb_on:",
        )
    if theme_key == "route":
        _route_intro(record)
    st.write(theme.guidance)
    with st.expander("Red flags to look for"):
        st.write(theme.red_flags)
    step_reason(record, theme_key)


def _not_asked(record: ReviewRecord, theme_key: str) -> tuple[str, ...]:
    """The fields not drawn with the step's other questions: the notes (drawn last) and, at
    the closure route, the questions this review's route does not ask."""
    if theme_key != "route":
        return ("notes",)
    asked = route_fields(record)
    return (
        "notes",
        *(
            name
            for name in RouteAnswer.model_fields
            if name not in asked and not (name == "cited" and asked)
        ),
    )


def _save_step(
    record: ReviewRecord, document: dict[str, Any], *, step: str, shown: list[FieldProblem]
) -> tuple[ReviewRecord, list[FieldProblem]]:
    """Save a step's changed answers: the record as now stored, and the problems to show."""
    found = commit(record, document, step=step)
    if found and found != shown:
        # Drawn again at once so each message also shows beside its field.
        st.session_state[problems_key(record.id)] = found
        st.rerun()
    return reload_record(record.id), found


@live.fragment(live.STEP_CHECKS)
def _live_step_findings(record: ReviewRecord, step: str) -> None:
    step_findings(record, step)


def step_findings(record: ReviewRecord, step: str) -> None:
    st.subheader("This step's checks", anchor=False)
    results = [r for r in step_results(record, step) if r.applicable]
    passed = [r for r in results if r.passed]
    for result in results:
        for index, finding in enumerate(result.findings):
            finding_box(finding, key=key(record.id, "step", finding.key, index))
            finding_reason(record, finding.key, where="step")
    shown = {finding.key for result in results for finding in result.findings}
    changed_finding_reasons(record, step, shown)
    if results:
        st.caption(f"{len(passed)} of {len(results)} checks at this step pass.")
    else:
        st.caption("No check at this step applies to this closure route.")


def list_editor(
    record: ReviewRecord,
    where: tuple[int | str, ...],
    name: str,
    field: FieldInfo,
    items: list[dict[str, Any]],
    problems: list[FieldProblem],
    *,
    evidence: list[EvidenceItem],
    in_place: bool = True,
    add_label: str = "Add",
    saver: fields.Live | None = None,
) -> list[dict[str, Any]]:
    """The one editor for a list of entries (causes, plan outcomes, protective factors, the
    safety network, needs, triggers, household adults, previous closures, orders), whatever
    their model: each entry numbered with a Remove button, then a form to add one.

    `where` is the answer or part of the review holding the list (("answers", "cause") or
    ("case",)). Entries of an answer are edited where they stand (`in_place`); the case's
    entries are shown one a line, and corrected by removing and adding again. Returns the
    entries as the widgets now hold them."""
    model = fields.item_model(field)
    st.markdown(f"**{title_of(name, field)}**")
    if not items and not in_place:
        st.caption("None recorded.")
    entries = _Entries(record, where, name, model, problems, evidence, saver)
    updated = [
        entries.edit(index, item) if in_place else entries.show(index, item)
        for index, item in enumerate(items)
    ]
    entries.add_form(items, add_label)
    return updated


class _Entries:
    """A list of entries in the review, as one list editor draws it."""

    def __init__(
        self,
        record: ReviewRecord,
        where: tuple[int | str, ...],
        name: str,
        model: type[BaseModel],
        problems: list[FieldProblem],
        evidence: list[EvidenceItem],
        saver: fields.Live | None,
    ) -> None:
        self.record, self.where, self.name, self.model = record, where, name, model
        self.problems, self.evidence, self.saver = problems, evidence, saver
        self.step = str(where[-1])  # the step saving it, and its widgets' keys
        self.noun = item_noun(name)

    def key(self, *parts: object) -> str:
        return key(self.record.id, self.step, self.name, *parts)

    def edit(self, index: int, item: dict[str, Any]) -> dict[str, Any]:
        with st.container(border=True):
            # Numbered as the error summary names them ("Plan: by when, in cause 2").
            st.markdown(f"**{sentence_case(self.noun)} {index + 1}**")
            fields.entry_problems(self.problems, (*self.where, self.name, index))
            edited = fields.model_fields(
                self.model,
                item,
                key=self.key(index),
                evidence=self.evidence,
                problems=self.problems,
                loc=(*self.where, self.name, index),
                cited_label=_cited_label(self.model),
                live=self.saver,
            )
            self.remove_button(index)
        return edited

    def show(self, index: int, item: dict[str, Any]) -> dict[str, Any]:
        lines = answer_lines(self.model.model_validate(item), unrecorded=True)
        st.text(f"{sentence_case(self.noun)} {index + 1}: " + join_clauses(lines))
        fields.entry_problems(self.problems, (*self.where, self.name, index))
        self.remove_button(index)
        return item

    def remove_button(self, index: int) -> None:
        st.button(
            f"Remove {self.noun} {index + 1}",
            key=self.key(index, "remove"),
            on_click=remove_item,
            args=(self.record.id, (*map(str, self.where), self.name), index),
            icon=":material/delete:",
        )

    def add_form(self, items: list[dict[str, Any]], label: str) -> None:
        model, loc = self.model, (*self.where, self.name, len(items))
        # Not cleared on submit: an add that fails keeps what was typed, beside its messages.
        with st.form(self.key("add"), clear_on_submit=False, border=True):
            st.caption(f"Add {self.noun} {len(items) + 1}")
            fields.entry_problems(self.problems, loc)
            new_item = fields.model_fields(
                model,
                model.model_construct().model_dump(mode="json") if _constructible(model) else {},
                key=self.key("new"),
                evidence=self.evidence,
                problems=self.problems,
                loc=loc,
                cited_label=_cited_label(model),
                in_form=True,
            )
            if st.form_submit_button(label, icon=":material/add:"):
                self.add(items, new_item)

    def add(self, items: list[dict[str, Any]], new_item: dict[str, Any]) -> None:
        document = self.record.review.model_dump(mode="json")
        target: Any = document
        for part in self.where:
            target = target[part]
        target[self.name] = [*items, new_item]
        found = commit(self.record, document, step=self.step)
        if found:
            st.session_state[problems_key(self.record.id)] = found
        else:
            fields.forget(self.key("new") + ".")
        st.rerun()


def _cited_label(model: Any) -> str:
    """'Evidence for this plan outcome or safety goal': named after the item's first field."""
    first = next(iter(model.model_fields.values()))
    return f"Evidence for this {first.title or 'entry'}"


def _constructible(model: Any) -> bool:
    return all(not f.is_required() for f in model.model_fields.values())


_UNANSWERED_FACTOR = {"status": FactorStatus.NOT_ASSESSED.value, "response": "", "agency": None}


def _family_factors(
    record: ReviewRecord,
    current: dict[str, Any],
    problems: list[FieldProblem],
    saver: fields.Live | None,
) -> dict[str, Any]:
    st.markdown("**Family factors**")
    st.caption(
        "For each factor present, name the plan element or onward support and the agency that "
        "provides it."
    )
    result: dict[str, Any] = {}
    for factor in FamilyFactor:
        value = {**_UNANSWERED_FACTOR, **current.get(factor.value, {})}
        here = ("answers", "family", "factors", factor.value)
        errors = fields.problems_at(problems, here)
        fields.anchors_below(problems, here)
        keys = {part: key(record.id, "family", factor.value, part) for part in _FACTOR_PARTS}
        # A factor saves itself whole: its three widgets as they stand now.
        changes = saver(here, functools.partial(_factor_now, keys)) if saver else {}
        status_col, response_col, agency_col = st.columns([2, 3, 2])
        status = status_col.selectbox(
            factor.label,
            list(FactorStatus),
            index=list(FactorStatus).index(FactorStatus(value["status"])),
            format_func=lambda option: option.label,
            key=keys["status"],
            **changes,
        )
        response = response_col.text_input(
            f"{factor.label}: plan element or onward support",
            value=value.get("response", ""),
            max_chars=SHORT_TEXT_MAX,
            key=keys["response"],
            **changes,
        )
        with agency_col:
            agency = fields.optional_choice(
                f"{factor.label}: agency that provides it",
                Agency,
                Agency(value["agency"]) if value.get("agency") else None,
                key=keys["agency"],
                saving=changes,
            )
        chosen = _factor(status, response, agency)
        for message in errors:
            st.error(message, icon=":material/error:")
        # A factor never answered stays absent: opening the step must not save a new version.
        if factor.value in current or chosen != _UNANSWERED_FACTOR:
            result[factor.value] = chosen
    return result


_FACTOR_PARTS = ("status", "response", "agency")


def _factor(status: Any, response: Any, agency: Agency | None) -> dict[str, Any]:
    return {
        "status": getattr(status, "value", None),
        "response": response,
        "agency": agency.value if agency is not None else None,
    }


def _factor_now(keys: dict[str, str]) -> dict[str, Any]:
    """A family factor as its three widgets hold it now (read in a widget's callback)."""
    state = st.session_state
    agency = fields.optional_from(Agency, state.get(keys["agency"]))
    return _factor(state.get(keys["status"]), str(state.get(keys["response"]) or ""), agency)


CASE_LIST_ADD = {
    "previous_closures": "Add a previous closure",
    "orders": "Add a statutory order",
}


def case_step(record: ReviewRecord) -> ReviewRecord:
    st.header("Case details", anchor=False)
    st.write(
        "The case reference is fixed; everything else can be corrected here. The closure reason "
        'decides which steps this closure needs; leave a fact as "Not recorded" only until '
        "you know it."
    )
    document = record.review.model_dump(mode="json")
    problems: list[FieldProblem] = st.session_state.pop(problems_key(record.id), [])
    summary = st.container()
    st.text(f"Case reference: {record.case_reference}")

    def editor(name: str, field: Any, items: list[Any]) -> list[Any]:
        add = CASE_LIST_ADD.get(name, "Add")
        return list_editor(
            record,
            ("case",),
            name,
            field,
            items,
            problems,
            evidence=[],
            in_place=False,
            add_label=add,
        )

    updated = fields.model_fields(
        Case,
        document["case"],
        key=key(record.id, "case"),
        evidence=[],
        problems=problems,
        loc=("case",),
        skip=("case_reference", "allocated_worker", "team"),
        list_editor=editor,
    )
    if updated != document["case"]:
        document["case"] = updated
        record, problems = _save_step(record, document, step="case", shown=problems)
    with summary:
        error_summary(problems)
    step_findings(record, CASE_STEP)
    return record
