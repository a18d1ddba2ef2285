"""The loop between worker and manager, through AppTest: every reason a manager returns a review
with reaches the worker where they act (the page, the step, the finding's card, the task list),
the worker answers each in one line, and the manager reads the answers and what changed since,
in words, beside the reasons on the decision page.

Each test runs the real entry point in-process against its own copy of the seeded demo data.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError
from streamlit.testing.v1 import AppTest

from app_support import (
    READY_EXAMPLE,
    DemoDatabase,
    all_text,
    app_test,
    as_seen,
    labels,
    open_step,
    ready_document,
    rendered_markdown,
    task_statuses,
    text_input,
)
from closure_readiness.core.review import Review
from closure_readiness.service import decisions, reviews

OVERALL = "Please check the exit plan and the onward support before we close."
STEP_REASON = "Confirm the youth work start date with the service."
FINDING_REASON = "Say which contacts the family were given, and when."
CONTACTS_CHECK = "exit.W002 No contacts for when worries return"
CONTACTS_MESSAGE = "The young person and family have not been given contacts for later."


@dataclass(frozen=True)
class Returned:
    review_id: int
    decision_id: int
    """The decision the manager returned."""
    finding_key: str
    """The finding (exit.W002, a caution resolved by rationale) the manager commented on."""


def _save(demo: DemoDatabase, review_id: int, edit: Any) -> None:
    """The worker changes the stored review through the service (`edit` changes a document)."""
    ctx, worker = demo.context(), demo.principal("caseworker")
    record = reviews.get_review(ctx, worker, review_id)
    document = record.review.model_dump(mode="json")
    edit(document)
    reviews.save_review(ctx, worker, review_id, document, expected_version=record.version)


def _sign_off(demo: DemoDatabase, review_id: int) -> int:
    ctx, worker = demo.context(), demo.principal("caseworker")
    record = reviews.get_review(ctx, worker, review_id)
    return reviews.sign_off(ctx, worker, review_id, seen_hash=record.content_hash, attested=True)


def _returned(demo: DemoDatabase, reference: str) -> Returned:
    """A review signed off with a caution resolved by rationale (exit.W002, no contacts for
    later), returned with an overall reason, a reason for Onward support and one for the
    caution's finding."""
    document = ready_document(reference)
    document["answers"]["exit"]["contacts_given"] = False
    document["rationales"] = {"exit.W002": "Contacts were agreed at the last plan review."}
    ctx, worker = demo.context(), demo.principal("caseworker")
    review = Review.model_validate(document)
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    record = reviews.get_review(ctx, worker, review_id)
    key = next(f.key for f in record.report.findings() if f.check_id == "exit.W002")
    decision_id = _sign_off(demo, review_id)
    decisions.return_review(
        ctx,
        demo.principal("manager"),
        decision_id,
        overall=OVERALL,
        themes={"support": STEP_REASON},
        findings={key: FINDING_REASON},
    )
    return Returned(review_id, decision_id, key)


def _warnings(at: AppTest) -> list[str]:
    return [as_seen(str(w.value)) for w in at.warning]


FINDING_REPLY = f"Your reply about this finding ({CONTACTS_CHECK})"
OVERALL_REPLY = "Your reply to your manager"
STEP_REPLY = "Your reply about this step"


def _seen(at: AppTest) -> str:
    return as_seen(all_text(at))


# The worker reads every reason where they act


def test_a_findings_reason_shows_beside_its_card_at_the_step_and_in_the_gap_panel(
    demo: DemoDatabase,
) -> None:
    returned = _returned(demo, "CR-TEST-3001")

    at = app_test("caseworker")
    open_step(at, returned.review_id, "exit")

    assert not at.exception
    # Once beside the card in the step's own checks, once beside it in the gap panel.
    assert _warnings(at).count(f"Your manager says: {FINDING_REASON}") == 2
    reply = text_input(at, FINDING_REPLY)
    assert reply.value == ""
    open_step(at, returned.review_id, "change")
    assert _warnings(at).count(f"Your manager says: {FINDING_REASON}") == 1  # the gap panel
    assert "Reply to it at Exit strategy." in [str(c.value) for c in at.caption]


def test_the_overall_and_step_reasons_each_have_a_reply(demo: DemoDatabase) -> None:
    returned = _returned(demo, "CR-TEST-3002")

    at = app_test("caseworker")
    open_step(at, returned.review_id, "support")

    assert not at.exception
    warnings = _warnings(at)
    assert any(w.startswith("Returned by your manager") and OVERALL in w for w in warnings)
    assert f"Your manager asks: {STEP_REASON}" in warnings
    assert text_input(at, OVERALL_REPLY).value == ""
    assert text_input(at, STEP_REPLY).value == ""


