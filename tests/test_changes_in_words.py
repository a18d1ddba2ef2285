"""What changed since a return, in words: sentences a manager reads, grouped by step, with dates
as dd/mm/yyyy and labels from the vocabularies, never paths like `answers.support.notes`."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from closure_readiness.core.diff import Changed, changes_in_words
from closure_readiness.core.review import ManagerException, Review
from workflow_fixtures import ready_document

E7 = {
    "id": "E7",
    "agency": "police",
    "kind": "record",
    "observed_on": "2025-05-28",
    "direction": "shows_change",
    "shows": "No intelligence reports since March.",
    "record_ref": "POL-CHK-0528",
}


def _review(document: dict[str, Any]) -> Review:
    return Review.model_validate(document)


def _changed(edit: Any) -> list[Changed]:
    """The changes from the ready review to a copy that `edit` changed in place."""
    before = ready_document()
    after = copy.deepcopy(before)
    edit(after)
    return changes_in_words(_review(before), _review(after))


def _by_step(found: list[Changed]) -> dict[str, list[str]]:
    steps: dict[str, list[str]] = {}
    for change in found:
        steps.setdefault(change.step, []).append(change.text)
    return steps


def test_an_unchanged_review_has_no_changes() -> None:
    assert _changed(lambda document: None) == []


def test_evidence_added_is_one_sentence_with_agency_kind_date_direction_and_what_it_shows() -> None:
    found = _changed(lambda document: document["evidence"].append(dict(E7)))

    assert found == [
        Changed(
            "evidence",
            "Evidence E7 added: Police, record or data, 28/05/2025, shows change: "
            "No intelligence reports since March. (record POL-CHK-0528)",
        )
    ]


def test_evidence_removed_says_which_item_it_was() -> None:
    def remove_e5(document: dict[str, Any]) -> None:
        document["evidence"] = [item for item in document["evidence"] if item["id"] != "E5"]

    assert _changed(remove_e5) == [
        Changed(
            "evidence",
            "Evidence E5 removed (it was: Children's social care, attendance or compliance, "
            "01/05/2025).",
        )
    ]


def test_an_evidence_item_changed_names_the_item_and_the_field_with_dates_as_dd_mm_yyyy() -> None:
    def redate(document: dict[str, Any]) -> None:
        document["evidence"][0]["observed_on"] = "2025-01-12"

    assert _changed(redate) == [
        Changed("evidence", "Evidence E1 · Date observed: 10/01/2025 → 12/01/2025")
    ]


def test_notes_written_at_a_step_are_grouped_under_that_step_with_their_text() -> None:
    def write(document: dict[str, Any]) -> None:
        document["answers"]["support"]["notes"] = "Youth work starts on 6 June."

    assert _changed(write) == [Changed("support", "Notes written: Youth work starts on 6 June.")]


def test_notes_changed_and_cleared() -> None:
    before = ready_document()
    before["answers"]["support"]["notes"] = "Start date to confirm."
    changed = copy.deepcopy(before)
    changed["answers"]["support"]["notes"] = "Start date confirmed: 6 June."
    cleared = copy.deepcopy(before)
    cleared["answers"]["support"]["notes"] = ""

    assert changes_in_words(_review(before), _review(changed)) == [
        Changed("support", "Notes changed: Start date confirmed: 6 June.")
    ]
    assert changes_in_words(_review(before), _review(cleared)) == [
        Changed("support", "Notes removed.")
    ]


def test_a_case_detail_reads_before_and_after_in_words() -> None:
    def later(document: dict[str, Any]) -> None:
        document["case"]["proposed_closure_on"] = "2025-06-13"
        document["case"]["risk_now"] = "moderate"

    found = _by_step(_changed(later))

    assert found == {
        "case": [
            "Proposed closure date: 30/05/2025 → 13/06/2025",
            "Risk level now: Emerging → Moderate",
        ]
    }


def test_an_answer_recorded_for_the_first_time_reads_from_not_recorded() -> None:
    def answer(document: dict[str, Any]) -> None:
        document["answers"]["route"]["exploitation_carried_across"] = True

    (change,) = _changed(answer)

    assert change.step == "route"
    assert change.text.endswith(": not recorded → yes")


def test_citations_say_which_evidence_is_now_cited_and_which_no_longer() -> None:
    def cite(document: dict[str, Any]) -> None:
        document["evidence"].append(dict(E7))
        document["answers"]["change"]["cited"] = ["E1", "E2", "E7"]

    found = _by_step(_changed(cite))

    assert found["change"] == ["Evidence cited: now cites E7; no longer cites E3."]


def test_a_list_item_edited_in_place_is_named_by_its_first_answer() -> None:
    def refer(document: dict[str, Any]) -> None:
        document["answers"]["support"]["needs"][0]["status"] = "referred"

    assert _changed(refer) == [
        Changed(
            "support",
            "Remaining needs · Positive activities and mentoring · Referral status: "
            "Accepted by the service → Referred",
        )
    ]


def test_a_list_item_added_reads_as_what_it_records() -> None:
    def add(document: dict[str, Any]) -> None:
        document["answers"]["sustain"]["protective_factors"].append(
            {"description": "Weekly football with a coach", "continues_after_closure": True}
        )

    (change,) = _changed(add)

    assert change.step == "sustain"
    assert change.text.startswith("Protective factors")
    assert ": added " in change.text
    assert "Weekly football with a coach" in change.text
    assert "continues after closure" in change.text.lower()


def test_a_choice_removed_from_a_list_is_named_by_its_label() -> None:
    def unnotify(document: dict[str, Any]) -> None:
        document["answers"]["exit"]["notified"] = ["school", "police"]

    assert _changed(unnotify) == [
        Changed("exit", "Agencies notified of closure: Voluntary or community sector removed.")
    ]


def test_a_family_factor_reads_by_its_label() -> None:
    def present(document: dict[str, Any]) -> None:
        document["answers"]["family"]["factors"]["domestic_abuse"] = {
            "status": "present",
            "response": "Referred to the domestic abuse service",
            "agency": "voluntary",
        }

    found = [change.text for change in _changed(present)]

    assert "Family factors · Domestic abuse · Status: Not present → Present" in found
    assert all(text.startswith("Family factors · Domestic abuse · ") for text in found)


def test_a_rationale_is_grouped_at_the_step_its_check_is_answered() -> None:
    before = ready_document()
    after = copy.deepcopy(before)
    after["rationales"] = {"exit.W002": "Contacts confirmed by phone."}

    found = changes_in_words(
        _review(before),
        _review(after),
        check_step=lambda check_id: "exit",
        check_name=lambda check_id: f"{check_id} (Contacts for later)",
    )

    assert found == [
        Changed(
            "exit",
            "Rationale for exit.W002 (Contacts for later) written: Contacts confirmed by phone.",
        )
    ]


def test_an_exception_granted_since_says_by_whom_and_when() -> None:
    before = _review(ready_document())
    exception = ManagerException(
        finding="exit.E003:0123456789ab",
        reason="The youth work service wrote the exit plan.",
        manager="TM-201",
        granted_on=dt.date(2025, 5, 29),
    )
    after = before.model_copy(update={"exceptions": [exception]})

    assert changes_in_words(before, after) == [
        Changed(
            "exit",
            "Exception to exit.E003 granted by TM-201 on 29/05/2025: The youth work service "
            "wrote the exit plan.",
        )
    ]


def test_replies_to_a_return_are_not_changes() -> None:
    before = _review(ready_document())
    after = before.model_copy(update={"replies": {"12:overall": "Added the start date."}})

    assert changes_in_words(before, after) == []


@pytest.mark.parametrize(
    "text",
    ["![x](https://beacon.invalid/p.png)", "**loud** <b>bold</b> [link](javascript:x)"],
)
def test_free_text_is_kept_as_typed_for_the_page_to_escape(text: str) -> None:
    def write(document: dict[str, Any]) -> None:
        document["answers"]["support"]["notes"] = text

    assert _changed(write) == [Changed("support", f"Notes written: {text}")]


def test_no_sentence_is_a_path() -> None:
    def many(document: dict[str, Any]) -> None:
        document["evidence"].append(dict(E7))
        document["answers"]["support"]["notes"] = "Start date confirmed."
        document["answers"]["support"]["needs"][0]["status"] = "referred"
        document["case"]["risk_now"] = "moderate"
        document["answers"]["family"]["factors"]["domestic_abuse"] = {"status": "present"}

    for change in _changed(many):
        assert "answers" not in change.text
        assert "_" not in change.text
        assert "[" not in change.text
        assert "None" not in change.text
