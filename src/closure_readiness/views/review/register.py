"""The evidence register and the incidents: the dated records the steps cite."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import streamlit as st

from closure_readiness.checks.questions import THEMES_BY_KEY
from closure_readiness.core.answers_text import in_sentence
from closure_readiness.core.errors import FieldProblem
from closure_readiness.core.review import EvidenceItem, Incident
from closure_readiness.core.text import LONG_TEXT_MAX, SHORT_TEXT_MAX
from closure_readiness.core.vocabulary import (
    Agency,
    Direction,
    EvidenceKind,
    IncidentKind,
)
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields, session
from closure_readiness.views.review.state import (
    commit_change,
    error_summary,
    key,
    problems_key,
    regenerate,
    reload_record,
)
from closure_readiness.views.safe import escape_markdown

DATE_PICKER_HELP = "Type the date as dd/mm/yyyy or pick it from the calendar."


def evidence_step(record: ReviewRecord) -> ReviewRecord:
    st.header("Evidence register", anchor=False)
    st.write(
        "Record each piece of evidence once: who saw or recorded it, when, what kind it is and "
        "what it shows. Steps cite items from here. Attending sessions is recorded as attendance "
        "and never counts as change."
    )
    problems: list[FieldProblem] = st.session_state.pop(problems_key(record.id), [])
    error_summary(problems)
    items = record.review.evidence
    if items:
        register_list(items)
    else:
        st.info("No evidence recorded yet.")
    _add_evidence_form(record, problems)
    if items:
        _change_evidence_form(record, problems)
    return record  # every save above happened before this run or reran it: nothing changed


def _add_evidence_form(record: ReviewRecord, problems: list[FieldProblem]) -> None:
    last = st.session_state.get("last_evidence", {})
    new_id = record.review.next_evidence_id
    # Not cleared on submit: an add that fails keeps what was typed, beside its messages.
    with st.form(key(record.id, "evidence", "add"), clear_on_submit=False):
        st.subheader("Add evidence", anchor=False)
        st.caption(f"It will be {new_id} in the register.")
        loc = ("evidence", len(record.review.evidence))
        _evidence_inputs(record, "add", last, problems=problems, loc=loc)
        # Stored in the click's callback, before the page is drawn: one run shows the new item.
        st.form_submit_button(
            "Add evidence",
            type="primary",
            icon=":material/add:",
            on_click=_add_evidence,
            args=(record.id, new_id),
        )


def _change_evidence_form(record: ReviewRecord, problems: list[FieldProblem]) -> None:
    st.subheader("Change or remove evidence", anchor=False)
    items = record.review.evidence
    by_id = {item.id: item for item in items}
    chosen = st.selectbox(
        "Evidence item",
        list(by_id),
        format_func=lambda ref: fields.evidence_label(by_id[ref]),
        key=key(record.id, "evidence", "pick"),
    )
    item = by_id[chosen]
    with st.form(key(record.id, "evidence", "edit", chosen)):
        _evidence_inputs(
            record,
            f"edit.{chosen}",
            item.model_dump(mode="json"),
            problems=problems,
            loc=("evidence", items.index(item)),
        )
        save, remove = st.columns(2)
        if save.form_submit_button("Save changes"):
            typed = _evidence_values(key(record.id, "evidence", f"edit.{chosen}"))
            values = {**typed, "id": chosen}
            found = commit_change(
                record, lambda review: review.with_changed_evidence(values), step="evidence"
            )
            st.session_state[problems_key(record.id)] = found
            st.rerun()
        if remove.form_submit_button("Remove this item"):
            _remove_evidence(record, chosen)
            st.rerun()


def _remove_evidence(record: ReviewRecord, evidence_id: str) -> None:
    """Remove the item and its citations; say where it was cited."""
    cited_in = [THEMES_BY_KEY[step].title for step in record.review.citing(evidence_id)]
    found = commit_change(
        record, lambda review: review.without_evidence(evidence_id), step="evidence"
    )
    st.session_state[problems_key(record.id)] = found
    if not found and cited_in:
        st.session_state["flash"] = (
            "info",
            f"Removed {evidence_id} and its citations in: {', '.join(cited_in)}.",
        )
    regenerate(record.id)


@session.guarded
def _add_evidence(review_id: int, new_id: str) -> None:
    """Add the item typed in the add form, as the click's callback (the form's values are in
    the session state by then). Problems are kept for the run that follows to show."""
    prefix = key(review_id, "evidence", "add")
    values = {**_evidence_values(prefix), "id": new_id}
    record = reload_record(review_id)
    found = commit_change(record, lambda review: review.with_evidence(values), step="evidence")
    if found:
        st.session_state[problems_key(review_id)] = found
        return
    st.session_state["last_evidence"] = {"agency": values["agency"], "kind": values["kind"]}
    fields.forget(prefix + ".")


def _evidence_values(prefix: str) -> dict[str, Any]:
    """What the evidence inputs under `prefix` hold, as the stored document writes it."""
    state = st.session_state
    observed = state.get(f"{prefix}.observed_on")
    return {
        "agency": state[f"{prefix}.agency"].value,
        "kind": state[f"{prefix}.kind"].value,
        "observed_on": observed.isoformat() if observed else None,
        "direction": state[f"{prefix}.direction"].value,
        "shows": state.get(f"{prefix}.shows", ""),
        "record_ref": state.get(f"{prefix}.record_ref", ""),
    }


def register_list(items: list[EvidenceItem]) -> None:
    """The register, readable in the wizard's column at 1280 px: one entry per item with
    every detail, dates as dd/mm/yyyy (a grid there hid its right-hand columns)."""
    lines = []
    for item in items:
        record = f" (record {item.record_ref})" if item.record_ref else ""
        lines.append(
            f"- **{escape_markdown(item.id)}** · {item.observed_on:%d/%m/%Y} · "
            f"{escape_markdown(item.agency.label)} · "
            f"{escape_markdown(in_sentence(item.kind.label))} · "
            f"**{escape_markdown(item.direction.label)}**  \n"
            + escape_markdown(f"{item.shows}{record}")
        )
    st.markdown("\n".join(lines))


def incident_list(incidents: list[Incident]) -> None:
    """The incidents, one entry each, in the same form as the evidence register."""
    lines = []
    for incident in incidents:
        record = f" (record {incident.record_ref})" if incident.record_ref else ""
        text = f"{incident.summary}{record}" or "No details recorded."
        lines.append(
            f"- **{escape_markdown(incident.id)}** · {incident.occurred_on:%d/%m/%Y} · "
            f"{escape_markdown(incident.kind.label)}  \n" + escape_markdown(text)
        )
    st.markdown("\n".join(lines))


@contextlib.contextmanager
def _beside(problems: list[FieldProblem], loc: tuple[int | str, ...]) -> Iterator[None]:
    """Draw the field inside with its messages: the anchor the error summary links to before
    it, the messages after it."""
    messages = fields.problems_at(problems, loc)
    if messages:
        fields.anchor(loc)
    yield
    for message in messages:
        st.error(message, icon=":material/error:")


def _evidence_inputs(
    record: ReviewRecord,
    name: str,
    current: dict[str, Any],
    *,
    problems: list[FieldProblem],
    loc: tuple[int | str, ...],
) -> None:
    prefix = key(record.id, "evidence", name)
    _source_inputs(prefix, current, problems=problems, loc=loc)
    directions = list(Direction)
    left, right = st.columns(2)
    with left:
        _date_picker(
            "Date observed",
            current.get("observed_on"),
            key=f"{prefix}.observed_on",
            problems=problems,
            loc=(*loc, "observed_on"),
        )
    direction = current.get("direction", Direction.CHANGE.value)
    right.radio(
        "What it points to",
        directions,
        index=directions.index(Direction(direction)),
        format_func=lambda d: d.label,
        key=f"{prefix}.direction",
        horizontal=True,
    )
    with _beside(problems, (*loc, "shows")):
        st.text_area(
            "What it shows",
            value=current.get("shows", ""),
            max_chars=LONG_TEXT_MAX,
            key=f"{prefix}.shows",
        )
    with _beside(problems, (*loc, "record_ref")):
        st.text_input(
            "Case record reference",
            value=current.get("record_ref", ""),
            max_chars=SHORT_TEXT_MAX,
            key=f"{prefix}.record_ref",
            help="Where it sits in the case record (a reference, not a copy).",
        )


def _source_inputs(
    prefix: str,
    current: dict[str, Any],
    *,
    problems: list[FieldProblem],
    loc: tuple[int | str, ...],
) -> None:
    """Who saw or recorded the evidence, and what kind it is: side by side."""
    agencies, kinds = list(Agency), list(EvidenceKind)
    agency = current.get("agency", Agency.SCHOOL.value)
    kind = current.get("kind", EvidenceKind.OBSERVED.value)
    left, right = st.columns(2)
    with left, _beside(problems, (*loc, "agency")):
        st.selectbox(
            "Source agency",
            agencies,
            index=agencies.index(Agency(agency)),
            format_func=lambda a: a.label,
            key=f"{prefix}.agency",
        )
    with right, _beside(problems, (*loc, "kind")):
        st.selectbox(
            "Kind of evidence",
            kinds,
            index=kinds.index(EvidenceKind(kind)),
            format_func=lambda k: k.label,
            key=f"{prefix}.kind",
        )


def _date_picker(
    label: str,
    value: Any,
    *,
    key: str,
    problems: list[FieldProblem],
    loc: tuple[int | str, ...],
) -> None:
    """A form's date: typed as dd/mm/yyyy or picked, with its problems beside it."""
    with _beside(problems, loc):
        st.date_input(
            label,
            value=value,
            min_value=fields.EARLIEST,
            max_value=fields.LATEST,
            format=fields.DATE_FORMAT,
            key=key,
            help=DATE_PICKER_HELP,
        )