def test_the_manager_reading_a_returned_review_is_not_called_your_manager(
    demo: DemoDatabase,
) -> None:
    returned = _returned(demo, "CR-TEST-3012")
    _save(
        demo,
        returned.review_id,
        lambda d: d.update(replies={f"{returned.decision_id}:overall": "Checked on Monday."}),
    )

    at = app_test("manager")
    open_step(at, returned.review_id, "tasks")

    assert not at.exception
    seen = _seen(at)
    assert "Returned by the team manager" in seen
    assert OVERALL in seen
    assert f"The team manager says: {FINDING_REASON}" in _warnings(at)
    assert "The caseworker's reply: Checked on Monday." in seen
    assert "Your manager" not in seen, re.findall(r".{80}Your manager.{40}", seen)
    assert "your manager" not in seen, re.findall(r".{80}your manager.{40}", seen)
    assert "Your reply" not in seen
    assert not at.text_input  # the manager reads the replies; only the worker writes them


def test_the_task_list_marks_each_step_the_manager_commented_on(demo: DemoDatabase) -> None:
    returned = _returned(demo, "CR-TEST-3003")

    at = app_test("caseworker")
    open_step(at, returned.review_id, "tasks")

    assert not at.exception
    statuses = task_statuses(at)
    commented = {title for title, status in statuses.items() if "Manager's comment" in status}
    assert commented == {"Onward support", "Exit strategy"}
    assert "Your manager also commented on: Onward support, Exit strategy." in _seen(at)


def test_a_reason_about_a_finding_since_resolved_still_shows_at_its_step(
    demo: DemoDatabase,
) -> None:
    returned = _returned(demo, "CR-TEST-3004")
    _save(
        demo,
        returned.review_id,
        lambda document: document["answers"]["exit"].update(contacts_given=True),
    )

    at = app_test("caseworker")
    open_step(at, returned.review_id, "exit")

    assert not at.exception
    assert _warnings(at).count(f"Your manager says: {FINDING_REASON}") == 1
    assert f"As returned · [{CONTACTS_CHECK}](reference?check=exit.W002) · {CONTACTS_MESSAGE}" in (
        _seen(at)
    )
    assert text_input(at, FINDING_REPLY)
    open_step(at, returned.review_id, "tasks")
    statuses = task_statuses(at)
    assert "Manager's comment" in statuses["Exit strategy"]


def test_the_manager_reading_a_returned_review_sees_the_reasons_but_no_reply_fields(
    demo: DemoDatabase,
) -> None:
    returned = _returned(demo, "CR-TEST-3005")

    at = app_test("manager")
    open_step(at, returned.review_id, "tasks")

    assert not at.exception
    assert any(OVERALL in w for w in _warnings(at))
    assert "also commented on: Onward support, Exit strategy." in _seen(at)
    assert not [label for label in labels(at, "text_input") if label.startswith("Your reply")]


# Replies: saved like every other answer, sealed, read by the manager


def test_replies_are_saved_as_typed_and_sealed_at_the_next_sign_off(demo: DemoDatabase) -> None:
    returned = _returned(demo, "CR-TEST-3006")
    at = app_test("caseworker")
    open_step(at, returned.review_id, "exit")

    text_input(at, OVERALL_REPLY).set_value("Checked both with the family on Monday.").run()
    finding = f"finding:{returned.finding_key}"
    text_input(at, FINDING_REPLY).set_value(
        "The duty team number and the youth worker's, at the last visit."
    ).run()

    assert not at.exception
    ctx, worker = demo.context(), demo.principal("caseworker")
    record = reviews.get_review(ctx, worker, returned.review_id)
    assert record.review.replies == {
        f"{returned.decision_id}:overall": "Checked both with the family on Monday.",
        f"{returned.decision_id}:{finding}": (
            "The duty team number and the youth worker's, at the last visit."
        ),
    }
    assert "Your reply: The duty team number" in _seen(at)  # shown with its card in the panel
    # Cleared, a reply is gone.
    text_input(at, OVERALL_REPLY).set_value("").run()
    record = reviews.get_review(ctx, worker, returned.review_id)
    assert list(record.review.replies) == [f"{returned.decision_id}:{finding}"]
    second = _sign_off(demo, returned.review_id)
    sealed = decisions.get_decision(ctx, demo.principal("manager"), second)
    assert sealed.review.replies == record.review.replies


def test_a_reply_that_cannot_be_stored_says_why_beside_its_field(demo: DemoDatabase) -> None:
    returned = _returned(demo, "CR-TEST-3011")
    at = app_test("caseworker")
    open_step(at, returned.review_id, "support")

    text_input(at, STEP_REPLY).set_value("Confirmed \u202ewith the service").run()

    assert not at.exception
    errors = [as_seen(str(e.value)) for e in at.error]
    assert any(
        e.startswith("Your reply was not saved. Remove the hidden text-direction character")
        for e in errors
    )
    record = reviews.get_review(demo.context(), demo.principal("caseworker"), returned.review_id)
    assert record.review.replies == {}


