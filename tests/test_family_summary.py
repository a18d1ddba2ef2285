"""The summary for the young person and family: one voice ("you"), written from the structured
answers, previewed and edited at sign-off, sealed with the review, printed as sealed.

The PDF is read back (pypdf, as tests/test_pdf.py does) to check what the family receives.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from app_support import (
    REPO_ROOT,
    DemoDatabase,
    all_text,
    app_test,
    button,
    checkbox,
    open_page,
    open_step,
    widget_starting,
)
from closure_readiness.checks import evaluate
from closure_readiness.core import family_words
from closure_readiness.core.canonical import content_hash
from closure_readiness.core.review import FamilySummary, Review
from closure_readiness.report.decision_pdf import DecisionRecord
from closure_readiness.report.family_pdf import family_summary_pdf
from closure_readiness.service import auditing, decisions, reviews
from closure_readiness.service.records import ReviewRecord

READY = "ready-three-agencies-sustained-change.json"
SHOWS = "Zebra-crossing attendance tally 4471 recorded by the attendance officer"
"""A distinctive "what it shows" for evidence E1: it must not reach the family unless chosen."""
OTHER_SHOWS = "Quartz-lamp boxing register 5582"
EDITED = "You have been going to college every day, and you told us you feel safer."
RECORD_TEXT = "Marker-of-record-text"


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (REPO_ROOT / "examples" / READY).read_text(encoding="utf-8")
    )
    document["evidence"][0]["shows"] = SHOWS
    document["evidence"][2]["shows"] = OTHER_SHOWS
    return document


def _record(review: Review) -> DecisionRecord:
    report = evaluate(review)
    return DecisionRecord(
        decision_id=41,
        review_id=17,
        case_reference=review.case.case_reference,
        team=review.case.team,
        closure_reason="RC7",
        signed_by="SW-014",
        signed_by_name="Sam Worker",
        signed_at="2025-05-30T10:15:00+00:00",
        as_of=report.as_of,
        checks_version=report.checks_version,
        thresholds=report.thresholds,
        review=review,
        report=report,
        attestation="I confirm.",
        content_hash="3f" * 32,
        outcome="approved",
    )


def _pdf_text(data: bytes) -> str:
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
    return " ".join(" ".join(pages).split())


def _flat(text: str) -> str:
    return " ".join(text.split())


# The words written from the answers --------------------------------------------------------


def _with_record_text_everywhere() -> Review:
    """The example with a marker in every piece of free text the case record holds."""
    document = _document()
    for index, item in enumerate(document["evidence"]):
        item["shows"] = f"{RECORD_TEXT} shows {index}"
    for incident in document["incidents"]:
        incident["summary"] = f"{RECORD_TEXT} incident"
    for answer in document["answers"].values():
        answer["notes"] = f"{RECORD_TEXT} notes"
    document["answers"]["cause"]["causes"][0]["plan_notes"] = f"{RECORD_TEXT} plan"
    document["answers"]["sustain"]["safety_network"][0]["agreed_action"] = f"{RECORD_TEXT} act"
    exit_answers = document["answers"]["exit"]
    exit_answers["young_person_view"] = f"{RECORD_TEXT} view"
    exit_answers["parent_view"] = f"{RECORD_TEXT} parent"
    document["answers"]["curiosity"]["engagement_reasons"] = f"{RECORD_TEXT} reasons"
    return Review.model_validate(document)


def test_the_words_from_the_answers_quote_no_record_text() -> None:
    review = _with_record_text_everywhere()

    assert RECORD_TEXT not in family_words.as_text(review)
    assert RECORD_TEXT not in _pdf_text(family_summary_pdf(_record(review)))


@pytest.mark.parametrize(
    "example",
    [
        READY,
        "ready-transfer-to-another-authority.json",
        "ready-transition-at-18-to-adult-services.json",
    ],
)
def test_every_part_speaks_to_the_young_person_and_family_as_you(example: str) -> None:
    review = Review.model_validate_json((REPO_ROOT / "examples" / example).read_text("utf-8"))

    for name, text in family_words.written_from_answers(review).items():
        assert re.search(r"\b(you|your)\b", text, re.IGNORECASE), name
        for third_person in ("the young person", "the family", " he ", " she ", " his ", " her "):
            assert third_person not in f" {text.lower()} ", (name, third_person)


def test_the_change_part_names_who_saw_change_by_agency() -> None:
    words = family_words.written_from_answers(Review.model_validate(_document()))["changed"]

    assert "People who know you have seen good changes:" in words
    assert "Your school or college" in words
    assert "The police" in words
    assert SHOWS not in words


# The review document --------------------------------------------------------------------------


def test_an_old_document_without_the_summary_loads_and_keeps_its_bytes() -> None:
    document = json.loads((REPO_ROOT / "examples" / READY).read_text(encoding="utf-8"))
    review = Review.model_validate(document)

    assert review.family_summary is None
    assert "family_summary" not in review.model_dump(mode="json")
    assert content_hash(review) == content_hash(Review.model_validate(review.model_dump()))


def test_a_settled_summary_survives_a_json_round_trip() -> None:
    document = _document()
    document["family_summary"] = {"changed": EDITED, "quoted": ["E1"]}
    review = Review.model_validate(document)

    again = Review.model_validate_json(review.model_dump_json())

    assert again == review
    assert again.family_summary == FamilySummary(changed=EDITED, quoted=["E1"])


def test_removing_quoted_evidence_stops_quoting_it() -> None:
    document = _document()
    document["family_summary"] = {"quoted": ["E1", "E3"]}
    document["answers"]["change"]["cited"] = ["E2", "E3"]
    document["answers"]["change"]["plan_outcomes"][0]["cited"] = []
    document["answers"]["pace"]["cited"] = []
    del document["evidence"][0]

    review = Review.model_validate(document)

    assert review.family_summary is not None
    assert review.family_summary.quoted == ["E3"]


# The PDF ------------------------------------------------------------------------------------


def test_the_pdf_prints_the_worker_s_words_and_quotes_only_what_they_chose() -> None:
    document = _document()
    document["family_summary"] = {"changed": EDITED, "quoted": ["E3"]}
    text = _pdf_text(family_summary_pdf(_record(Review.model_validate(document))))

    assert EDITED in text
    assert "What they saw:" in text
    assert f"A community or charity service: \u201c{OTHER_SHOWS}\u201d" in text
    assert SHOWS not in text
    assert "People who know you have seen good changes" not in text  # replaced by their words
    assert "After we close, your main contact is the Senior youth worker" in text
    assert "If anyone is in danger right now, call 999." in text


def test_an_older_decision_without_a_summary_prints_the_words_from_its_answers() -> None:
    text = _pdf_text(family_summary_pdf(_record(Review.model_validate(_document()))))

    assert "People who know you have seen good changes: \u2022 Your school or college" in text
    assert SHOWS not in text
    assert OTHER_SHOWS not in text
    assert "What they saw:" not in text


def test_bulleted_lines_the_worker_types_print_as_a_list() -> None:
    document = _document()
    document["family_summary"] = {"support": "Help carries on:\n- Boxing on Tuesdays\n* Mentoring"}
    text = _pdf_text(family_summary_pdf(_record(Review.model_validate(document))))

    assert "Help carries on: \u2022 Boxing on Tuesdays \u2022 Mentoring" in text
    assert "- Boxing" not in text
    assert "* Mentoring" not in text


# The app: preview, edit, sign off, approve, print -------------------------------------------


def _stored(demo: DemoDatabase, review_id: int) -> ReviewRecord:
    return reviews.get_review(demo.context(), demo.principal("caseworker"), review_id)


def _ready_review(demo: DemoDatabase) -> int:
    document = _document()
    document["case"]["case_reference"] = "CR-TEST-0401"
    review = Review.model_validate(document)
    ctx, worker = demo.context(), demo.principal("caseworker")
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    return review_id


def _box(at: AppTest, heading: str) -> Any:
    return next(area for area in at.text_area if area.label == heading)


def _sign_off_and_approve(demo: DemoDatabase, at: AppTest, review_id: int) -> int:
    checkbox(at, "I confirm the statement above").check().run()
    button(at, "Sign off and send to my manager").click().run()
    assert not at.exception
    record = _stored(demo, review_id)
    assert record.status == "submitted"
    decision_id = record.pending_decision_id
    assert decision_id is not None
    manager = demo.principal("manager")
    sealed = decisions.get_decision(demo.context(), manager, decision_id)
    decisions.countersign(demo.context(), manager, decision_id, hash_seen=sealed.content_hash)
    return decision_id


def test_sign_off_shows_the_summary_in_you_voice_without_record_text(demo: DemoDatabase) -> None:
    review_id = _ready_review(demo)
    at = app_test("caseworker")

    open_step(at, review_id, "sign_off")

    assert not at.exception
    assert "Summary for you and your family" in [str(s.value) for s in at.subheader]
    for _, heading in family_words.PARTS:
        value = str(_box(at, heading).value)
        assert re.search(r"\b(you|your)\b", value, re.IGNORECASE), heading
        assert SHOWS not in value
        assert OTHER_SHOWS not in value
    quote = widget_starting(at, "checkbox", "Quote what E1 ")
    assert quote.value is False
    # Looking at it saves nothing.
    assert _stored(demo, review_id).review.family_summary is None


def test_the_worker_edits_and_quotes_and_the_family_pdf_prints_exactly_that(
    demo: DemoDatabase,
) -> None:
    review_id = _ready_review(demo)
    at = app_test("caseworker")
    open_step(at, review_id, "sign_off")

    _box(at, "What has changed").set_value(EDITED).run()
    widget_starting(at, "checkbox", "Quote what E1 ").check().run()

    assert not at.exception
    summary = _stored(demo, review_id).review.family_summary
    assert summary == FamilySummary(changed=EDITED, quoted=["E1"])
    assert "Your own words." in [str(c.value) for c in at.caption]
    assert EDITED in all_text(at)  # the preview of the whole summary
    decision_id = _sign_off_and_approve(demo, at, review_id)

    manager = demo.principal("manager")
    text = _pdf_text(auditing.family_summary_pdf(demo.context(), manager, decision_id))
    assert EDITED in text
    assert f"Your school or college: \u201c{SHOWS}\u201d" in text
    assert OTHER_SHOWS not in text
    assert "Help from other services:" in text  # the parts left alone: words from the answers

    # The manager reads it on the decision page, as the worker wrote it.
    page = app_test("manager")
    open_page(page, "decision", query={"decision": str(decision_id)})
    assert not page.exception
    assert "Summary for the family (as the worker wrote it)" in [e.label for e in page.expander]
    assert EDITED in [str(t.value) for t in page.text]


def test_without_a_tick_the_family_pdf_quotes_nothing_from_the_record(demo: DemoDatabase) -> None:
    review_id = _ready_review(demo)
    at = app_test("caseworker")
    open_step(at, review_id, "sign_off")

    decision_id = _sign_off_and_approve(demo, at, review_id)

    text = _pdf_text(
        auditing.family_summary_pdf(demo.context(), demo.principal("manager"), decision_id)
    )
    assert SHOWS not in text
    assert OTHER_SHOWS not in text
    assert "People who know you have seen good changes" in text


def test_going_back_to_the_words_from_the_answers(demo: DemoDatabase) -> None:
    review_id = _ready_review(demo)
    at = app_test("caseworker")
    open_step(at, review_id, "sign_off")
    generated = str(_box(at, "What help carries on").value)
    _box(at, "What help carries on").set_value("Your youth worker carries on.").run()
    assert _stored(demo, review_id).review.family_summary is not None

    back = "Use the words written from your answers for \u201cWhat help carries on\u201d"
    button(at, back).click().run()

    assert not at.exception
    assert str(_box(at, "What help carries on").value) == generated
    summary = _stored(demo, review_id).review.family_summary
    assert summary is not None
    assert summary.support is None

    # Emptying a part does the same: it is never sent blank.
    _box(at, "Who to contact").set_value("").run()
    assert str(_box(at, "Who to contact").value).startswith("After we close")
    summary = _stored(demo, review_id).review.family_summary
    assert summary is not None
    assert summary.contact is None


def test_the_seeded_demo_verifies_and_its_family_summaries_quote_nothing(
    demo: DemoDatabase,
) -> None:
    auditor = demo.principal("auditor")
    assert auditing.verify_everything(demo.context(), auditor).intact
    approved = [
        sealed
        for sealed in (
            decisions.get_decision(demo.context(), auditor, decision_id) for decision_id in (1, 2)
        )
        if sealed.outcome == "approved"
    ]
    assert approved
    for sealed in approved:
        text = _pdf_text(auditing.family_summary_pdf(demo.context(), auditor, sealed.id))
        assert "you" in text
        for item in sealed.review.evidence:
            assert _flat(item.shows) not in text