def incidents_step(record: ReviewRecord) -> ReviewRecord:
    st.header("Incidents", anchor=False)
    st.write(
        "Record dated events that indicate risk: missing episodes, arrests, police "
        "intelligence, emergency department visits, violence, exclusions."
    )
    problems: list[FieldProblem] = st.session_state.pop(problems_key(record.id), [])
    error_summary(problems)
    incidents = record.review.incidents
    if incidents:
        incident_list(incidents)
        for index, incident in enumerate(incidents):
            st.button(
                f"Remove {incident.id}",
                key=key(record.id, "incidents", index, "remove"),
                on_click=_remove_incident,
                args=(record.id, incident.id),
            )
    else:
        st.info("No incidents recorded.")
    _add_incident_form(record, problems)
    return record  # the add and the removes are callbacks, stored before this run


def _add_incident_form(record: ReviewRecord, problems: list[FieldProblem]) -> None:
    new_id = record.review.next_incident_id
    loc: tuple[int | str, ...] = ("incidents", len(record.review.incidents))
    new_key = key(record.id, "incidents", "new")
    # Not cleared on submit: an add that fails keeps what was typed, beside its messages.
    with st.form(key(record.id, "incidents", "add"), clear_on_submit=False):
        st.subheader("Add an incident", anchor=False)
        st.caption(f"It will be {new_id} in the incidents.")
        kinds = list(IncidentKind)
        left, right = st.columns(2)
        with left, _beside(problems, (*loc, "kind")):
            st.selectbox(
                "Kind of incident",
                kinds,
                format_func=lambda k: k.label,
                key=f"{new_key}.kind",
            )
        with right:
            _date_picker(
                "Date of incident",
                None,
                key=f"{new_key}.date",
                problems=problems,
                loc=(*loc, "occurred_on"),
            )
        with _beside(problems, (*loc, "summary")):
            st.text_area("What happened", max_chars=LONG_TEXT_MAX, key=f"{new_key}.summary")
        with _beside(problems, (*loc, "record_ref")):
            st.text_input("Case record reference", max_chars=SHORT_TEXT_MAX, key=f"{new_key}.ref")
        st.form_submit_button(
            "Add incident",
            icon=":material/add:",
            on_click=_add_incident,
            args=(record.id, new_id),
        )


@session.guarded
def _add_incident(review_id: int, new_id: str) -> None:
    """Add the incident typed in the add form, as the click's callback (see _add_evidence)."""
    prefix = key(review_id, "incidents", "new")
    state = st.session_state
    day = state.get(f"{prefix}.date")
    incident = {
        "id": new_id,
        "kind": state[f"{prefix}.kind"].value,
        "occurred_on": day.isoformat() if day else None,
        "summary": state.get(f"{prefix}.summary", ""),
        "record_ref": state.get(f"{prefix}.ref", ""),
    }
    record = reload_record(review_id)
    found = commit_change(record, lambda review: review.with_incident(incident), step="incidents")
    state[problems_key(review_id)] = found
    if not found:
        fields.forget(prefix + ".")


@session.guarded
def _remove_incident(review_id: int, incident_id: str) -> None:
    record = reload_record(review_id)
    if any(incident.id == incident_id for incident in record.review.incidents):
        found = commit_change(
            record, lambda review: review.without_incident(incident_id), step="incidents"
        )
        st.session_state[problems_key(review_id)] = found
    regenerate(review_id)
