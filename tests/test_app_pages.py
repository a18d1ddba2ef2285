"""The app's pages through AppTest: sign-in and session rules, the caseworker's pages and wizard,
escaping of stored text, and what managers and auditors can reach.

Every test runs the real entry point in-process against its own copy of the seeded demo data.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app_support import (
    CLOSING_ON,
    ISSUER,
    POLICE_RECORD,
    REPO_ROOT,
    SCHOOL_SAW_CHANGE,
    TODAY,
    DemoDatabase,
    all_text,
    app_test,
    as_seen,
    button,
    checkbox,
    date_input,
    expander,
    form,
    multiselect,
    open_all_gaps,
    open_expander,
    open_page,
    open_step,
    point_app_at,
    radio,
    rendered_markdown,
    row,
    selectbox,
    start_review,
    task_statuses,
    text_area,
    text_input,
    widget_starting,
)
from closure_readiness.checks.questions import THEMES
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import (
    Agency,
    Direction,
    EvidenceKind,
    FactorStatus,
    FamilyFactor,
    Involvement,
    NetworkStatus,
    OrderKind,
    OutcomeStatus,
)
from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import SYSTEM
from closure_readiness.service.records import ReviewRecord
from closure_readiness.views import session as session_view

STEPS = ["tasks", "case", "evidence", "incidents", *(theme.key for theme in THEMES), "sign_off"]
STEP_HEADINGS = {
    "tasks": "Task list",
    "case": "Case details",
    "evidence": "Evidence register",
    "incidents": "Incidents",
    "sign_off": "Check your answers and sign off",
    **{theme.key: theme.question for theme in THEMES},
}
BEACON = "![x](http://127.0.0.1:9/beacon.png)"
ATTEST = "I confirm the statement above"
SIGN_OFF = "Sign off and send to my manager"
CITED = "Evidence this answer relies on"
OUTCOME_CITED = "Evidence for this plan outcome or safety goal"
LEAD_ROLE = "Lead professional (role)"
ORDERS_IN_FORCE = "A statutory order is in force (referral order, licence...)"
EDIT_WIDGETS = (
    "text_input",
    "text_area",
    "date_input",
    "multiselect",
    "checkbox",
    "number_input",
    "radio",
)


def keys_of(at: AppTest, kind: str) -> list[str]:
    return [str(widget.key) for widget in getattr(at, kind)]


def wizard_fields(at: AppTest, kind: str) -> list[str]:
    """Labels of the review's own answer widgets: not the withdraw control, which the worker
    and the team manager both have on a review that is not yet decided."""
    withdraw = "Reason for withdrawing (required)"
    return [str(w.label) for w in getattr(at, kind) if str(w.label) != withdraw]


def _task(at: AppTest, title: str) -> Any:
    """The task list's row for one step (a button: "**Step** · status")."""
    [task] = [b for b in at.button if str(b.label).startswith(f"**{title}** · ")]
    return task


def titles(at: AppTest) -> list[str]:
    return [str(title.value) for title in at.title]


def gap_panel(at: AppTest) -> Any:
    """The column headed 'Gaps'."""
    return next(c for c in at.columns if any(str(h.value) == "Gaps" for h in c.subheader))


def panel_check_ids(at: AppTest, review_id: int) -> set[str]:
    """Check ids with an open or noted finding in the gap panel (resolved ones are folded away
    under "Resolved")."""
    found: set[str] = set()
    for body in gap_panel(at).markdown:
        found |= set(re.findall(r"\?check=([\w.]+)\) · (?:Open|Noted)", str(body.value)))
    return found


def stored(demo: DemoDatabase, review_id: int, subject: str = "caseworker") -> ReviewRecord:
    return reviews.get_review(demo.context(), demo.principal(subject), review_id)


# Signing in and session rules


def test_a_signed_out_visitor_sees_only_the_sign_in_button(demo: DemoDatabase) -> None:
    at = app_test(None)

    assert not at.exception
    assert titles(at) == ["Closure Readiness"]
    assert keys_of(at, "button") == ["sign_in"]
    assert not at.page_link
    assert "CR-DEMO" not in all_text(at)
    assert "Signed in as" not in all_text(at)


def test_an_unknown_identity_is_told_the_account_is_not_set_up(demo: DemoDatabase) -> None:
    at = app_test("nobody-we-know")

    assert [str(error.value) for error in at.error] == [
        "Your account is not set up for Closure Readiness. Ask your system administrator "
        "to add you."
    ]
    assert keys_of(at, "button") == ["sign_out_refused"]
    assert not at.page_link
    assert "CR-DEMO" not in all_text(at)


def test_a_known_subject_from_another_issuer_is_not_recognised(demo: DemoDatabase) -> None:
    at = app_test("caseworker", issuer="https://someone-else.test.invalid")

    assert "not set up" in str(at.error[0].value)
    assert "CR-DEMO" not in all_text(at)


def test_a_disabled_member_of_staff_is_refused(demo: DemoDatabase) -> None:
    staff.update_staff(demo.context(), SYSTEM, "SW-102", active=False)

    at = app_test("caseworker2")

    assert [str(error.value) for error in at.error] == [
        "Your account has been disabled. Ask your system administrator."
    ]
    assert keys_of(at, "button") == ["sign_out_refused"]
    assert "CR-DEMO" not in all_text(at)


def test_a_session_older_than_the_maximum_age_is_refused(demo: DemoDatabase) -> None:
    at = app_test("caseworker", issued_at=time.time() - 11 * 3600)

    assert "signed in for more than 10 hours" in str(at.warning[0].value)
    assert keys_of(at, "button") == ["sign_in_again"]
    assert "CR-DEMO" not in all_text(at)


