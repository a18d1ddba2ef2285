"""The review wizard: a task list, one step per theme, the evidence register, live gaps, sign-off.

Every change is saved as soon as it is made (no lost work); the gap panel is drawn after the
step so it always shows the report for what is now stored.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from pydantic import ValidationError

from closure_readiness.checks import REGISTRY, CheckResult, Resolution
from closure_readiness.checks.questions import THEMES, THEMES_BY_KEY
from closure_readiness.core.answers_text import answer_lines, title_of
from closure_readiness.core.errors import FieldProblem, explain
from closure_readiness.core.review import Answers, Case, Review, RouteAnswer
from closure_readiness.core.vocabulary import (
    Agency,
    Direction,
    EvidenceKind,
    FactorStatus,
    FamilyFactor,
    IncidentKind,
)
from closure_readiness.service import reviews
from closure_readiness.service.context import Conflict, Principal, Role, ServiceError
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import fields, session
from closure_readiness.views.findings import (
    CASE_STEP,
    exception_notices,
    finding_box,
    progress_line,
    route_label,
    step_of,
    step_of_check,
)
from closure_readiness.views.safe import escape_markdown

STATUS_WORDS = {
    "draft": "Draft",
    "returned": "Returned by your manager",
    "submitted": "Signed off, waiting for countersignature",
    "approved": "Closure approved",
    "withdrawn": "Withdrawn",
}
OTHER_STEPS = {
    "tasks": "Task list",
    "case": "Case details",
    "evidence": "Evidence register",
    "incidents": "Incidents",
    "sign_off": "Check and sign off",
}


# State kept per browser session: which version this tab last saw, and a generation number
# that re-seeds every widget (new keys) after another tab or a list edit changed the review.


def _known_key(review_id: int) -> str:
    return f"known_version:{review_id}"


def _generation(review_id: int) -> int:
    return int(st.session_state.get(f"generation:{review_id}", 0))


def _regenerate(review_id: int) -> None:
    st.session_state[f"generation:{review_id}"] = _generation(review_id) + 1


def _key(review_id: int, *parts: object) -> str:
    return ".".join(["r", str(review_id), f"g{_generation(review_id)}", *map(str, parts)])


def _set_step(step: str) -> None:
    st.query_params["step"] = step


def _problems_key(review_id: int) -> str:
    return f"problems:{review_id}"


def _commit(record: ReviewRecord, document: dict[str, Any], *, step: str) -> list[FieldProblem]:
    """Validate and save a changed review. Returns problems to show; stores nothing invalid."""
    principal: Principal = st.session_state["principal"]
    try:
        review = Review.model_validate(document)
    except ValidationError as error:
        return explain(error, Review)
    if review == record.review:
        return []
    known = int(st.session_state.get(_known_key(record.id), record.version))
    try:
        version = reviews.save_review(
            session.context(), principal, record.id, review, expected_version=known
        )
    except Conflict as conflict:
        _regenerate(record.id)
        st.session_state[_known_key(record.id)] = record.version
        st.session_state["flash"] = ("warning", conflict.message)
        st.rerun()
    except ServiceError as error:
        return error.problems or [FieldProblem(field="", message=error.message)]
    st.session_state[_known_key(record.id)] = version
    st.session_state[f"saved:{record.id}"] = step
    return []


def _error_summary(problems: list[FieldProblem]) -> None:
    if not problems:
        return
    lines = "\n".join(f"- {escape_markdown(str(problem))}" for problem in problems)
    st.error(f"**There is a problem**\n\n{lines}", icon=":material/error:")


def page() -> None:
    principal: Principal = st.session_state["principal"]
    raw_id = st.query_params.get("review")
    if raw_id is None or not raw_id.isdigit():
        st.title("Review")
        st.info("Choose a review from your list first.")
        return
    review_id = int(raw_id)
    try:
        record = reviews.get_review(session.context(), principal, review_id)
    except ServiceError as error:
        st.title("Review")
        st.error(error.message)
        return
    step = st.query_params.get("step", "tasks")
    if step not in OTHER_STEPS and step not in THEMES_BY_KEY:
        step = "tasks"
    # The tab knows the version its widgets were seeded from. Opening a step seeds them afresh
    # from what is stored; staying on a step keeps the old version, so a save over another
    # tab's change to the same step is refused as a conflict instead of silently losing it.
    if st.session_state.get(f"step:{review_id}") != step:
        st.session_state[f"step:{review_id}"] = step
        st.session_state[_known_key(review_id)] = record.version
    st.session_state.setdefault(_known_key(review_id), record.version)
    flash = st.session_state.pop("flash", None)
    editable = record.editable and principal.role is Role.CASEWORKER
    editable = editable and record.worker_id == principal.staff_id

    st.title(f"Closure review {record.case_reference}")
    st.caption(
        f"{STATUS_WORDS[record.status]} · {record.review.case.involvement.label} · "
        f"proposed closure {record.review.case.proposed_closure_on:%d/%m/%Y}"
        + (" · re-referral after an approved closure" if record.re_referral_of else "")
    )
    if flash:
        getattr(st, flash[0])(flash[1])
    if record.last_return is not None:
        note = record.last_return
        st.warning(
            f"**Returned by your manager** ({session.london(note.returned_at)}): "
            f"{escape_markdown(note.overall)}",
            icon=":material/undo:",
        )

    main, side = st.columns([3, 2], gap="large")
    with main:
        _step_menu(record, step)
        if not editable:
            _read_only(record)
        elif step == "tasks":
            _task_list(record)
        elif step == "case":
            record = _case_step(record)
        elif step == "evidence":
            record = _evidence_step(record)
        elif step == "incidents":
            record = _incidents_step(record)
        elif step == "sign_off":
            record = _sign_off_step(record)
        else:
            record = _theme_step(record, step)
    with side:
        _gap_panel(record, editable=editable, step=step)


def _step_menu(record: ReviewRecord, step: str) -> None:
    names = ["tasks", "case", "evidence", "incidents", *(t.key for t in THEMES), "sign_off"]
    labels = {**OTHER_STEPS, **{t.key: t.title for t in THEMES}}
    chosen = st.selectbox(
        "Step",
        names,
        index=names.index(step),
        format_func=lambda name: labels[name],
        key=_key(record.id, "menu", step),
    )
    if chosen != step:
        _set_step(chosen)
        st.rerun()


_UNANSWERED = Answers()
"""Every step as a new review has it: a step equal to this has not been answered."""
NOT_STARTED = "Not started"
GAPS_REMAIN = "Gaps remain"
COMPLETE = "Complete"
NOT_NEEDED = "Not needed for this route"


def _step_results(record: ReviewRecord, step: str) -> list[CheckResult]:
    return [r for r in record.report.results if step_of_check(r.id) == step]


def _waiting_for_reason(record: ReviewRecord, step: str) -> bool:
    """The closure route step cannot be judged until the closure reason is recorded."""
    return step == "route" and record.review.case.closure_reason is None


def _not_needed(record: ReviewRecord, step: str) -> bool:
    """No check at this step applies on this review's closure route."""
    results = _step_results(record, step)
    return (
        bool(results)
        and not any(r.applicable for r in results)
        and not _waiting_for_reason(record, step)
    )