def test_the_manager_reads_each_reply_beside_its_reason_on_resubmission(
    demo: DemoDatabase,
) -> None:
    returned = _returned(demo, "CR-TEST-3007")
    at = app_test("caseworker")
    open_step(at, returned.review_id, "support")
    text_input(at, STEP_REPLY).set_value(
        "Start date confirmed: the first session is next Tuesday."
    ).run()
    assert not at.exception
    second = _sign_off(demo, returned.review_id)

    manager = app_test("manager", page="decision", query={"decision": str(second)})

    assert not manager.exception
    seen = _seen(manager)
    assert f"Manager's reason for returning it: {OVERALL}" in seen
    assert (
        f"Manager's reason for this step: {STEP_REASON}\n\n"
        "Caseworker's reply: Start date confirmed: "
    ) in seen
    assert (
        f"About the finding [{CONTACTS_CHECK}](reference?check=exit.W002): {CONTACTS_MESSAGE}"
        f"\n\nManager's reason: {FINDING_REASON}"
    ) in seen
    assert "Caseworker's reply: no reply" in seen  # the overall reason and the finding's


# What changed since the return, in words


def test_what_changed_since_the_return_reads_as_sentences_by_step_beside_the_reasons(
    demo: DemoDatabase,
) -> None:
    returned = _returned(demo, "CR-TEST-3008")
    observed = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)

    def fix(document: dict[str, Any]) -> None:
        document["evidence"].append(
            {
                "id": "E7",
                "agency": "voluntary",
                "kind": "observed",
                "observed_on": observed.isoformat(),
                "direction": "shows_change",
                "shows": "First youth work session attended.",
                "record_ref": "YW-OBS-0007",
            }
        )
        document["answers"]["support"]["notes"] = "Youth work starts next Tuesday."

    _save(demo, returned.review_id, fix)
    second = _sign_off(demo, returned.review_id)

    at = app_test("manager", page="decision", query={"decision": str(second)})

    assert not at.exception
    assert "What changed since it was returned" in [str(s.value) for s in at.subheader]
    for frame in at.dataframe:  # no table of paths
        assert "Before" not in frame.value.columns
    markdown = [as_seen(str(m.value)) for m in at.markdown]
    evidence = markdown.index("Evidence register")
    assert markdown[evidence + 1] == (
        "- Evidence E7 added: Voluntary or community sector, observed by a professional, "
        f"{observed:%d/%m/%Y}, shows change: First youth work session attended. "
        "(record YW-OBS-0007)"
    )
    support = markdown.index("Onward support")
    beside = markdown[support + 1 : support + 3]
    assert (
        f"Manager's reason for this step: {STEP_REASON}\n\nCaseworker's reply: no reply" in beside
    )
    assert "- Notes written: Youth work starts next Tuesday." in beside
    exit_step = markdown.index("Exit strategy")
    assert "Nothing changed at this step." in [str(c.value) for c in at.caption]
    assert FINDING_REASON in markdown[exit_step + 1]
    for sentence in (line for text in markdown for line in text.split("\n")):
        if sentence.startswith("- "):  # a change, never a path like answers.support.notes
            assert "answers" not in sentence
            assert "_" not in sentence


def test_free_text_in_changes_reasons_and_replies_is_shown_as_typed(demo: DemoDatabase) -> None:
    beacon = "![seen](https://beacon.invalid/p.png)"
    returned = _returned(demo, "CR-TEST-3009")
    at = app_test("caseworker")
    open_step(at, returned.review_id, "support")
    text_input(at, STEP_REPLY).set_value(beacon).run()
    _save(
        demo,
        returned.review_id,
        lambda document: document["answers"]["support"].update(notes=beacon),
    )
    second = _sign_off(demo, returned.review_id)

    manager = app_test("manager", page="decision", query={"decision": str(second)})

    assert not manager.exception
    assert not any("![seen](" in body for body in rendered_markdown(manager))
    seen = _seen(manager)
    assert f"Notes written: {beacon}" in seen
    assert f"Caseworker's reply: {beacon}" in seen


# The stored review


def test_a_review_stored_before_replies_existed_loads_with_none() -> None:
    document: dict[str, Any] = json.loads(READY_EXAMPLE.read_text(encoding="utf-8"))
    assert "replies" not in document

    review = Review.model_validate(document)

    assert review.replies == {}
    # Left out while empty: the review's bytes, and so its content hash, are as they were.
    assert "replies" not in review.model_dump(mode="json")


@pytest.mark.parametrize(
    ("key", "accepted"),
    [
        ("12:overall", True),
        ("12:step:support", True),
        ("12:finding:exit.W002:0123456789ab", True),
        ("overall", False),
        ("12:everything", False),
        ("12:step:Support", False),
        ("12:finding:exit.W002", False),
    ],
)
def test_a_reply_names_the_return_and_what_it_answers(key: str, accepted: bool) -> None:
    document: dict[str, Any] = json.loads(READY_EXAMPLE.read_text(encoding="utf-8"))
    document["replies"] = {key: "Done."}

    if accepted:
        assert Review.model_validate(document).replies == {key: "Done."}
    else:
        with pytest.raises(ValidationError) as refused:
            Review.model_validate(document)
        assert refused.value.errors()[0]["loc"] == ("replies", key, "[key]")
