"""A changed answer saves itself and only the checks are drawn again (decision #82,
views/review/live.py), and everything else still takes the page's own run.

AppTest shows a run's elements as sent inside `fragments_alone()`: a run of the page's
fragments shows them alone. Outside it, app_support follows such a run with the page's own
run, as a browser keeps the rest of the page.
"""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from app_support import (
    ISSUER,
    DemoDatabase,
    all_text,
    app_test,
    checkbox,
    fragments_alone,
    last_run_was_fragments_alone,
    open_step,
    point_app_at,
)
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import FactorStatus
from closure_readiness.service import reviews
from closure_readiness.views import session as session_view

SIBLINGS = "Impact on other children considered"
W003 = "family\\.W003"
"""The caution while other children are not considered, as the Markdown writes it."""


def _markdown(at: AppTest) -> str:
    return "\n".join(str(block.value) for block in at.markdown)


def _family_step(demo: DemoDatabase, label: str = "draft_new") -> AppTest:
    at = app_test("caseworker")
    return open_step(at, demo.ids[label], "family")


def test_a_ticked_answer_is_stored_and_only_the_checks_run_again(demo: DemoDatabase) -> None:
    at = _family_step(demo)
    before = demo.stored(demo.ids["draft_new"])
    assert _markdown(at).count(W003) == 2  # the step's checks and the gap panel

    with fragments_alone():
        checkbox(at, SIBLINGS).check().run()

    assert last_run_was_fragments_alone()
    # Drawn again: this step's checks and the gap panel, without the caution. Not drawn:
    # the question itself, the step's title, the step menu.
    assert checkbox_labels(at) == []
    assert [str(h.value) for h in at.subheader] == ["This step's checks", "Gaps"]
    assert W003 not in _markdown(at)
    after = demo.stored(demo.ids["draft_new"])
    assert after.review.answers.family.siblings_considered is True
    assert after.version == before.version + 1


def checkbox_labels(at: AppTest) -> list[str]:
    return [str(box.label) for box in at.checkbox]


def test_the_page_run_after_a_live_save_saves_nothing_again(demo: DemoDatabase) -> None:
    at = _family_step(demo)
    before = demo.stored(demo.ids["draft_new"]).version
    checkbox(at, SIBLINGS).check().run()  # the fragments, then the page's own run

    assert checkbox(at, SIBLINGS).value is True
    assert W003 not in _markdown(at)
    assert demo.stored(demo.ids["draft_new"]).version == before + 1  # saved once


def test_a_family_factor_saves_itself_whole(demo: DemoDatabase) -> None:
    at = _family_step(demo)
    with fragments_alone():
        at.selectbox(key=_factor_key(at, "domestic_abuse", "status")).set_value(
            FactorStatus.PRESENT
        ).run()

    assert last_run_was_fragments_alone()
    factor = demo.stored(demo.ids["draft_new"]).review.answers.family.factors["domestic_abuse"]
    assert factor.status is FactorStatus.PRESENT
    assert factor.response == ""
    assert factor.agency is None


def _factor_key(at: AppTest, factor: str, part: str) -> str:
    found = [box.key for box in at.selectbox if str(box.key).endswith(f".family.{factor}.{part}")]
    assert len(found) == 1, found
    return str(found[0])


def test_a_returned_review_runs_its_whole_page(demo: DemoDatabase) -> None:
    """Its manager's reasons and the worker's replies show in several places."""
    at = app_test("caseworker")
    open_step(at, demo.ids["returned"], "family")
    box = checkbox(at, SIBLINGS)

    with fragments_alone():
        (box.uncheck() if box.value else box.check()).run()

    assert not last_run_was_fragments_alone()
    assert checkbox_labels(at) == [SIBLINGS]


def test_an_ended_sign_in_is_refused_and_the_page_says_so(
    demo: DemoDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_app_at(monkeypatch, demo, CLOSURE_IDLE_TIMEOUT_MINUTES="5")
    at = _family_step(demo)
    activity = session_view._last_activity()
    key = (ISSUER, str(at.user["sub"]), int(at.user["iat"]))
    activity[key] = time.time() - 6 * 60

    with fragments_alone():
        checkbox(at, SIBLINGS).check().run()

    assert not last_run_was_fragments_alone()
    assert "inactive for more than 5 minutes" in str(at.warning[0].value)
    assert "CR-DEMO" not in all_text(at)
    assert demo.stored(demo.ids["draft_new"]).review.answers.family.siblings_considered is False


def test_a_change_made_meanwhile_in_another_tab_is_not_overwritten(demo: DemoDatabase) -> None:
    at = _family_step(demo)
    ctx, worker = demo.context(), demo.principal("caseworker")
    record = demo.stored(demo.ids["draft_new"])
    family = record.review.answers.family.model_copy(update={"notes": "Written in another tab"})
    elsewhere = record.review.model_copy(
        update={"answers": record.review.answers.model_copy(update={"family": family})}
    )
    reviews.save_review(ctx, worker, record.id, elsewhere, expected_version=record.version)

    with fragments_alone():
        checkbox(at, SIBLINGS).check().run()

    assert not last_run_was_fragments_alone()  # the whole page, saying what happened
    assert "changed" in str(at.warning[0].value)
    stored = demo.stored(demo.ids["draft_new"])
    assert stored.review.answers.family.notes == "Written in another tab"
    assert stored.review.answers.family.siblings_considered is False


def _with_adults(demo: DemoDatabase, adults: list[dict[str, str]]) -> None:
    """Save the draft's household adults through the service, as another tab would."""
    ctx, worker = demo.context(), demo.principal("caseworker")
    record = demo.stored(demo.ids["draft_new"])
    document = record.review.model_dump(mode="json")
    document["answers"]["family"]["adults"] = adults
    changed = Review.model_validate(document)
    reviews.save_review(ctx, worker, record.id, changed, expected_version=record.version)


def test_an_entry_removed_meanwhile_in_another_tab_is_not_crashed_on(
    demo: DemoDatabase,
) -> None:
    """The answer's place is gone: the page's own run draws the step as stored (as before
    answers saved themselves: it saves only what differs from what it draws)."""
    _with_adults(demo, [{"role": "Uncle"}])
    at = _family_step(demo)
    box = at.text_input(key=_adult_key(at))
    _with_adults(demo, [])  # removed in another tab

    with fragments_alone():
        box.input("Grandmother").run()

    assert not at.exception
    assert not last_run_was_fragments_alone()
    assert [str(box.key) for box in at.text_input if ".adults.0." in str(box.key)] == []
    assert demo.stored(demo.ids["draft_new"]).review.answers.family.adults == []


def _adult_key(at: AppTest) -> str:
    """The first household adult's role, as its entry on the step holds it."""
    found = [str(box.key) for box in at.text_input if str(box.key).endswith(".adults.0.role")]
    assert len(found) == 1, [str(box.key) for box in at.text_input]
    return found[0]
