"""Plain words in the review wizard (issue 9, items 7 to 9), through AppTest.

Errors name the question as the page shows it, beside the field and in a summary that links
to it; a failed add keeps what was typed; dates read and are typed as dd/mm/yyyy. Labels keep
their acronyms, plurals are words, a finding names the record behind it, links to its check
and says whether a manager can except it. Check your answers reads as a summary, the register
as a list, and every cited item is listed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from streamlit.testing.v1 import AppTest

from app_support import (
    CLOSING_ON,
    POLICE_RECORD,
    SCHOOL_SAW_CHANGE,
    DemoDatabase,
    all_text,
    app_test,
    as_seen,
    button,
    checkbox,
    form,
    labels,
    open_all_gaps,
    open_page,
    open_step,
    text_area,
    text_input,
)
from closure_readiness.core.review import Review
from closure_readiness.service import reviews
from closure_readiness.service.records import ReviewRecord

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
MISSING_AFTER_CHANGE = {
    "id": "I1",
    "kind": "missing_episode",
    "occurred_on": "2025-06-10",
    "summary": "Missing overnight, found at a friend's flat.",
    "record_ref": "POL-MIS-0610",
}


def stored(demo: DemoDatabase, review_id: int) -> ReviewRecord:
    return reviews.get_review(demo.context(), demo.principal("caseworker"), review_id)


def own_review(demo: DemoDatabase, reference: str, **parts: Any) -> int:
    """A draft for the demo caseworker: the case facts recorded, then `parts` of the review
    (evidence, incidents, answers by theme) saved through the service."""
    worker = demo.principal("caseworker")
    case = {
        "case_reference": reference,
        "birth_month": "2009-04",
        "involvement": "child_in_need",
        "opened_on": "2024-09-02",
        "proposed_closure_on": CLOSING_ON.isoformat(),
        "closure_reason": "RC7",
        "exploitation_concern": True,
        "risk_at_opening": "significant",
        "risk_now": "emerging",
        "orders_in_force": False,
    }
    review_id = reviews.start_review(demo.context(), worker, case)
    if parts:
        record = stored(demo, review_id)
        document = record.review.model_dump(mode="json")
        for name, value in parts.items():
            if name in document["answers"]:
                document["answers"][name].update(value)
            else:
                document[name] = value
        reviews.save_review(
            demo.context(),
            worker,
            review_id,
            Review.model_validate(document),
            expected_version=record.version,
        )
    return review_id


def error_summaries(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error if "There is a problem" in str(e.value)]


def markdown_bodies(at: AppTest) -> list[str]:
    return [str(m.value) for m in at.markdown]


def panel_cards(at: AppTest) -> list[str]:
    """The text of every open finding on the page, as read: each is one paragraph, on its own
    card at the step and among its step's findings in the gap panel."""
    return [
        as_seen(paragraph)
        for body in markdown_bodies(at)
        for paragraph in body.split("\n\n")
        if " · Open" in as_seen(paragraph)
    ]


# Item 7: errors in the user's words, linked; a failed add keeps what was typed; dates


def test_an_add_that_fails_names_the_question_beside_the_field_and_links_to_it(
    demo: DemoDatabase,
) -> None:
    review_id = own_review(demo, "CR-WORDS-0701")
    at = app_test("caseworker")
    open_step(at, review_id, "cause")

    text_input(form(at, "Add"), "Plan: who acts (role)").set_value("Youth justice case manager")
    button(form(at, "Add"), "Add").click().run()

    assert not at.exception
    [summary] = error_summaries(at)
    anchor = "field-answers-cause-causes-0-kind"
    assert f"(#{anchor})" in summary
    assert as_seen(summary).endswith(
        "[Cause, in cause 1: choose one of the options.]" + f"(#{anchor})"
    )
    assert " › " not in as_seen(summary)
    assert "answers" not in as_seen(summary).split("](")[0]
    # The field has its anchor, and its own message beside it.
    assert [body for body in markdown_bodies(at) if body.startswith(f'<a id="{anchor}"')]
    assert "Choose one of the options." in [str(e.value) for e in at.error]
    # What was typed is still there.
    assert text_input(form(at, "Add"), "Plan: who acts (role)").value == (
        "Youth justice case manager"
    )
    assert stored(demo, review_id).review.answers.cause.causes == []