def _not_needed_text(record: ReviewRecord) -> str:
    label = route_label(record.report)
    return f"{NOT_NEEDED}: {label}" if label else NOT_NEEDED


def _counts(record: ReviewRecord, step: str) -> str:
    findings = [f for f in record.report.open_findings if step_of(f) == step]
    blockers = sum(f.level == "blocker" for f in findings)
    cautions = sum(f.level == "caution" for f in findings)
    counts = []
    if blockers:
        counts.append(f"{blockers} blocker{'s' if blockers > 1 else ''}")
    if cautions:
        counts.append(f"{cautions} caution{'s' if cautions > 1 else ''}")
    return ", ".join(counts)


def _step_status(record: ReviewRecord, step: str) -> str:
    """Complete only when answered with nothing open; untouched defaults are not started."""
    if _not_needed(record, step):
        return _not_needed_text(record)
    open_here = [f for f in record.report.open_findings if step_of(f) == step]
    if step == CASE_STEP:
        answered = True  # the case facts are entered to start the review
    else:
        answered = getattr(record.review.answers, step) != getattr(_UNANSWERED, step)
    if not answered:
        return NOT_STARTED
    return GAPS_REMAIN if open_here else COMPLETE


def _task_list(record: ReviewRecord) -> None:
    st.header("Task list")
    st.write("Work through the steps in any order. Sign-off opens once nothing blocks it.")
    report = record.report
    label = route_label(report)
    if record.review.case.closure_reason is None:
        st.info(
            "Record the closure reason at Case details: it decides which steps this closure "
            "needs. Until then every step is asked.",
            icon=":material/info:",
        )
    elif label:
        st.markdown(f"**Closure route:** {label}")
    _task_row(record, CASE_STEP, "Case details", _step_status(record, CASE_STEP))
    evidence_count, incident_count = len(record.review.evidence), len(record.review.incidents)
    _task_row(record, "evidence", "Evidence register", COMPLETE if evidence_count else NOT_STARTED)
    _task_row(record, "incidents", "Incidents", COMPLETE if incident_count else "None recorded")
    for theme in THEMES:
        _task_row(record, theme.key, theme.title, _step_status(record, theme.key))
    sign_status = (
        "Cannot start yet"
        if report.open_blockers
        else ("Ready to sign off" if report.sign_off_possible else "Rationales needed")
    )
    _task_row(record, "sign_off", "Check and sign off", sign_status, counts=False)