def test_the_maximum_session_age_is_read_from_the_environment(
    demo: DemoDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_app_at(monkeypatch, demo, CLOSURE_SESSION_MAX_AGE_HOURS="1")

    fresh = app_test("caseworker", issued_at=time.time() - 50 * 60)
    stale = app_test("caseworker", issued_at=time.time() - 70 * 60)

    assert titles(fresh) == ["My reviews"]
    assert "signed in for more than 1 hours" in str(stale.warning[0].value)
    assert "CR-DEMO" not in all_text(stale)


def test_a_sign_in_without_a_start_time_is_refused(demo: DemoDatabase) -> None:
    at = app_test("caseworker", run=False)
    del at.user["iat"]
    at.run()

    assert "no start time" in str(at.warning[0].value)
    assert "CR-DEMO" not in all_text(at)


def _make_idle(at: AppTest, minutes: float) -> None:
    """Pretend this sign-in's last request was `minutes` ago."""
    activity = session_view._last_activity()
    key = (ISSUER, str(at.user["sub"]), int(at.user["iat"]))
    assert key in activity
    activity[key] = time.time() - minutes * 60


def test_an_idle_session_is_refused(demo: DemoDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    point_app_at(monkeypatch, demo, CLOSURE_IDLE_TIMEOUT_MINUTES="5")
    at = app_test("caseworker")
    assert titles(at) == ["My reviews"]

    _make_idle(at, minutes=6)
    at.run()

    assert "inactive for more than 5 minutes" in str(at.warning[0].value)
    assert keys_of(at, "button") == ["sign_in_again"]
    assert "CR-DEMO" not in all_text(at)


def test_an_idle_session_stays_refused_when_the_page_is_reloaded(demo: DemoDatabase) -> None:
    at = app_test("caseworker")
    _make_idle(at, minutes=31)
    at.run()

    reloaded = app_test("caseworker", issued_at=at.user["iat"])

    assert "inactive for more than 30 minutes" in str(reloaded.warning[0].value)
    assert "CR-DEMO" not in all_text(reloaded)


def test_a_session_active_within_the_idle_limit_carries_on(demo: DemoDatabase) -> None:
    at = app_test("caseworker")
    _make_idle(at, minutes=29)
    at.run()

    assert titles(at) == ["My reviews"]


# My reviews and Start a review


def test_my_reviews_lists_the_caseworkers_own_reviews_only(demo: DemoDatabase) -> None:
    south = demo.principal("caseworker3")
    reviews.start_review(
        demo.context(),
        south,
        {
            "case_reference": "CR-SOUTH-0001",
            "birth_month": "2010-02",
            "involvement": "child_in_need",
            "opened_on": "2025-01-06",
            "proposed_closure_on": "2025-06-30",
        },
    )

    at = app_test("caseworker")

    assert titles(at) == ["My reviews"]
    listed = [str(m.value) for m in at.markdown if str(m.value).startswith("**CR-")]
    assert set(listed) == {
        f"**CR-DEMO-{n}**" for n in ("1001", "1003", "1005", "1006", "1007", "1008")
    }
    text = all_text(at)
    assert "CR-SOUTH-0001" not in text
    assert "CR-DEMO-1002" not in text  # a colleague's review in the same team
    south_view = app_test("caseworker3")
    assert "CR-SOUTH-0001" in all_text(south_view)
    assert "CR-DEMO" not in all_text(south_view)


def test_a_caseworker_cannot_open_another_teams_review(demo: DemoDatabase) -> None:
    south = demo.principal("caseworker3")
    south_id = reviews.start_review(
        demo.context(),
        south,
        {
            "case_reference": "CR-SOUTH-0002",
            "birth_month": "2010-02",
            "involvement": "child_in_need",
            "opened_on": "2025-01-06",
            "proposed_closure_on": "2025-06-30",
        },
    )
    at = app_test("caseworker")

    open_step(at, south_id, "tasks")

    assert not at.exception
    assert str(at.error[0].value) == f"There is no review {south_id} that you can see."
    assert "CR-SOUTH-0002" not in all_text(at)
    assert not keys_of(at, "text_area")


def _count_reviews(demo: DemoDatabase) -> int:
    return len(reviews.list_reviews(demo.context(), demo.principal("caseworker")))


JARGON = ("Input should", "Field required", "validation error", "pydantic", "type=", "value_error")


def test_starting_a_review_with_bad_input_explains_each_problem_and_stores_nothing(
    demo: DemoDatabase,
) -> None:
    before = _count_reviews(demo)
    at = app_test("caseworker", page="start_review")
    start_review(at, case_reference="Jane Smith's case", birth_month="2009-13")

    assert not at.exception
    assert titles(at) == ["Start a closure review"]
    summary = str(at.error[0].value)
    assert summary.startswith("**There is a problem**")
    for field in ("case reference", "month of birth", "date opened", "proposed closure date"):
        assert field in summary
    assert "never a name" in summary
    assert not any(word in summary for word in JARGON)
    assert _count_reviews(demo) == before


def test_starting_a_review_with_a_closure_before_opening_is_refused_in_plain_words(
    demo: DemoDatabase,
) -> None:
    before = _count_reviews(demo)
    at = app_test("caseworker", page="start_review")
    start_review(
        at,
        case_reference="CR-TEST-0002",
        birth_month="2009-04",
        involvement=Involvement.CHILD_IN_NEED,
        opened_on=dt.date(2025, 3, 1),
        proposed_closure_on=dt.date(2025, 2, 1),
    )

    summary = str(at.error[0].value)
    assert "before the date the case was opened" in summary
    assert not any(word in summary for word in JARGON)
    assert _count_reviews(demo) == before


def test_the_type_of_involvement_is_chosen_never_defaulted(demo: DemoDatabase) -> None:
    before = _count_reviews(demo)
    at = app_test("caseworker", page="start_review")
    assert selectbox(at, "Type of involvement").value is None
    start_review(
        at,
        case_reference="CR-TEST-0004",
        birth_month="2009-04",
        opened_on=dt.date(2025, 1, 6),
        proposed_closure_on=dt.date(2025, 6, 30),
    )

    assert "type of involvement" in str(at.error[0].value).lower()
    assert _count_reviews(demo) == before


def test_starting_a_review_with_good_input_creates_a_draft_and_opens_it(
    demo: DemoDatabase,
) -> None:
    at = app_test("caseworker", page="start_review")
    start_review(
        at,
        case_reference="CR-TEST-0001",
        birth_month="2009-04",
        involvement=Involvement.CHILD_IN_NEED,
        opened_on=dt.date(2025, 1, 6),
        proposed_closure_on=dt.date(2025, 6, 30),
    )

    assert not at.exception
    assert titles(at) == ["Closure review CR-TEST-0001"]
    created = [
        s
        for s in reviews.list_reviews(demo.context(), demo.principal("caseworker"))
        if s.case_reference == "CR-TEST-0001"
    ]
    assert len(created) == 1
    assert created[0].status == "draft"
    assert at.query_params == {"review": str(created[0].id), "step": "tasks"}


# The wizard


@pytest.mark.parametrize("step", STEPS)
def test_every_step_renders_for_a_new_draft(demo: DemoDatabase, step: str) -> None:
    review_id = demo.ids["draft_new"]
    at = app_test("caseworker")

    open_step(at, review_id, step)

    assert not at.exception
    assert titles(at) == ["Closure review CR-DEMO-1008"]
    assert STEP_HEADINGS[step] in [str(h.value) for h in at.header]
    menus = [s for s in at.selectbox if str(s.label) == "Step"]
    # The task list links every step itself; every other step has the step menu.
    assert [m.value for m in menus] == ([] if step == "tasks" else [step])
    assert "Gaps" in [str(s.value) for s in at.subheader]


@pytest.mark.parametrize("step", STEPS)
def test_every_step_renders_for_a_draft_with_answers(demo: DemoDatabase, step: str) -> None:
    at = app_test("caseworker")

    open_step(at, demo.ids["draft_remand"], step)

    assert not at.exception
    assert STEP_HEADINGS[step] in [str(h.value) for h in at.header]


def test_opening_every_step_saves_nothing(demo: DemoDatabase) -> None:
    review_id = demo.ids["draft_new"]
    before = stored(demo, review_id)
    at = app_test("caseworker")

    for step in STEPS:
        open_step(at, review_id, step)
        assert not at.exception, step

    after = stored(demo, review_id)
    assert after.version == before.version
    assert after.content_hash == before.content_hash


def test_an_unknown_step_falls_back_to_the_task_list(demo: DemoDatabase) -> None:
    at = app_test("caseworker")

    open_step(at, demo.ids["draft_new"], "../../etc")

    assert not at.exception
    assert "Task list" in [str(h.value) for h in at.header]


def test_sign_off_cannot_start_while_a_blocker_is_open(demo: DemoDatabase) -> None:
    review_id = demo.ids["draft_remand"]
    at = app_test("caseworker")

    open_step(at, review_id, "tasks")
    assert _task(at, "Check and sign off").disabled

    open_step(at, review_id, "sign_off")
    checkbox(at, ATTEST).check().run()
    assert button(at, SIGN_OFF).disabled


def test_adding_a_cause_asks_for_its_kind_and_stores_nothing_without_it(
    demo: DemoDatabase,
) -> None:
    review_id = demo.ids["draft_new"]
    at = app_test("caseworker")
    open_step(at, review_id, "cause")
    adding = form(at, "Add")
    assert selectbox(adding, "Cause").value is None

    button(adding, "Add").click().run()

    assert not at.exception
    assert "There is a problem" in str(at.error[0].value)
    assert stored(demo, review_id).review.answers.cause.causes == []


def _blocked_remand_review(demo: DemoDatabase) -> int:
    """The remand draft with its evidence of change uncited: change.E001 and cause.E002 block,
    cause.W002 needs a rationale."""
    review_id = demo.ids["draft_remand"]
    record = stored(demo, review_id)
    document = record.review.model_dump(mode="json")
    document["answers"]["change"]["cited"] = []
    reviews.save_review(
        demo.context(),
        demo.principal("caseworker"),
        review_id,
        Review.model_validate(document),
        expected_version=record.version,
    )
    return review_id


def test_a_caseworker_takes_a_blocked_review_to_signed_off(demo: DemoDatabase) -> None:
    review_id = _blocked_remand_review(demo)
    at = app_test("caseworker")
    open_step(at, review_id, "tasks")
    open_all_gaps(at)
    assert {"change.E001", "cause.E002", "cause.W002"} <= panel_check_ids(at, review_id)

    # The evidence register: the compact form adds an item.
    open_step(at, review_id, "evidence")
    adding = form(at, "Add evidence")
    selectbox(adding, "Source agency").set_value(Agency.SCHOOL)
    selectbox(adding, "Kind of evidence").set_value(EvidenceKind.OBSERVED)
    date_input(adding, "Date observed").set_value(TODAY)
    radio(adding, "What it points to").set_value(Direction.CHANGE)
    text_area(adding, "What it shows").set_value(
        "Teacher saw him settled in lessons every day this week."
    )
    text_input(adding, "Case record reference").set_value("EDU-OBS-0602")
    button(adding, "Add evidence").click().run()
    assert not at.exception
    added = stored(demo, review_id).review.item("E6")
    assert added.agency is Agency.SCHOOL
    assert added.observed_on == TODAY

    # Evidence of change: citing items is picking rows.
    open_step(at, review_id, "change")
    assert "E6" in multiselect(at, CITED).options[-1]
    multiselect(at, CITED).set_value(["E1", "E2", "E3", "E4", "E6"]).run()
    assert not at.exception
    assert "change.E001" not in panel_check_ids(at, review_id)

    # Circumstance or choice: the plan for the day remand ends, as who, what, by when, how known.
    open_step(at, review_id, "cause")
    release = stored(demo, review_id).review.answers.cause.causes[0].ends_on
    assert release is not None
    cause = row(at, "Remove cause 1")
    selectbox(cause, "Plan: agency that acts").set_value(Agency.YOUTH_JUSTICE)
    text_input(cause, "Plan: who acts (role)").set_value("Youth justice case manager")
    text_input(cause, "Plan: what they will do").set_value("Meets him at the gate on release")
    text_input(cause, "Plan: by when").set_value(f"{release:%d/%m/%Y}")
    text_input(cause, "Plan: how we will know it happened").set_value(
        "Release visit recorded in the YJS record"
    )
    at.run()
    assert not at.exception
    assert "cause.E002" not in panel_check_ids(at, review_id)
    planned = stored(demo, review_id).review.answers.cause.causes[0]
    assert (planned.plan_agency, planned.plan_by) == (Agency.YOUTH_JUSTICE, release)

    # Check and sign off: a rationale for the caution, the attestation, the button.
    open_step(at, review_id, "tasks")
    assert not _task(at, "Check and sign off").disabled
    open_step(at, review_id, "sign_off")
    assert button(at, SIGN_OFF).disabled
    widget_starting(at, "text_area", "Rationale for cause.W002 ").set_value(
        "He has moved area on release; the line's members are in custody."
    ).run()
    assert panel_check_ids(at, review_id) == set()
    checkbox(at, ATTEST).check().run()
    assert not button(at, SIGN_OFF).disabled
    button(at, SIGN_OFF).click().run()

    assert not at.exception
    assert stored(demo, review_id).status == "submitted"
    assert any("Signed off" in str(s.value) for s in at.success)
    assert not wizard_fields(at, "text_area")  # read-only now


def test_answers_are_still_there_in_a_new_session(demo: DemoDatabase) -> None:
    review_id = demo.ids["draft_new"]
    first = app_test("caseworker")
    open_step(first, review_id, "exit")
    text_input(first, LEAD_ROLE).set_value("School designated safeguarding lead").run()

    second = app_test("caseworker")
    open_step(second, review_id, "exit")

    assert text_input(second, LEAD_ROLE).value == "School designated safeguarding lead"


# Stored text is shown, never rendered as Markdown (an image would be fetched)


def _assert_no_markdown_image(at: AppTest) -> None:
    offending = [body for body in rendered_markdown(at) if "![" in body]
    assert offending == []


def test_a_markdown_image_in_evidence_is_shown_escaped(demo: DemoDatabase) -> None:
    review_id = demo.ids["draft_remand"]
    at = app_test("caseworker")
    open_step(at, review_id, "evidence")
    adding = form(at, "Add evidence")
    date_input(adding, "Date observed").set_value(TODAY)
    text_area(adding, "What it shows").set_value(f"Looks fine {BEACON}")
    button(adding, "Add evidence").click().run()
    assert stored(demo, review_id).review.item("E6").shows == f"Looks fine {BEACON}"
    open_step(at, review_id, "change")
    cited = multiselect(at, CITED)
    cited.set_value([*cited.value, "E6"]).run()

    for step in ("evidence", "change", "tasks", "sign_off"):
        open_step(at, review_id, step)
        assert not at.exception
        _assert_no_markdown_image(at)
    # It is shown, as typed, where it is shown at all.
    assert any(BEACON in str(text.value) for text in at.text)


def _submitted_with_text(demo: DemoDatabase, text: str) -> tuple[int, int]:
    """A ready review whose remaining need and an evidence item carry `text`, signed off."""
    ready = json.loads(
        (REPO_ROOT / "examples" / "ready-three-agencies-sustained-change.json").read_text(
            encoding="utf-8"
        )
    )
    ready["case"]["case_reference"] = "CR-TEST-0099"
    ready["answers"]["support"]["needs"][0]["need"] = f"Football {text}"
    ready["answers"]["support"]["needs"][0]["consent_to_share"] = False
    ready["evidence"][0]["shows"] = f"Seen at school {text}"
    worker = demo.principal("caseworker")
    ctx = demo.context()
    review = Review.model_validate(ready)
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    record = reviews.get_review(ctx, worker, review_id)
    rationales = {f.check_id: f"Agreed with the family {text}" for f in record.report.open_cautions}
    assert "support.W002" in rationales
    reviews.save_review(
        ctx,
        worker,
        review_id,
        record.review.model_copy(update={"rationales": rationales}),
        expected_version=record.version,
    )
    record = reviews.get_review(ctx, worker, review_id)
    decision_id = reviews.sign_off(
        ctx, worker, review_id, seen_hash=record.content_hash, attested=True
    )
    return review_id, decision_id


def test_a_markdown_image_quoted_in_a_caution_is_escaped_in_its_rationale_label(
    demo: DemoDatabase,
) -> None:
    review_id = demo.ids["draft_new"]
    record = stored(demo, review_id)
    document = record.review.model_dump(mode="json")
    document["answers"]["support"]["needs"] = [{"need": f"Football {BEACON}", "status": "accepted"}]
    reviews.save_review(
        demo.context(),
        demo.principal("caseworker"),
        review_id,
        Review.model_validate(document),
        expected_version=record.version,
    )
    at = app_test("caseworker")

    open_step(at, review_id, "sign_off")

    assert not at.exception
    assert any("support.W002" in str(area.label) for area in at.text_area)
    _assert_no_markdown_image(at)


def test_a_manager_reading_a_decision_sees_stored_text_escaped(demo: DemoDatabase) -> None:
    _, decision_id = _submitted_with_text(demo, BEACON)
    at = app_test("manager", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    assert titles(at) == [f"Decision {decision_id}: CR-TEST-0099"]
    assert any("Caseworker's rationale" in str(m.value) for m in at.markdown)
    _assert_no_markdown_image(at)


# Managers and auditors


def _assert_pages(at: AppTest, reachable: list[str], unreachable: list[str]) -> None:
    for page in reachable:
        open_page(at, page)
        assert not at.exception, page
    for page in unreachable:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            open_page(at, page)


def test_a_team_manager_has_the_managers_pages_only(demo: DemoDatabase) -> None:
    at = app_test("manager")

    assert titles(at) == ["Waiting for me"]
    _assert_pages(
        at,
        reachable=["queue", "team_reviews", "decision", "review", "reference"],
        unreachable=["my_reviews", "start_review", "decisions", "learning"],
    )


def test_a_team_manager_sees_the_teams_queue_and_reviews(demo: DemoDatabase) -> None:
    at = app_test("manager")

    assert "CR-DEMO-1004" in all_text(at)  # waiting for countersignature
    open_page(at, "team_reviews")
    listed = {str(m.value) for m in at.markdown if str(m.value).startswith("**CR-")}
    assert {"**CR-DEMO-1006**", "**CR-DEMO-1002**"} <= listed
    south = app_test("manager2", page="team_reviews")
    assert "CR-DEMO" not in all_text(south)


def test_a_team_manager_never_gets_the_caseworkers_edit_widgets(demo: DemoDatabase) -> None:
    review_id = demo.ids["draft_remand"]
    at = app_test("manager")

    for step in STEPS:
        open_step(at, review_id, step)
        assert not at.exception, step
        assert titles(at) == ["Closure review CR-DEMO-1007"]
        for kind in EDIT_WIDGETS:
            assert wizard_fields(at, kind) == [], (step, kind)
        sent = [str(b.label) for b in at.form_submit_button]
        assert not [label for label in sent if not label.startswith("Confirm withdrawal")], step
        assert not task_statuses(at), step
        assert SIGN_OFF not in [str(b.label) for b in at.button]


def test_an_auditor_has_the_auditors_pages_only(demo: DemoDatabase) -> None:
    at = app_test("auditor")

    assert titles(at) == ["Decisions"]
    _assert_pages(
        at,
        reachable=["decisions", "decision", "learning", "reference"],
        unreachable=["my_reviews", "start_review", "review", "queue", "team_reviews"],
    )


def test_an_auditor_reads_a_decision_without_any_way_to_decide(demo: DemoDatabase) -> None:
    _, decision_id = _submitted_with_text(demo, "(plain text)")

    at = app_test("auditor", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    assert titles(at) == [f"Decision {decision_id}: CR-TEST-0099"]
    assert "Audit trail" in [str(h.value) for h in at.header]
    for kind in EDIT_WIDGETS:
        assert keys_of(at, kind) == [], kind
    assert not at.form_submit_button
    assert "Approve the closure (countersign)" not in [str(b.label) for b in at.button]


def test_a_second_tab_behind_the_first_gets_a_conflict_and_does_not_overwrite_it(
    demo: DemoDatabase,
) -> None:
    review_id = demo.ids["draft_new"]
    first, second = app_test("caseworker"), app_test("caseworker")
    open_step(first, review_id, "exit")
    open_step(second, review_id, "exit")
    first_role = text_input(first, LEAD_ROLE)

    first_role.set_value("Senior youth worker").run()
    assert stored(demo, review_id).review.answers.exit.lead_role == "Senior youth worker"

    # The second tab still shows the old answers; its change must not wipe the first's.
    text_area(second, "Notes").set_value("From tab two").run()
    assert not second.exception
    assert "changed in another tab" in all_text(second)
    answers = stored(demo, review_id).review.answers.exit
    assert answers.lead_role == "Senior youth worker"
    assert answers.notes == ""
    # After the conflict the tab shows the latest version and can save again.
    assert text_input(second, LEAD_ROLE).value == "Senior youth worker"
    text_area(second, "Notes").set_value("From tab two").run()
    assert stored(demo, review_id).review.answers.exit.notes == "From tab two"


def test_a_tab_opening_a_step_after_another_tab_saved_can_save_without_conflict(
    demo: DemoDatabase,
) -> None:
    review_id = demo.ids["draft_new"]
    first, second = app_test("caseworker"), app_test("caseworker")
    open_step(first, review_id, "exit")
    open_step(second, review_id, "tasks")
    text_input(first, LEAD_ROLE).set_value("Mentor").run()

    open_step(second, review_id, "pace")
    text_area(second, "Notes").set_value("Held 20 weeks").run()
    assert "changed in another tab" not in all_text(second)
    record = stored(demo, review_id)
    assert record.review.answers.pace.notes == "Held 20 weeks"
    assert record.review.answers.exit.lead_role == "Mentor"


# Checks 2.0.0: answers start not recorded, closure routes, plan outcomes, lapsed exceptions


def _own_review(
    demo: DemoDatabase,
    reference: str,
    *,
    closure_reason: str | None = "RC7",
    exploitation_concern: bool = True,
    evidence: tuple[dict[str, str], ...] = (),
) -> int:
    """A new draft for the demo caseworker, built through the service (not the demo seed)."""
    worker = demo.principal("caseworker")
    case = {
        "case_reference": reference,
        "birth_month": "2009-04",
        "involvement": "child_in_need",
        "opened_on": "2024-09-02",
        "proposed_closure_on": CLOSING_ON.isoformat(),
        "closure_reason": closure_reason,
        "exploitation_concern": exploitation_concern,
        "risk_at_opening": "significant",
        "risk_now": "emerging",
        "orders_in_force": False,
    }
    review_id = reviews.start_review(demo.context(), worker, case)
    if evidence:
        record = stored(demo, review_id)
        document = record.review.model_dump(mode="json")
        document["evidence"] = list(evidence)
        reviews.save_review(
            demo.context(),
            worker,
            review_id,
            Review.model_validate(document),
            expected_version=record.version,
        )
    return review_id


def _save_answers(demo: DemoDatabase, review_id: int, theme: str, **answers: object) -> None:
    record = stored(demo, review_id)
    document = record.review.model_dump(mode="json")
    document["answers"][theme].update(answers)
    reviews.save_review(
        demo.context(),
        demo.principal("caseworker"),
        review_id,
        Review.model_validate(document),
        expected_version=record.version,
    )


def _summary_text(at: AppTest) -> str:
    return "\n".join(str(text.value) for text in at.text)


def test_a_review_started_with_the_facts_unchosen_shows_them_not_recorded_and_blocks(
    demo: DemoDatabase,
) -> None:
    at = app_test("caseworker", page="start_review")
    for label in ("Closure reason", "Risk level at opening", "Risk level now"):
        assert selectbox(at, label).value == "Not recorded", label
    for label in ("Exploitation concern flagged", ORDERS_IN_FORCE):
        assert radio(at, label).value == "Not recorded", label
        assert radio(at, label).options == ["Not recorded", "Yes", "No"]
    start_review(
        at,
        case_reference="CR-TEST-0003",
        birth_month="2009-04",
        involvement=Involvement.CHILD_IN_NEED,
        opened_on=dt.date(2025, 1, 6),
        proposed_closure_on=CLOSING_ON,
    )

    assert not at.exception
    assert titles(at) == ["Closure review CR-TEST-0003"]
    review_id = int(at.query_params["review"])
    case = stored(demo, review_id).review.case
    assert (case.closure_reason, case.risk_at_opening, case.risk_now) == (None, None, None)
    assert (case.exploitation_concern, case.orders_in_force) == (None, None)
    open_step(at, review_id, "tasks")
    open_all_gaps(at)
    assert "route.E001" in panel_check_ids(at, review_id)
    statuses = task_statuses(at)
    assert statuses["Case details"] == "Gaps remain · 5 blockers"
    assert statuses["Closure route"] == "Not started"
    assert "Record the closure reason at Case details" in all_text(at)


def test_untouched_steps_of_a_new_review_are_not_started_never_complete(
    demo: DemoDatabase,
) -> None:
    review_id = _own_review(demo, "CR-TEST-0010")
    at = app_test("caseworker")

    open_step(at, review_id, "tasks")

    statuses = task_statuses(at)
    for title in ("Pace of change", "Onward support", "Early intervention and diversion"):
        assert statuses[title].startswith("Not started"), title
    assert statuses["Mental health"].startswith("Not started")
    theme_titles = {theme.title for theme in THEMES}
    assert not [t for t, status in statuses.items() if t in theme_titles and "Complete" in status]


def test_an_untouched_step_with_nothing_open_is_not_started_not_complete(
    demo: DemoDatabase,
) -> None:
    # On a transfer with no exploitation concern, the exploitation checks that apply pass for
    # an unanswered review; the worker has still not looked at the step.
    review_id = _own_review(demo, "CR-TEST-0011", closure_reason="RC5", exploitation_concern=False)
    record = stored(demo, review_id)
    exploit = [r for r in record.report.results if r.theme == "exploit" and r.applicable]
    assert exploit
    assert all(r.passed for r in exploit)
    at = app_test("caseworker")

    open_step(at, review_id, "tasks")

    assert task_statuses(at)["Victim and perpetrator"] == "Not started"


def test_an_answered_step_with_nothing_open_is_complete(demo: DemoDatabase) -> None:
    review_id = demo.ids["draft_remand"]
    record = stored(demo, review_id)
    assert not [f for f in record.report.open_findings if f.check_id.startswith("pace.")]
    at = app_test("caseworker")

    open_step(at, review_id, "tasks")

    statuses = task_statuses(at)
    assert statuses["Pace of change"] == "Complete"
    assert statuses["Circumstance or choice"] == "Gaps remain · 1 blocker, 1 caution"


def test_a_yes_no_question_shows_not_recorded_until_answered_and_no_stores_false(
    demo: DemoDatabase,
) -> None:
    review_id = _own_review(demo, "CR-TEST-0012")
    at = app_test("caseworker")
    open_step(at, review_id, "mh")
    question = radio(at, "Emotional wellbeing need recorded")
    assert question.options == ["Not recorded", "Yes", "No"]
    assert question.value == "Not recorded"
    open_step(at, review_id, "sign_off")
    assert "Emotional wellbeing need recorded: not recorded" in _summary_text(at)
    assert stored(demo, review_id).review.answers.mh.wellbeing_need is None

    open_step(at, review_id, "mh")
    radio(at, "Emotional wellbeing need recorded").set_value("No").run()

    assert not at.exception
    assert stored(demo, review_id).review.answers.mh.wellbeing_need is False
    again = app_test("caseworker")
    open_step(again, review_id, "mh")
    assert radio(again, "Emotional wellbeing need recorded").value == "No"
    open_step(again, review_id, "sign_off")
    assert "Emotional wellbeing need recorded: no" in _summary_text(again)


def test_an_optional_choice_shows_not_recorded_and_can_be_chosen(demo: DemoDatabase) -> None:
    review_id = _own_review(demo, "CR-TEST-0013")
    network = "Exploiting network or location"
    at = app_test("caseworker")
    open_step(at, review_id, "cause")
    assert selectbox(at, network).value == "Not recorded"
    assert "Not named" not in all_text(at)

    selectbox(at, network).set_value(NetworkStatus.DISRUPTED).run()

    assert stored(demo, review_id).review.answers.cause.network_status is NetworkStatus.DISRUPTED
    assert "cause.W002" not in panel_check_ids(at, review_id)


def test_a_transfer_shows_evidence_of_change_as_not_needed_for_its_route(
    demo: DemoDatabase,
) -> None:
    review_id = _own_review(demo, "CR-TEST-0014", closure_reason="RC5")
    at = app_test("caseworker")

    open_step(at, review_id, "tasks")
    statuses = task_statuses(at)
    not_needed = "Not needed for this route: Transfer to another local authority"
    assert statuses["Evidence of change"] == not_needed
    assert statuses["Pace of change"] == not_needed
    assert statuses["Closure route"].startswith("Not started · ")
    assert statuses["Exit strategy"].startswith("Not started · ")

    open_step(at, review_id, "change")
    first = as_seen(str(at.info[0].value))
    assert first.startswith(not_needed + ".")
    assert "nothing here blocks sign-off" in first
    assert "No check at this step applies to this closure route." in all_text(at)


def test_the_closure_route_step_asks_only_what_a_transfer_needs(demo: DemoDatabase) -> None:
    review_id = _own_review(demo, "CR-TEST-0015", closure_reason="RC5")
    at = app_test("caseworker")

    open_step(at, review_id, "route")

    labels = [str(w.label) for w in [*at.text_input, *at.date_input, *at.selectbox]]
    assert "Transfer: receiving authority" in labels
    assert "Transfer: date the receiving authority accepted in writing" in labels
    assert not [label for label in labels if label.startswith(("Adulthood", "Assessment"))]
    text = as_seen(all_text(at))
    assert "Closure reason: RC5 Transferred to another local authority" in text
    assert "Closure route: Transfer to another local authority" in text
    assert {"route.E003", "route.E004", "route.E005", "route.E006"} <= panel_check_ids(
        at, review_id
    )

    text_input(at, "Transfer: receiving authority").set_value("Northshire County Council")
    text_input(at, "Transfer: date the receiving authority accepted in writing").set_value(
        "20/06/2025"
    )
    at.run()

    assert not at.exception
    assert "route.E003" not in panel_check_ids(at, review_id)
    open_step(at, review_id, "tasks")
    assert task_statuses(at)["Closure route"].startswith("Gaps remain · ")


def test_a_closure_because_things_changed_does_not_ask_transfer_questions(
    demo: DemoDatabase,
) -> None:
    review_id = _own_review(demo, "CR-TEST-0016", closure_reason="RC7")
    at = app_test("caseworker")

    open_step(at, review_id, "route")

    assert keys_of(at, "text_input") == []
    assert keys_of(at, "date_input") == []
    assert as_seen(str(at.info[0].value)).startswith(
        "Not needed for this route: Needs met because things changed."
    )


def _lapsed_transfer_exception(demo: DemoDatabase) -> int:
    """A transfer whose manager excepted 'no transfer meeting'; then a meeting was booked far
    ahead, so the gap changed and the exception no longer applies."""
    review_id = _own_review(demo, "CR-TEST-0020", closure_reason="RC5")
    worker, manager = demo.principal("caseworker"), demo.principal("manager")
    gap = next(
        f for f in stored(demo, review_id).report.open_blockers if f.check_id == "route.E004"
    )
    request = reviews.request_exception(
        demo.context(),
        worker,
        review_id,
        finding_key=gap.key,
        reason="The receiving authority holds transfer meetings within their own timescale.",
    )
    decisions.decide_exception(
        demo.context(), manager, request, grant=True, reason="Agreed with their team manager."
    )
    assert [f.check_id for f in stored(demo, review_id).report.findings() if f.resolved_by] == [
        "route.E004"
    ]
    _save_answers(demo, review_id, "route", transfer_meeting_on="2025-09-15")
    return review_id


def test_a_lapsed_exception_is_said_on_the_finding_card(demo: DemoDatabase) -> None:
    review_id = _lapsed_transfer_exception(demo)
    finding = next(
        f for f in stored(demo, review_id).report.open_blockers if f.check_id == "route.E004"
    )
    assert finding.lapsed.startswith("Exception no longer applies: ")
    assert "meeting: " in finding.lapsed  # what changed: the meeting date
    at = app_test("caseworker")

    open_step(at, review_id, "route")

    warnings = [as_seen(str(w.value)) for w in at.warning]
    # Once on the step's own card, once on the card in the gap panel.
    assert warnings.count(finding.lapsed) == 2
    assert finding.lapsed.endswith("Ask your manager again.")


def test_an_exception_that_no_longer_applies_is_listed_in_the_gap_panel_and_at_sign_off(
    demo: DemoDatabase,
) -> None:
    review_id = _lapsed_transfer_exception(demo)
    notices = stored(demo, review_id).report.exception_notices
    assert [n.kind.value for n in notices] == ["lapsed"]
    at = app_test("caseworker")

    for step in ("tasks", "sign_off"):
        open_step(at, review_id, step)
        shown = [as_seen(str(w.value)) for w in at.warning]
        expected = (
            "Exception no longer applies · [route.E004 No transfer meeting]"
            f"(reference?check=route.E004)\n\n{notices[0].message}"
        )
        assert shown.count(expected) == (2 if step == "sign_off" else 1), step
    assert "Exceptions that no longer resolve a gap" in [str(s.value) for s in at.subheader]


def test_plan_outcomes_are_added_with_the_evidence_they_cite(demo: DemoDatabase) -> None:
    review_id = _own_review(demo, "CR-TEST-0021", evidence=(SCHOOL_SAW_CHANGE, POLICE_RECORD))
    at = app_test("caseworker")
    open_step(at, review_id, "change")
    assert "change.E007" in panel_check_ids(at, review_id)
    adding = form(at, "Add")
    cited = multiselect(adding, OUTCOME_CITED)
    assert [option.split(" · ")[0] for option in cited.options] == ["E1", "E2"]

    text_input(adding, "Plan outcome or safety goal").set_value("Back in full-time education")
    selectbox(adding, "Achieved").set_value(OutcomeStatus.MET)
    multiselect(adding, OUTCOME_CITED).set_value(["E1"])
    button(adding, "Add").click().run()

    assert not at.exception
    outcomes = stored(demo, review_id).review.answers.change.plan_outcomes
    assert [(o.outcome, o.status, o.cited) for o in outcomes] == [
        ("Back in full-time education", OutcomeStatus.MET, ["E1"])
    ]
    # The outcome is shown with its evidence, and can cite more in place.
    shown = multiselect(row(at, "Remove plan outcome 1"), OUTCOME_CITED)
    assert shown.value == ["E1"]
    assert shown.options[0].startswith("E1 · School or college · 20/05/2025")
    shown.set_value(["E1", "E2"]).run()
    assert stored(demo, review_id).review.answers.change.plan_outcomes[0].cited == ["E1", "E2"]
    open_step(at, review_id, "sign_off")
    assert (
        "Plan outcome 1: Back in full-time education; Achieved: Met; Evidence cited: E1, E2"
    ) in _summary_text(at)


def test_removing_evidence_also_removes_it_from_a_plan_outcome(demo: DemoDatabase) -> None:
    review_id = _own_review(demo, "CR-TEST-0022", evidence=(SCHOOL_SAW_CHANGE, POLICE_RECORD))
    _save_answers(
        demo,
        review_id,
        "change",
        plan_outcomes=[{"outcome": "No missing episodes", "status": "met", "cited": ["E2"]}],
    )
    at = app_test("caseworker")
    open_step(at, review_id, "evidence")
    selectbox(at, "Evidence item").set_value("E2").run()

    button(form(at, "Remove this item"), "Remove this item").click().run()

    assert not at.exception
    review = stored(demo, review_id).review
    assert [item.id for item in review.evidence] == ["E1"]
    assert review.answers.change.plan_outcomes[0].cited == []
    assert "Removed E2 and its citations in: Evidence of change." in all_text(at)


def test_a_family_factor_records_the_agency_that_provides_the_response(
    demo: DemoDatabase,
) -> None:
    review_id = _own_review(demo, "CR-TEST-0023")
    agency = "Domestic abuse: agency that provides it"
    at = app_test("caseworker")
    open_step(at, review_id, "family")
    assert selectbox(at, agency).value == "Not recorded"

    selectbox(at, "Domestic abuse").set_value(FactorStatus.PRESENT)
    text_input(at, "Domestic abuse: plan element or onward support").set_value(
        "Mother attends the Freedom Programme"
    )
    selectbox(at, agency).set_value(Agency.VOLUNTARY)
    at.run()

    assert not at.exception
    factor = stored(demo, review_id).review.answers.family.factors[FamilyFactor.DOMESTIC_ABUSE]
    assert (factor.status, factor.agency) == (FactorStatus.PRESENT, Agency.VOLUNTARY)
    assert factor.response == "Mother attends the Freedom Programme"


def test_household_adults_and_statutory_orders_are_added_as_lists(demo: DemoDatabase) -> None:
    review_id = _own_review(demo, "CR-TEST-0024")
    at = app_test("caseworker")
    open_step(at, review_id, "family")
    adults = form(at, "Add", holding="Adult in the household (role, not name)")
    text_input(adults, "Adult in the household (role, not name)").set_value("Mother's partner")
    date_input(adults, "Date police history checked").set_value(dt.date(2025, 5, 1))
    button(adults, "Add").click().run()
    assert not at.exception
    [adult] = stored(demo, review_id).review.answers.family.adults
    assert (adult.role, adult.police_checked_on) == ("Mother's partner", dt.date(2025, 5, 1))

    open_step(at, review_id, "case")
    radio(at, ORDERS_IN_FORCE).set_value("Yes").run()
    assert "route.E002" in panel_check_ids(at, review_id)
    orders = form(at, "Add a statutory order")
    selectbox(orders, "Order").set_value(OrderKind.REFERRAL_ORDER)
    date_input(orders, "Date the order ends").set_value(dt.date(2025, 6, 1))
    button(orders, "Add a statutory order").click().run()

    assert not at.exception
    case = stored(demo, review_id).review.case
    assert case.orders_in_force is True
    assert [(o.kind, o.ends_on) for o in case.orders] == [
        (OrderKind.REFERRAL_ORDER, dt.date(2025, 6, 1))
    ]
    assert "route.E002" not in panel_check_ids(at, review_id)
    assert "Order: Referral order; Date the order ends: 01/06/2025" in _summary_text(at)


def test_a_case_fact_gap_links_to_case_details(demo: DemoDatabase) -> None:
    review_id = _own_review(demo, "CR-TEST-0025", closure_reason=None)
    at = app_test("caseworker")
    open_step(at, review_id, "family")
    # The route check that reads only the closure reason is listed under Case details.
    [block] = [str(m.value) for m in gap_panel(at).markdown if "check=route.E001" in str(m.value)]
    assert block.removeprefix("---\n\n").startswith("**Case details** · ")
    go = [b for b in gap_panel(at).button if str(b.label) == "Go to Case details"]
    assert len(go) == 1

    go[0].click().run()

    assert at.query_params["step"] == "case"
    assert "Case details" in [str(h.value) for h in at.header]


def test_a_caseworker_asks_for_an_exception_from_the_gap_panel(demo: DemoDatabase) -> None:
    review_id = _own_review(demo, "CR-TEST-0030", closure_reason="RC5")
    gap = next(
        f for f in stored(demo, review_id).report.open_blockers if f.check_id == "route.E004"
    )
    at = app_test("caseworker")
    open_step(at, review_id, "route")
    assert expander(at, "Ask your manager for an exception").label  # offered, folded
    assert "Which gap" not in [str(s.label) for s in at.selectbox]

    open_expander(at, "Ask your manager for an exception")  # the form is drawn then
    asking = form(at, "Send to my manager")
    selectbox(asking, "Which gap").set_value(gap.key)
    text_area(asking, "Why closure is right despite this gap").set_value(
        "The receiving authority holds transfer meetings within their own timescale."
    )
    button(asking, "Send to my manager").click().run()

    assert not at.exception
    assert [str(s.value) for s in at.success] == ["Your request was sent to your team manager."]
    [request] = stored(demo, review_id).exception_requests
    assert (request.finding_key, request.status) == (gap.key, "pending")
    assert "Exception asked for route.E004" in " ".join(str(c.value) for c in at.caption)


def test_beside_the_task_list_the_gaps_are_folded_until_asked_for(demo: DemoDatabase) -> None:
    review_id = _blocked_remand_review(demo)
    at = app_test("caseworker")
    open_step(at, review_id, "tasks")

    shown = len(stored(demo, review_id).report.open_findings)
    assert expander(gap_panel(at), "Every open gap, by step").label == (
        f"Every open gap, by step ({shown})"
    )
    assert panel_check_ids(at, review_id) == set()  # the task list counts them per step
    assert not [b for b in gap_panel(at).button if str(b.label).startswith("Go to ")]

    open_all_gaps(at)

    assert {"change.E001", "cause.E002"} <= panel_check_ids(at, review_id)
    open_step(at, review_id, "change")  # beside a step they are shown at once
    assert "change.E001" in panel_check_ids(at, review_id)