def test_an_add_that_works_starts_the_form_afresh(demo: DemoDatabase) -> None:
    review_id = own_review(demo, "CR-WORDS-0702")
    at = app_test("caseworker")
    open_step(at, review_id, "sustain")

    factors = form(at, "Add", holding="Protective factor")
    text_input(factors, "Protective factor").set_value("Grandmother he trusts")
    checkbox(factors, "Continues after closure").check()
    button(factors, "Add").click().run()

    assert not at.exception
    [factor] = stored(demo, review_id).review.answers.sustain.protective_factors
    assert factor.description == "Grandmother he trusts"
    assert text_input(form(at, "Add", holding="Protective factor"), "Protective factor").value == ""
    assert "Remove protective factor 1" in [str(b.label) for b in at.button]


def test_evidence_added_without_a_date_keeps_what_was_typed_and_asks_for_dd_mm_yyyy(
    demo: DemoDatabase,
) -> None:
    review_id = own_review(demo, "CR-WORDS-0703", evidence=[SCHOOL_SAW_CHANGE])
    at = app_test("caseworker")
    open_step(at, review_id, "evidence")

    adding = form(at, "Add evidence")
    text_area(adding, "What it shows").set_value("Youth worker saw him at the club every week.")
    text_input(adding, "Case record reference").set_value("YW-0601")
    button(adding, "Add evidence").click().run()

    assert not at.exception
    [summary] = error_summaries(at)
    assert "Date observed, in evidence E2: enter the date as dd/mm/yyyy, for example " in (
        as_seen(summary)
    )
    assert "(#field-evidence-1-observed-on)" in summary
    adding = form(at, "Add evidence")
    assert text_area(adding, "What it shows").value == (
        "Youth worker saw him at the club every week."
    )
    assert text_input(adding, "Case record reference").value == "YW-0601"
    assert [item.id for item in stored(demo, review_id).review.evidence] == ["E1"]


def test_a_date_question_is_typed_as_dd_mm_yyyy_and_saved(demo: DemoDatabase) -> None:
    review_id = own_review(demo, "CR-WORDS-0704", exit={"seen_alone_on": "2025-06-02"})
    field = "Date last seen alone"
    at = app_test("caseworker")
    open_step(at, review_id, "exit")
    assert text_input(at, field).value == "02/06/2025"
    assert "dd/mm/yyyy" in str(text_input(at, field).help)

    text_input(at, field).set_value("9/6/2025").run()

    assert not at.exception
    assert stored(demo, review_id).review.answers.exit.seen_alone_on == dt.date(2025, 6, 9)
    assert text_input(at, field).value == "09/06/2025"


def test_a_typed_date_that_is_not_a_date_is_kept_explained_and_not_saved(
    demo: DemoDatabase,
) -> None:
    review_id = own_review(demo, "CR-WORDS-0705", exit={"seen_alone_on": "2025-06-02"})
    field = "Date last seen alone"
    at = app_test("caseworker")
    open_step(at, review_id, "exit")
    version = stored(demo, review_id).version

    text_input(at, field).set_value("31/02/2025").run()

    assert not at.exception
    [summary] = error_summaries(at)
    assert "Date last seen alone: enter a real date as dd/mm/yyyy" in as_seen(summary)
    assert "(#field-answers-exit-seen-alone-on)" in summary
    assert any("that day does not exist" in str(e.value) for e in at.error)
    assert text_input(at, field).value == "31/02/2025"
    record = stored(demo, review_id)
    assert (record.version, record.review.answers.exit.seen_alone_on) == (
        version,
        dt.date(2025, 6, 2),
    )