_STATUS_ICONS = {
    COMPLETE: ":material/check_circle:",
    GAPS_REMAIN: ":material/error:",
    NOT_STARTED: ":material/radio_button_unchecked:",
    NOT_NEEDED: ":material/do_not_disturb_on:",
    "None recorded": ":material/remove:",
    "Cannot start yet": ":material/lock:",
    "Ready to sign off": ":material/task_alt:",
    "Rationales needed": ":material/edit_note:",
}


def _task_row(
    record: ReviewRecord, name: str, title: str, status: str, *, counts: bool = True
) -> None:
    left, right = st.columns([3, 4], vertical_alignment="center")
    left.button(
        title,
        key=_key(record.id, "task", name),
        on_click=_set_step,
        args=(name,),
        type="tertiary",
        icon=":material/arrow_forward:",
        disabled=name == "sign_off" and status == "Cannot start yet",
    )
    shown = _counts(record, name) if counts else ""
    icon = _STATUS_ICONS[status.split(":", 1)[0]]
    right.markdown(f"{icon} {status}" + (f" · {shown}" if shown else ""))


def _reload(record: ReviewRecord) -> ReviewRecord:
    principal: Principal = st.session_state["principal"]
    return reviews.get_review(session.context(), principal, record.id)


def _route_fields(record: ReviewRecord) -> set[str]:
    """The closure route step's questions that this review's route asks (from what its
    applicable checks read): a transfer is not asked about adult services."""
    return {
        path.split(".", 1)[1]
        for result in _step_results(record, "route")
        if result.applicable and result.id in REGISTRY
        for path in REGISTRY[result.id].reads
        if path.startswith("route.")
    }


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
        key=_key(record.id, "route", "to_case"),
        on_click=_set_step,
        args=(CASE_STEP,),
        icon=":material/arrow_forward:",
        type="tertiary",
    )


def _theme_step(record: ReviewRecord, theme_key: str) -> ReviewRecord:
    theme = THEMES_BY_KEY[theme_key]
    st.header(theme.question)
    st.caption(f"{theme.title} · {theme.learning}")
    not_needed = _not_needed(record, theme_key)
    if not_needed:
        st.info(
            f"**{_not_needed_text(record)}.** No check at this step applies to this closure "
            "route, so nothing here blocks sign-off. You can still record notes.",
            icon=":material/do_not_disturb_on:",
        )
    if theme_key == "route":
        _route_intro(record)
    st.write(theme.guidance)
    with st.expander("Red flags to look for"):
        st.write(theme.red_flags)
    note = record.last_return
    if note is not None and note.themes.get(theme_key):
        st.warning(
            "Your manager asks: " + escape_markdown(note.themes[theme_key]), icon=":material/undo:"
        )
    document = record.review.model_dump(mode="json")
    current = document["answers"][theme_key]
    problems: list[FieldProblem] = st.session_state.pop(_problems_key(record.id), [])
    summary = st.container()
    model = type(getattr(record.review.answers, theme_key))
    loc: tuple[int | str, ...] = ("answers", theme_key)
    skip: tuple[str, ...] = ("notes",)
    if theme_key == "route":
        asked = _route_fields(record)
        skip = (
            *skip,
            *(
                name
                for name in RouteAnswer.model_fields
                if name not in asked and not (name == "cited" and asked)
            ),
        )

    def list_editor(name: str, field: Any, items: list[Any]) -> list[Any]:
        return _list_editor(record, theme_key, name, field, items, problems)

    updated = fields.model_fields(
        model,
        current,
        key=_key(record.id, theme_key),
        evidence=list(record.review.evidence),
        problems=problems,
        loc=loc,
        skip=skip,
        list_editor=list_editor,
    )
    if theme_key == "family":
        updated["factors"] = _family_factors(record, current.get("factors", {}))
    updated["notes"] = fields.field_widget(
        "notes",
        model.model_fields["notes"],
        current.get("notes", ""),
        key=_key(record.id, theme_key, "notes"),
        evidence=[],
        errors=fields.problems_at(problems, (*loc, "notes")),
    )
    if updated != current:
        document["answers"][theme_key] = updated
        problems = _commit(record, document, step=theme_key)
        record = _reload(record)
    with summary:
        _error_summary(problems)
    _step_findings(record, theme_key)
    return record


