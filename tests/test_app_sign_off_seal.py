"""Sign-off seals what the page showed: two tabs (two AppTest sessions) on the same database.

The worker's sign-off page is drawn; another tab then changes the review; the click on Sign off
in the first tab must not seal the change it never displayed, and must say what changed.
"""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from app_support import (
    REPO_ROOT,
    DemoDatabase,
    all_text,
    app_test,
    as_seen,
    button,
    checkbox,
    open_step,
    text_area,
    text_input,
)
from closure_readiness.core.review import Review
from closure_readiness.service import decisions, reviews

READY = "ready-three-agencies-sustained-change.json"
NOTE = "Added in the other tab: the youth club changes its hours in July."


def ready_review(demo: DemoDatabase, reference: str = "CR-TEST-0301") -> int:
    """A draft for the demo caseworker with nothing blocking sign-off."""
    document = json.loads((REPO_ROOT / "examples" / READY).read_text(encoding="utf-8"))
    document["case"]["case_reference"] = reference
    review = Review.model_validate(document)
    ctx, worker = demo.context(), demo.principal("caseworker")
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    assert demo.stored(review_id).report.sign_off_possible
    return review_id


def shown_and_attested(review_id: int) -> AppTest:
    """The worker's tab: the sign-off page drawn, the attestation ticked."""
    at = app_test("caseworker")
    open_step(at, review_id, "sign_off")
    checkbox(at, "I confirm the statement above").check().run()
    assert not button(at, "Sign off and send to my manager").disabled
    return at


def page_text(at: AppTest) -> str:
    return as_seen(all_text(at))


def test_a_note_added_in_another_tab_after_the_page_was_shown_is_not_sealed(
    demo: DemoDatabase,
) -> None:
    review_id = ready_review(demo)
    mine = shown_and_attested(review_id)
    other = app_test("caseworker")
    open_step(other, review_id, "support")
    text_area(other, "Notes").set_value(NOTE).run()
    assert demo.stored(review_id).review.answers.support.notes == NOTE

    button(mine, "Sign off and send to my manager").click().run()

    assert not mine.exception
    assert demo.stored(review_id).status == "draft"
    text = page_text(mine)
    assert (
        "Since this page was shown, the review changed: Onward support notes changed. "
        "Read it again before signing off." in text
    )
    # Clicking again does not seal it either: the page still has not been reloaded.
    button(mine, "Sign off and send to my manager").click().run()
    assert demo.stored(review_id).status == "draft"
    assert "Since this page was shown, the review changed" in page_text(mine)


def test_after_showing_the_review_as_it_is_now_the_worker_can_sign_it_off(
    demo: DemoDatabase,
) -> None:
    review_id = ready_review(demo)
    mine = shown_and_attested(review_id)
    other = app_test("caseworker")
    open_step(other, review_id, "support")
    text_area(other, "Notes").set_value(NOTE).run()
    button(mine, "Sign off and send to my manager").click().run()

    button(mine, "Show the review as it is now").click().run()

    assert not mine.exception
    assert "Since this page was shown" not in page_text(mine)
    # The page is drawn afresh: the attestation is asked for again.
    attest = checkbox(mine, "I confirm the statement above")
    assert attest.value is False
    attest.check().run()
    button(mine, "Sign off and send to my manager").click().run()
    assert not mine.exception
    record = demo.stored(review_id)
    assert record.status == "submitted"
    assert record.pending_decision_id is not None
    sealed = decisions.get_decision(
        demo.context(), demo.principal("manager"), record.pending_decision_id
    )
    assert sealed.review.answers.support.notes == NOTE


def test_a_blocker_added_in_another_tab_makes_the_click_say_so(demo: DemoDatabase) -> None:
    review_id = ready_review(demo)
    mine = shown_and_attested(review_id)
    other = app_test("caseworker")
    open_step(other, review_id, "exit")
    text_input(other, "Lead professional (role)").set_value("").run()
    assert not demo.stored(review_id).report.sign_off_possible

    button(mine, "Sign off and send to my manager").click().run()

    assert not mine.exception
    assert demo.stored(review_id).status == "draft"
    text = page_text(mine)
    assert "Since this page was shown, the review changed: Exit strategy " in text
    assert "; 1 new blocker. Read it again before signing off." in text
    assert button(mine, "Sign off and send to my manager").disabled


def test_a_change_typed_on_this_page_and_then_signed_off_is_sealed(demo: DemoDatabase) -> None:
    """The worker's own edit, saved in the same run as the click, is not a change from
    elsewhere: it is sealed, with no refusal."""
    review_id = ready_review(demo)
    mine = shown_and_attested(review_id)
    words = "You told us you feel safer at college and at the boxing club."

    box = next(area for area in mine.text_area if area.label == "What has changed")
    box.set_value(words)
    button(mine, "Sign off and send to my manager").click().run()

    assert not mine.exception
    record = demo.stored(review_id)
    assert record.status == "submitted"
    assert record.review.family_summary is not None
    assert record.review.family_summary.changed == words


def test_changes_are_named_in_words_a_worker_reads() -> None:
    from closure_readiness.views.review.seal import change_words

    document = json.loads((REPO_ROOT / "examples" / READY).read_text(encoding="utf-8"))
    before = Review.model_validate(document).model_dump(mode="json")
    document["answers"]["support"]["notes"] = NOTE
    document["evidence"].append({**document["evidence"][0], "id": "E9"})
    document["evidence"][1]["shows"] = "Changed."
    document["rationales"] = {"exit.W002": "Agreed by phone."}
    document["case"]["risk_now"] = "none"
    after = Review.model_validate(document).model_dump(mode="json")

    words = change_words(before, after, {"exit.W002": "Contacts given"})

    assert words == [
        "Onward support notes changed",
        "Case details: risk level now changed",
        "Evidence E2: what it shows changed",
        "Evidence E9 added",
        "Rationale for exit.W002 (Contacts given) added",
    ]