def test_a_date_after_closure_is_explained_beside_its_field_in_dd_mm_yyyy_with_its_acronym(
    demo: DemoDatabase,
) -> None:
    review_id = own_review(demo, "CR-WORDS-0706")
    field = "Date risk indicator tool (RIT) last completed"
    at = app_test("caseworker")
    open_step(at, review_id, "exploit")

    text_input(at, field).set_value("01/07/2025").run()

    assert not at.exception
    [summary] = error_summaries(at)
    said = as_seen(summary)
    assert "risk indicator tool (RIT)" in said
    assert "(rit)" not in said
    assert "01/07/2025" in said
    assert "30/06/2025" in said
    assert not ISO_DATE.search(said)
    assert "(#field-answers-exploit-rit-completed-on)" in summary
    beside = [str(e.value) for e in at.error if "There is a problem" not in str(e.value)]
    assert any("dated 01/07/2025, after the proposed closure date" in text for text in beside)
    assert stored(demo, review_id).review.answers.exploit.rit_completed_on is None


# Item 8: acronyms, plurals, punctuation, check titles and links, exceptions, the record


def test_findings_and_labels_read_as_sentences(demo: DemoDatabase) -> None:
    review_id = own_review(
        demo,
        "CR-WORDS-0801",
        sustain={
            "protective_factors": [
                {"description": "Boxing club", "continues_after_closure": False},
                {"description": "Youth worker", "continues_after_closure": False},
            ]
        },
    )
    at = app_test("caseworker")

    for step in ("tasks", "sign_off"):
        open_step(at, review_id, step)
        if step == "tasks":
            open_all_gaps(at)
        text = as_seen(all_text(at))
        assert "All 2 protective factors stop when the case closes." in text
        assert "(s)" not in text
        assert ".;" not in text
        assert "not recorded, not within" not in text
    assert (
        "No date is recorded for the last direct contact with the young person; it should be "
        "within 4 weeks before closure."
    ) in text


def test_a_card_names_its_check_links_to_the_reference_and_says_if_it_can_be_excepted(
    demo: DemoDatabase,
) -> None:
    review_id = own_review(demo, "CR-WORDS-0802")
    reviews_record = stored(demo, review_id)
    document = reviews_record.review.model_dump(mode="json")
    document["case"]["closure_reason"] = None
    reviews.save_review(
        demo.context(),
        demo.principal("caseworker"),
        review_id,
        Review.model_validate(document),
        expected_version=reviews_record.version,
    )
    at = app_test("caseworker")
    open_step(at, review_id, "tasks")
    open_all_gaps(at)
    cards = panel_cards(at)

    pace = [card for card in cards if "pace.E001" in card]
    assert pace
    assert (
        "Blocker · [pace.E001 Change not sustained long enough](reference?check=pace.E001) · Open"
    ) in pace[0]
    assert "Your manager can grant an exception to this blocker." in pace[0]
    route = [card for card in cards if "route.E001" in card]
    assert route
    assert "This blocker cannot be excepted: it must be resolved." in route[0]
    assert not [card for card in cards if "`" in card]  # no bare check id in code style


def test_the_check_reference_opens_at_the_check_a_card_links_to(demo: DemoDatabase) -> None:
    at = app_test("caseworker")
    open_page(at, "reference", query={"check": "pace.E001"})

    assert not at.exception
    bodies = [as_seen(str(m.value)) for m in at.markdown]
    # Right after the introduction, before the themes: the check the card linked to.
    assert bodies[1].endswith("pace.E001 Change not sustained long enough")
    assert str(at.markdown[1].value).endswith("`pace.E001` Change not sustained long enough")
    opened = [e for e in at.expander if e.proto.expanded]
    assert [str(e.label).split(":")[0] for e in opened] == ["Pace of change"]


def test_pace_names_the_incident_that_restarted_the_clock(demo: DemoDatabase) -> None:
    review_id = own_review(
        demo,
        "CR-WORDS-0803",
        evidence=[SCHOOL_SAW_CHANGE, POLICE_RECORD],
        incidents=[MISSING_AFTER_CHANGE],
        change={"cited": ["E1", "E2"]},
        pace={"plan_names_period": True, "maintenance_weeks": 12},
    )
    [finding] = [
        f for f in stored(demo, review_id).report.open_findings if f.check_id == "pace.E001"
    ]
    assert finding.evidence == ["I1"]
    at = app_test("caseworker")
    open_step(at, review_id, "pace")

    [card] = [card for card in panel_cards(at) if "pace.E001" in card][:1]
    assert "the last incident (I1, missing episode, 10 June 2025)" in card
    assert "Incident concerned: I1" in card
    assert "Evidence concerned" not in card