def _step_findings(record: ReviewRecord, step: str) -> None:
    st.subheader("This step's checks")
    results = [r for r in _step_results(record, step) if r.applicable]
    passed = [r for r in results if r.passed]
    for result in results:
        for index, finding in enumerate(result.findings):
            finding_box(finding, key=_key(record.id, "step", finding.key, index))
    if results:
        st.caption(f"{len(passed)} of {len(results)} checks at this step pass.")
    else:
        st.caption("No check at this step applies to this closure route.")


def _list_editor(
    record: ReviewRecord,
    theme_key: str,
    name: str,
    field: Any,
    items: list[dict[str, Any]],
    problems: list[FieldProblem],
) -> list[dict[str, Any]]:
    model = fields.item_model(field)
    title = title_of(name, field)
    st.markdown(f"**{title}**")
    evidence = list(record.review.evidence)
    cited_label = _cited_label(model)
    updated = []
    for index, item in enumerate(items):
        with st.container(border=True):
            updated.append(
                fields.model_fields(
                    model,
                    item,
                    key=_key(record.id, theme_key, name, index),
                    evidence=evidence,
                    problems=problems,
                    loc=("answers", theme_key, name, index),
                    cited_label=cited_label,
                )
            )
            st.button(
                "Remove",
                key=_key(record.id, theme_key, name, index, "remove"),
                on_click=_remove_item,
                args=(record.id, ("answers", theme_key, name), index),
                icon=":material/delete:",
            )
    with st.form(_key(record.id, theme_key, name, "add"), clear_on_submit=True, border=True):
        st.caption(f"Add to: {field.title or name}")
        new_item = fields.model_fields(
            model,
            model.model_construct().model_dump(mode="json") if _constructible(model) else {},
            key=_key(record.id, theme_key, name, "new"),
            evidence=evidence,
            problems=[],
            loc=(),
            cited_label=cited_label,
        )
        if st.form_submit_button("Add", icon=":material/add:"):
            document = record.review.model_dump(mode="json")
            document["answers"][theme_key][name] = [*items, new_item]
            found = _commit(record, document, step=theme_key)
            if found:
                st.session_state[_problems_key(record.id)] = found
            st.rerun()
    return updated


def _cited_label(model: Any) -> str:
    """'Evidence for this plan outcome or safety goal': named after the item's first field."""
    first = next(iter(model.model_fields.values()))
    return f"Evidence for this {first.title or 'entry'}"


def _constructible(model: Any) -> bool:
    return all(not f.is_required() for f in model.model_fields.values())


def _remove_item(review_id: int, path: tuple[str, ...], index: int) -> None:
    principal: Principal = st.session_state["principal"]
    record = reviews.get_review(session.context(), principal, review_id)
    document = record.review.model_dump(mode="json")
    target: Any = document
    for part in path:
        target = target[part]
    del target[index]
    _commit(record, document, step=path[1] if path[0] == "answers" else path[0])
    _regenerate(review_id)


_UNANSWERED_FACTOR = {"status": FactorStatus.NOT_ASSESSED.value, "response": "", "agency": None}


def _family_factors(record: ReviewRecord, current: dict[str, Any]) -> dict[str, Any]:
    st.markdown("**Family factors**")
    st.caption(
        "For each factor present, name the plan element or onward support and the agency that "
        "provides it."
    )
    result: dict[str, Any] = {}
    for factor in FamilyFactor:
        value = {**_UNANSWERED_FACTOR, **current.get(factor.value, {})}
        status_col, response_col, agency_col = st.columns([2, 3, 2])
        status = status_col.selectbox(
            factor.label,
            list(FactorStatus),
            index=list(FactorStatus).index(FactorStatus(value["status"])),
            format_func=lambda option: option.label,
            key=_key(record.id, "family", factor.value, "status"),
        )
        response = response_col.text_input(
            f"{factor.label}: plan element or onward support",
            value=value.get("response", ""),
            max_chars=200,
            key=_key(record.id, "family", factor.value, "response"),
        )
        with agency_col:
            agency = fields.optional_choice(
                f"{factor.label}: agency that provides it",
                Agency,
                Agency(value["agency"]) if value.get("agency") else None,
                key=_key(record.id, "family", factor.value, "agency"),
            )
        chosen = {
            "status": getattr(status, "value", None),
            "response": response,
            "agency": agency.value if agency is not None else None,
        }
        # A factor never answered stays absent: opening the step must not save a new version.
        if factor.value in current or chosen != _UNANSWERED_FACTOR:
            result[factor.value] = chosen
    return result