# Item 9: check your answers, the register, cited evidence, distinct buttons


def test_check_your_answers_reads_as_a_summary_with_a_change_link_per_block(
    demo: DemoDatabase,
) -> None:
    review_id = own_review(
        demo,
        "CR-WORDS-0901",
        evidence=[SCHOOL_SAW_CHANGE, POLICE_RECORD],
        incidents=[MISSING_AFTER_CHANGE],
        cause={
            "causes": [
                {"kind": "new_education_place"},
                {"kind": "own_decision", "plan_notes": "He says he is done with it."},
            ]
        },
    )
    at = app_test("caseworker")
    open_step(at, review_id, "sign_off")
    texts = [str(t.value) for t in at.text]
    lines = [line for text in texts for line in text.split("\n")]

    assert any(line.startswith("Cause 1: New education place; ") for line in lines)
    assert any(line.startswith("Cause 2: The young person's own decision; ") for line in lines)
    assert (
        "E1 · 20/05/2025 · School or college · observed by a professional · shows change: "
        "Form tutor saw him settled in lessons every day. (record EDU-OBS-0520)"
    ) in lines
    assert (
        "I1 · 10/06/2025 · Missing episode: Missing overnight, found at a friend's flat. "
        "(record POL-MIS-0610)"
    ) in lines
    assert "Proposed closure date: 30/06/2025" in lines
    assert not [line for line in lines if ISO_DATE.search(line)]
    assert not [line for line in lines if ".;" in line]
    changes = [label for label in labels(at, "button") if label.startswith("Change ")]
    assert {"Change case details", "Change evidence register", "Change incidents"} <= set(changes)
    assert "Change victim and perpetrator" in changes
    assert len(changes) == len(set(changes)) == 16

    button(at, "Change evidence register").click().run()
    assert at.query_params["step"] == "evidence"


def test_the_evidence_register_is_a_list_with_every_detail_and_dd_mm_yyyy_dates(
    demo: DemoDatabase,
) -> None:
    review_id = own_review(demo, "CR-WORDS-0902", evidence=[SCHOOL_SAW_CHANGE, POLICE_RECORD])
    at = app_test("caseworker")
    open_step(at, review_id, "evidence")

    assert not at.dataframe  # a grid hid its right-hand columns in the wizard's column
    [register] = [as_seen(b) for b in markdown_bodies(at) if as_seen(b).startswith("- E1")]
    assert "- E1 · 20/05/2025 · School or college · observed by a professional · Shows change" in (
        register
    )
    assert "Form tutor saw him settled in lessons every day. (record EDU-OBS-0520)" in register
    assert "- E2 · 02/06/2025 · Police · record or data · Shows change" in register
    assert not ISO_DATE.search(register)


def test_cited_evidence_lists_every_item_one_a_line(demo: DemoDatabase) -> None:
    review_id = own_review(
        demo,
        "CR-WORDS-0903",
        evidence=[SCHOOL_SAW_CHANGE, POLICE_RECORD],
        change={"cited": ["E1", "E2"]},
    )
    at = app_test("caseworker")
    open_step(at, review_id, "change")

    [cited] = [
        as_seen(b) for b in markdown_bodies(at) if as_seen(b).startswith("Evidence cited (2):")
    ]
    assert cited.split("\n")[2:] == [
        "- E1 · 20/05/2025 · School or college · observed by a professional · shows change: "
        "Form tutor saw him settled in lessons every day. (record EDU-OBS-0520)",
        "- E2 · 02/06/2025 · Police · record or data · shows change: No missing episodes "
        "recorded since February. (record POL-CHK-0602)",
    ]