CASE_LIST_ADD = {
    "previous_closures": "Add a previous closure",
    "orders": "Add a statutory order",
}


def _case_step(record: ReviewRecord) -> ReviewRecord:
    st.header("Case details")
    st.write(
        "The case reference is fixed; everything else can be corrected here. The closure reason "
        'decides which steps this closure needs; leave a fact as "Not recorded" only until '
        "you know it."
    )
    document = record.review.model_dump(mode="json")
    problems: list[FieldProblem] = st.session_state.pop(_problems_key(record.id), [])
    summary = st.container()
    st.text(f"Case reference: {record.case_reference}")

    def list_editor(name: str, field: Any, items: list[Any]) -> list[Any]:
        return _case_list_editor(record, name, field, items)

    updated = fields.model_fields(
        Case,
        document["case"],
        key=_key(record.id, "case"),
        evidence=[],
        problems=problems,
        loc=("case",),
        skip=("case_reference", "allocated_worker", "team"),
        list_editor=list_editor,
    )
    if updated != document["case"]:
        document["case"] = updated
        problems = _commit(record, document, step="case")
        record = _reload(record)
    with summary:
        _error_summary(problems)
    _step_findings(record, CASE_STEP)
    return record


def _case_list_editor(
    record: ReviewRecord, name: str, field: Any, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    model = fields.item_model(field)
    st.markdown(f"**{title_of(name, field)}**")
    if not items:
        st.caption("None recorded.")
    for index, item in enumerate(items):
        st.text("; ".join(answer_lines(model.model_validate(item), unrecorded=True)))
        st.button(
            "Remove",
            key=_key(record.id, "case", name, index, "remove"),
            on_click=_remove_item,
            args=(record.id, ("case", name), index),
        )
    with st.form(_key(record.id, "case", name, "add"), clear_on_submit=True):
        new_item = fields.model_fields(
            model,
            {},
            key=_key(record.id, "case", name, "new"),
            evidence=[],
            problems=[],
            loc=(),
        )
        if st.form_submit_button(CASE_LIST_ADD.get(name, "Add")):
            document = record.review.model_dump(mode="json")
            document["case"][name] = [*items, new_item]
            found = _commit(record, document, step="case")
            if found:
                st.session_state[_problems_key(record.id)] = found
            st.rerun()
    return items


def _next_id(prefix: str, existing: list[str]) -> str:
    numbers = [
        int(x[len(prefix) :])
        for x in existing
        if x[len(prefix) :].isdigit() and x.startswith(prefix)
    ]
    return f"{prefix}{max(numbers, default=0) + 1}"


def _evidence_step(record: ReviewRecord) -> ReviewRecord:
    st.header("Evidence register")
    st.write(
        "Record each piece of evidence once: who saw or recorded it, when, what kind it is and "
        "what it shows. Steps cite items from here. Attending sessions is recorded as attendance "
        "and never counts as change."
    )
    problems: list[FieldProblem] = st.session_state.pop(_problems_key(record.id), [])
    _error_summary(problems)
    items = record.review.evidence
    if items:
        st.dataframe(
            [
                {
                    "Id": item.id,
                    "Agency": item.agency.label,
                    "Kind": item.kind.label,
                    "Date": item.observed_on,
                    "Points to": item.direction.label,
                    "What it shows": item.shows,
                    "Record": item.record_ref,
                }
                for item in items
            ],
            hide_index=True,
            key=_key(record.id, "evidence", "table"),
        )
    else:
        st.info("No evidence recorded yet.")
    last = st.session_state.get("last_evidence", {})
    with st.form(_key(record.id, "evidence", "add"), clear_on_submit=True):
        st.subheader("Add evidence")
        values = _evidence_inputs(record, "add", last)
        if st.form_submit_button("Add evidence", type="primary", icon=":material/add:"):
            values["id"] = _next_id("E", [item.id for item in items])
            document = record.review.model_dump(mode="json")
            document["evidence"].append(values)
            found = _commit(record, document, step="evidence")
            if found:
                st.session_state[_problems_key(record.id)] = found
            else:
                st.session_state["last_evidence"] = {
                    "agency": values["agency"],
                    "kind": values["kind"],
                }
            st.rerun()
    if items:
        st.subheader("Change or remove evidence")
        by_id = {item.id: item for item in items}
        chosen = st.selectbox(
            "Evidence item",
            list(by_id),
            format_func=lambda ref: fields.evidence_label(by_id[ref]),
            key=_key(record.id, "evidence", "pick"),
        )
        item = by_id[chosen]
        with st.form(_key(record.id, "evidence", "edit", chosen)):
            values = _evidence_inputs(record, f"edit.{chosen}", item.model_dump(mode="json"))
            save, remove = st.columns(2)
            if save.form_submit_button("Save changes"):
                values["id"] = chosen
                document = record.review.model_dump(mode="json")
                document["evidence"] = [
                    values if e["id"] == chosen else e for e in document["evidence"]
                ]
                found = _commit(record, document, step="evidence")
                st.session_state[_problems_key(record.id)] = found
                st.rerun()
            if remove.form_submit_button("Remove this item"):
                document = record.review.model_dump(mode="json")
                document["evidence"] = [e for e in document["evidence"] if e["id"] != chosen]
                cited_in = [
                    THEMES_BY_KEY[theme].title
                    for theme, answer in document["answers"].items()
                    if _drop_citation(answer, chosen)
                ]
                found = _commit(record, document, step="evidence")
                st.session_state[_problems_key(record.id)] = found
                if not found and cited_in:
                    st.session_state["flash"] = (
                        "info",
                        f"Removed {chosen} and its citations in: {', '.join(cited_in)}.",
                    )
                _regenerate(record.id)
                st.rerun()
    return _reload(record)


def _drop_citation(node: Any, ref: str) -> bool:
    """Remove `ref` from every evidence list in an answer, plan outcomes included."""
    dropped = False
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "cited" and isinstance(value, list) and ref in value:
                node[name] = [cited for cited in value if cited != ref]
                dropped = True
            else:
                dropped = _drop_citation(value, ref) or dropped
    elif isinstance(node, list):
        for value in node:
            dropped = _drop_citation(value, ref) or dropped
    return dropped


def _evidence_inputs(record: ReviewRecord, name: str, current: dict[str, Any]) -> dict[str, Any]:
    key = _key(record.id, "evidence", name)
    agencies, kinds, directions = list(Agency), list(EvidenceKind), list(Direction)
    agency = current.get("agency", Agency.SCHOOL.value)
    kind = current.get("kind", EvidenceKind.OBSERVED.value)
    left, right = st.columns(2)
    agency_value = left.selectbox(
        "Source agency",
        agencies,
        index=agencies.index(Agency(agency)),
        format_func=lambda a: a.label,
        key=f"{key}.agency",
    )
    kind_value = right.selectbox(
        "Kind of evidence",
        kinds,
        index=kinds.index(EvidenceKind(kind)),
        format_func=lambda k: k.label,
        key=f"{key}.kind",
    )
    observed = current.get("observed_on")
    left, right = st.columns(2)
    observed_value = left.date_input(
        "Date observed",
        value=observed,
        min_value=fields.EARLIEST,
        max_value=fields.LATEST,
        format=fields.DATE_FORMAT,
        key=f"{key}.observed_on",
    )
    direction = current.get("direction", Direction.CHANGE.value)
    direction_value = right.radio(
        "What it points to",
        directions,
        index=directions.index(Direction(direction)),
        format_func=lambda d: d.label,
        key=f"{key}.direction",
        horizontal=True,
    )
    shows = st.text_area(
        "What it shows", value=current.get("shows", ""), max_chars=4000, key=f"{key}.shows"
    )
    record_ref = st.text_input(
        "Case record reference",
        value=current.get("record_ref", ""),
        max_chars=200,
        key=f"{key}.record_ref",
        help="Where it sits in the case record (a reference, not a copy).",
    )
    return {
        "agency": agency_value.value,
        "kind": kind_value.value,
        "observed_on": observed_value.isoformat() if observed_value else None,
        "direction": direction_value.value,
        "shows": shows,
        "record_ref": record_ref,
    }


def _incidents_step(record: ReviewRecord) -> ReviewRecord:
    st.header("Incidents")
    st.write(
        "Record dated events that indicate risk: missing episodes, arrests, police "
        "intelligence, emergency department visits, violence, exclusions."
    )
    problems: list[FieldProblem] = st.session_state.pop(_problems_key(record.id), [])
    _error_summary(problems)
    incidents = record.review.incidents
    if incidents:
        st.dataframe(
            [
                {
                    "Id": i.id,
                    "Kind": i.kind.label,
                    "Date": i.occurred_on,
                    "What happened": i.summary,
                    "Record": i.record_ref,
                }
                for i in incidents
            ],
            hide_index=True,
            key=_key(record.id, "incidents", "table"),
        )
        for index, incident in enumerate(incidents):
            st.button(
                f"Remove {incident.id}",
                key=_key(record.id, "incidents", index, "remove"),
                on_click=_remove_item,
                args=(record.id, ("incidents",), index),
            )
    with st.form(_key(record.id, "incidents", "add"), clear_on_submit=True):
        st.subheader("Add an incident")
        kinds = list(IncidentKind)
        left, right = st.columns(2)
        kind = left.selectbox(
            "Kind of incident",
            kinds,
            format_func=lambda k: k.label,
            key=_key(record.id, "incidents", "new", "kind"),
        )
        day = right.date_input(
            "Date of incident",
            value=None,
            min_value=fields.EARLIEST,
            max_value=fields.LATEST,
            format=fields.DATE_FORMAT,
            key=_key(record.id, "incidents", "new", "date"),
        )
        summary = st.text_area(
            "What happened", max_chars=4000, key=_key(record.id, "incidents", "new", "summary")
        )
        ref = st.text_input(
            "Case record reference", max_chars=200, key=_key(record.id, "incidents", "new", "ref")
        )
        if st.form_submit_button("Add incident", icon=":material/add:"):
            document = record.review.model_dump(mode="json")
            document["incidents"].append(
                {
                    "id": _next_id("I", [i.id for i in incidents]),
                    "kind": kind.value,
                    "occurred_on": day.isoformat() if day else None,
                    "summary": summary,
                    "record_ref": ref,
                }
            )
            st.session_state[_problems_key(record.id)] = _commit(record, document, step="incidents")
            st.rerun()
    return _reload(record)


def _sign_off_step(record: ReviewRecord) -> ReviewRecord:
    st.header("Check your answers and sign off")
    report = record.report
    if report.open_blockers:
        st.info("Sign-off cannot start yet: resolve the blockers listed beside this step first.")
    _answers_summary(record, change_links=True)
    cautions = list(report.findings(level="caution"))
    document = record.review.model_dump(mode="json")
    problems: list[FieldProblem] = st.session_state.pop(_problems_key(record.id), [])
    summary = st.container()
    if cautions:
        st.subheader("Rationales for cautions")
        st.write("For each caution, say why closure is still right. Your manager reads these.")
        rationales = dict(document.get("rationales", {}))
        for check_id in sorted({f.check_id for f in cautions}):
            messages = "; ".join(f.message for f in cautions if f.check_id == check_id)
            text = st.text_area(
                # Labels render Markdown (images too) and messages can quote stored text.
                f"Rationale for {check_id}: {escape_markdown(messages)}",
                value=rationales.get(check_id, ""),
                max_chars=4000,
                key=_key(record.id, "rationale", check_id),
            )
            if text.strip():
                rationales[check_id] = text
            else:
                rationales.pop(check_id, None)
            for message in fields.problems_at(problems, ("rationales", check_id)):
                st.error(message)
        if rationales != document.get("rationales", {}):
            document["rationales"] = rationales
            problems = _commit(record, document, step="sign_off")
            record = _reload(record)
            report = record.report
    with summary:
        _error_summary(problems)
    if report.exception_notices:
        st.subheader("Exceptions that no longer resolve a gap")
        st.write(
            "Your manager granted these exceptions earlier. Read why each one no longer "
            "applies before you sign off."
        )
        exception_notices(report.exception_notices)
    st.subheader("Attestation")
    st.markdown(reviews.ATTESTATION)
    attested = st.checkbox("I confirm the statement above", key=_key(record.id, "attest"))
    possible = report.sign_off_possible
    if not possible:
        st.caption(
            "The sign-off button works once no blocker is open and every caution has a rationale."
        )
    if st.button(
        "Sign off and send to my manager",
        type="primary",
        disabled=not (possible and attested),
        key=_key(record.id, "sign_off"),
    ):
        principal: Principal = st.session_state["principal"]
        try:
            reviews.sign_off(
                session.context(),
                principal,
                record.id,
                seen_hash=record.content_hash,
                attested=attested,
            )
        except ServiceError as error:
            st.error(error.message)
            return record
        st.session_state["flash"] = (
            "success",
            "Signed off. Your team manager will countersign or return the review; until then it "
            "is read-only. When it is approved, the family summary is offered for sending.",
        )
        _set_step("tasks")
        st.rerun()
    return record


CASE_SUMMARY_SKIP = ("case_reference", "allocated_worker", "team")


def _answers_summary(record: ReviewRecord, *, change_links: bool) -> None:
    review = record.review
    by_id = {item.id: item for item in review.evidence}
    with st.container(border=True):
        st.markdown("**Case details**")
        lines = answer_lines(review.case, skip=CASE_SUMMARY_SKIP, unrecorded=True)
        st.text("\n".join(lines))
        if change_links:
            st.button(
                "Change case details",
                key=_key(record.id, "summary", CASE_STEP),
                on_click=_set_step,
                args=(CASE_STEP,),
            )
    route_skip = tuple(
        name for name in RouteAnswer.model_fields if name not in _route_fields(record)
    )
    for theme in THEMES:
        answer = getattr(review.answers, theme.key)
        with st.container(border=True):
            st.markdown(f"**{theme.title}**: {theme.question}")
            if _not_needed(record, theme.key):
                st.caption(_not_needed_text(record) + ".")
            cited = [fields.evidence_label(by_id[ref]) for ref in answer.cited if ref in by_id]
            if cited:
                st.text("Evidence cited:\n" + "\n".join(cited))
            skip = ("cited", *route_skip) if theme.key == "route" else ("cited",)
            lines = answer_lines(answer, skip=skip, unrecorded=True)
            st.text("\n".join(lines) if lines else "Nothing recorded.")
            if change_links:
                st.button(
                    f"Change {theme.title.lower()}",
                    key=_key(record.id, "summary", theme.key),
                    on_click=_set_step,
                    args=(theme.key,),
                )


def _read_only(record: ReviewRecord) -> None:
    if record.status == "submitted":
        st.info("This review is signed off and waiting for your team manager. It is read-only.")
    elif record.status == "approved":
        st.success("Closure approved. The decision record is sealed.")
    elif record.status == "withdrawn":
        st.info("This review was withdrawn.")
    _answers_summary(record, change_links=False)


def _gap_panel(record: ReviewRecord, *, editable: bool, step: str) -> None:
    report = record.report
    st.subheader("Gaps")
    st.progress(report.passed_count / len(report.results), text=progress_line(report))
    if report.sign_off_possible:
        st.success("Nothing blocks sign-off.", icon=":material/task_alt:")
    for level, heading in (("blocker", "Blockers"), ("caution", "Cautions"), ("note", "Notes")):
        found = [
            f
            for f in report.findings(level=level)
            if f.resolution in (Resolution.OPEN, Resolution.NOTED)
        ]
        if not found:
            continue
        st.markdown(f"**{heading} ({len(found)})**")
        for index, finding in enumerate(found):
            finding_box(
                finding, key=_key(record.id, "panel", finding.key, index), go_to_step=_set_step
            )
    if report.exception_notices:
        st.markdown(f"**Exceptions to read ({len(report.exception_notices)})**")
        exception_notices(report.exception_notices)
    _exception_requests(record, editable=editable)
    resolved = [
        f for f in report.findings() if f.resolution in (Resolution.RATIONALE, Resolution.EXCEPTION)
    ]
    if resolved:
        with st.expander(f"Resolved ({len(resolved)})"):
            for index, finding in enumerate(resolved):
                finding_box(finding, key=_key(record.id, "resolved", finding.key, index))


def _exception_requests(record: ReviewRecord, *, editable: bool) -> None:
    """Requests already made, and one form to ask for an exception to an overridable blocker."""
    report = record.report
    overridable = {r.id for r in report.results if r.overridable}
    candidates = [f for f in report.open_blockers if f.check_id in overridable]
    requests = {r.finding_key: r for r in record.exception_requests}
    for request in record.exception_requests:
        if request.status == "pending":
            st.caption(f"Exception asked for {request.check_id}: waiting for your manager.")
        elif request.status == "declined" and request.finding_key in {f.key for f in candidates}:
            st.caption(
                f"Exception for {request.check_id} declined: "
                + escape_markdown(request.manager_reason)
            )
    askable = [
        f for f in candidates if f.key not in requests or requests[f.key].status != "pending"
    ]
    if not editable or not askable:
        return
    with st.expander("Ask your manager for an exception"):
        st.caption(
            "Some blockers can be resolved by your team manager's written exception when closure "
            "is right despite the gap. Say why."
        )
        by_key = {f.key: f for f in askable}
        with st.form(_key(record.id, "exception", "form"), clear_on_submit=True):
            chosen = st.selectbox(
                "Which gap",
                list(by_key),
                format_func=lambda k: f"{by_key[k].check_id}: {by_key[k].message}"[:150],
                key=_key(record.id, "exception", "which"),
            )
            reason = st.text_area(
                "Why closure is right despite this gap",
                max_chars=4000,
                key=_key(record.id, "exception", "reason"),
            )
            if st.form_submit_button("Send to my manager"):
                principal: Principal = st.session_state["principal"]
                try:
                    reviews.request_exception(
                        session.context(),
                        principal,
                        record.id,
                        finding_key=str(chosen),
                        reason=reason,
                    )
                except ServiceError as error:
                    st.error(error.message)
                    return
                st.session_state["flash"] = (
                    "success",
                    "Your request was sent to your team manager.",
                )
                st.rerun()
