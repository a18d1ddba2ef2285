"""A caseworker's day in a real browser: sign in, start a review with its case facts, add and cite
evidence while the gaps update, answer a transfer's closure route, answer the questions a
nearly ready review still lacks and sign off with a rationale, reload mid-wizard; accessibility
of the main pages.

Every review here is built by the test itself, through the app or the service: the demo seed is
shared and may change. Every interaction waits for Streamlit to finish its run (no sleeps).
Screenshots of the main pages are saved to docs/screenshots/ by these tests.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context

pytestmark = pytest.mark.browser

BEACON = "![x](http://127.0.0.1:9/beacon.png)"
CITED_BY_OUTCOME = "Evidence for this plan outcome or safety goal"


# Helpers for Streamlit widgets, found by what people see: their labels, and where a label
# repeats, the form or list entry around them. A scope is the page or a part of it.


def page_of(scope: Any) -> Any:
    """The page a scope is on (options and the keyboard belong to the page)."""
    return getattr(scope, "page", scope)


def type_date(scope: Any, label: str, day: dt.date) -> None:
    """Type a date into a Streamlit date field (day, month and year segments)."""
    scope.get_by_role("spinbutton", name=f"day, {label}").click()
    page_of(scope).keyboard.type(f"{day:%d%m%Y}")
    page_of(scope).keyboard.press("Tab")


def answer_date(scope: Any, label: str, day: dt.date) -> None:
    """Type a date question outside a form (dd/mm/yyyy) and press Enter: it is saved like
    every other field."""
    box = scope.get_by_role("textbox", name=label, exact=True)
    box.fill(f"{day:%d/%m/%Y}")
    box.press("Enter")


def choose(scope: Any, label: str, option: str) -> None:
    """Pick an option of a Streamlit select box by the words shown, typed to filter the list
    (a long list draws only the options in view)."""
    box = scope.get_by_role("combobox", name=label, exact=True)
    box.click()
    # Typed where the click left the focus: the box's locator is not looked up again (in a
    # full run it sometimes stopped resolving once the list had opened).
    page_of(scope).keyboard.type(option)
    page_of(scope).get_by_role("option", name=option, exact=True).click()


def answer(scope: Any, question: str, option: str) -> None:
    """Pick one of a radio question's answers ("Not recorded", "Yes", "No")."""
    scope.get_by_role("radiogroup", name=question, exact=True).get_by_text(
        option, exact=True
    ).click()


def fill(scope: Any, label: str, text: str) -> None:
    """Type into a text field and leave it, so Streamlit saves the answer."""
    box = scope.get_by_role("textbox", name=label, exact=True)
    box.fill(text)
    box.press("Tab")


def add_form(page: Any, caption: str) -> Any:
    """The form that adds an entry, by the words over it ("Add plan outcome 1")."""
    return page.get_by_test_id("stForm").filter(has=page.get_by_text(caption, exact=True))


def entry(page: Any, remove: str) -> Any:
    """One entry of a list on a step: the smallest box holding its button labelled `remove`
    ("Remove cause 3")."""
    button = page.get_by_role("button", name=remove, exact=True)
    return page.get_by_test_id("stVerticalBlock").filter(has=button).last


def chosen(scope: Any, label: str) -> Any:
    """What a multiple choice box labelled `label` holds, as shown in the box."""
    box = scope.get_by_role("group").filter(
        has=page_of(scope).get_by_role("combobox", name=label, exact=True)
    )
    return box.get_by_role("group", name="Selected values")


def unique_reference() -> str:
    return f"CR-E2E-{uuid.uuid4().int % 10**8:08d}"


@pytest.fixture
def open_step(demo: Any, settle: Any) -> Any:
    """open_step(page, review_id, step): a step of the wizard, by its address."""

    def opened(page: Any, review_id: int, step: str) -> None:
        page.goto(f"{demo.url}/review?review={review_id}&step={step}")
        settle(page)

    return opened


def gap_panel(page: Any) -> Any:
    """The column holding the live gaps (headed 'Gaps')."""
    return page.get_by_test_id("stColumn").filter(
        has=page.get_by_role("heading", name="Gaps", exact=True)
    )


def task_row(page: Any, title: str) -> Any:
    """One row of the task list: the step's link, which reads its status too
    ("Evidence of change · Gaps remain · 1 blocker")."""
    return page.get_by_role("button", name=re.compile(rf"^{re.escape(title)} · "))


SCROLL_TO_TOP = """e => {
    e.scrollIntoView({block: "start"});
    for (let box = e.parentElement; box; box = box.parentElement) {
        if (box.scrollTop > 0) { box.scrollBy(0, -80); break; }
    }
}"""


# The tests


def test_a_signed_out_visitor_sees_only_sign_in(
    page: Any, demo: Any, settle: Any, screenshot: Any, axe_check: Any
) -> None:
    page.goto(demo.url)
    settle(page)

    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    main = page.get_by_test_id("stMain")
    assert main.get_by_role("button").count() == 1
    body = page.locator("body").inner_text()
    assert "CR-DEMO" not in body
    assert "Signed in as" not in body
    screenshot(page, "sign-in")
    assert axe_check(page, "sign-in") == []


def test_a_caseworker_starts_a_review_and_watches_a_blocker_clear(
    page: Any, demo: Any, sign_in: Any, settle: Any, open_step: Any, screenshot: Any, axe_check: Any
) -> None:
    sign_in(page, "caseworker")
    expect(page.get_by_role("heading", name="My reviews")).to_be_visible()
    screenshot(page, "my-reviews")
    assert axe_check(page, "my-reviews") == []

    # Start a review: the case facts start unchosen, and the worker records them.
    reference = unique_reference()
    today = dt.datetime.now(dt.UTC).date()
    page.get_by_role("link", name="Start a review").first.click()
    expect(page.get_by_role("heading", name="Start a closure review")).to_be_visible()
    settle(page)
    for unchosen in ("Closure reason", "Risk level at opening", "Risk level now"):
        expect(page.get_by_role("combobox", name=unchosen)).to_have_value("Not recorded")
    exploitation = page.get_by_role("radiogroup", name="Exploitation concern flagged")
    expect(exploitation.get_by_role("radio", name="Not recorded", exact=True)).to_be_checked()
    page.get_by_role("textbox", name="Case reference").fill(reference)
    page.get_by_role("textbox", name="Month of birth (YYYY-MM)").fill("2009-04")
    type_date(page, "Date opened", today - dt.timedelta(days=200))
    type_date(page, "Proposed closure date", today + dt.timedelta(days=14))
    choose(page, "Type of involvement", "Child in need")
    choose(page, "Closure reason", "RC7 Services ceased, including child no longer in need")
    choose(page, "Risk level at opening", "Significant")
    choose(page, "Risk level now", "Emerging")
    answer(page, "Exploitation concern flagged", "Yes")
    answer(page, "A statutory order is in force (referral order, licence...)", "No")
    page.get_by_role("button", name="Start review").click()
    expect(page.get_by_role("heading", name=f"Closure review {reference}")).to_be_visible()
    settle(page)
    review_id = int(re.search(r"review=(\d+)", page.url).group(1))  # type: ignore[union-attr]

    # The task list: untouched steps are not started, the route decides what is needed.
    expect(page.get_by_role("heading", name="Task list")).to_be_visible()
    expect(task_row(page, "Case details")).to_contain_text("Complete")
    expect(task_row(page, "Pace of change")).to_contain_text("Not started")
    expect(task_row(page, "Closure route")).to_contain_text(
        "Not needed for this route: Needs met because things changed"
    )
    expect(task_row(page, "Check and sign off")).to_contain_text("Cannot start yet")
    screenshot(page, "task-list")
    assert axe_check(page, "task-list") == []
    # Beside the task list the gaps are folded (the list counts them per step): open them.
    gap_panel(page).get_by_text(re.compile(r"^Every open gap, by step")).click()
    expect(gap_panel(page).get_by_text("change.E001")).to_be_visible()

    # The evidence register: add what the school saw.
    task_row(page, "Evidence register").click()
    expect(page.get_by_role("heading", name="Evidence register")).to_be_visible()
    settle(page)
    adding = page.get_by_test_id("stForm").filter(
        has=page.get_by_role("button", name="Add evidence", exact=True)
    )
    type_date(adding, "Date observed", today - dt.timedelta(days=3))
    adding.get_by_role("textbox", name="What it shows", exact=True).fill(
        "Form tutor saw her settled in lessons all week."
    )
    adding.get_by_role("textbox", name="Case record reference", exact=True).fill("EDU-OBS-0001")
    adding.get_by_role("button", name="Add evidence", exact=True).click()
    expect(page.get_by_text("No evidence recorded yet.")).to_be_hidden()
    settle(page)
    expect(page.get_by_label("Evidence item")).to_be_visible()
    page.get_by_role("heading", name="Evidence register").scroll_into_view_if_needed()
    screenshot(page, "evidence-register")
    expect(gap_panel(page).get_by_text("change.E001")).to_be_visible()  # recorded, not cited

    # Evidence of change: cite it, and the blocker goes.
    open_step(page, review_id, "change")
    expect(page.get_by_role("heading", name="What has actually changed")).to_be_visible()
    page.get_by_role("combobox", name="Evidence this answer relies on", exact=True).click()
    page.get_by_role("option", name=re.compile(r"^E1 ·")).click()
    page.keyboard.press("Escape")
    expect(gap_panel(page).get_by_text("change.E001")).to_have_count(0)
    settle(page)
    # One agency only: triangulation still blocks, shown with what would resolve it.
    expect(gap_panel(page).get_by_text("change.E003")).to_be_visible()
    screenshot(page, "theme-step-with-gaps")
    assert axe_check(page, "theme-step") == []

    # A plan outcome, citing the same evidence, clears "no plan outcomes".
    expect(gap_panel(page).get_by_text("change.E007")).to_be_visible()
    outcome = add_form(page, "Add plan outcome 1")
    outcome.get_by_role("textbox", name="Plan outcome or safety goal").fill("Settled in school")
    choose(outcome, "Achieved", "Met")
    outcome.get_by_role("combobox", name=CITED_BY_OUTCOME, exact=True).click()
    page.get_by_role("option", name=re.compile(r"^E1 ·")).click()
    page.keyboard.press("Escape")
    # Leave the evidence box first: it shrinks when it loses focus, which would move the
    # button from under a click that lands while it shrinks.
    page.get_by_text("Add plan outcome 1").click()
    outcome.get_by_role("button", name="Add", exact=True).click()
    settle(page)
    expect(gap_panel(page).get_by_text("change.E007")).to_have_count(0)
    saved = chosen(entry(page, "Remove plan outcome 1"), CITED_BY_OUTCOME)
    expect(saved.get_by_text(re.compile(r"^E1 ·"))).to_be_visible()


def test_a_caseworker_answers_a_transfers_closure_route(
    page: Any,
    demo: Any,
    sign_in: Any,
    settle: Any,
    open_step: Any,
    make_review: Any,
    screenshot: Any,
    axe_check: Any,
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    review_id = make_review(
        {
            "case": {
                "case_reference": unique_reference(),
                "birth_month": "2010-09",
                "involvement": "child_in_need",
                "opened_on": (today - dt.timedelta(days=150)).isoformat(),
                "proposed_closure_on": (today + dt.timedelta(days=10)).isoformat(),
                "closure_reason": "RC5",
                "exploitation_concern": True,
                "risk_at_opening": "significant",
                "risk_now": "moderate",
                "orders_in_force": False,
            }
        }
    )
    sign_in(page, "caseworker")

    open_step(page, review_id, "tasks")
    not_needed = "Not needed for this route: Transfer to another local authority"
    expect(task_row(page, "Evidence of change")).to_contain_text(not_needed)
    expect(task_row(page, "Closure route")).to_contain_text("Not started")

    open_step(page, review_id, "route")
    expect(page.get_by_role("heading", name="How is statutory involvement ending")).to_be_visible()
    expect(page.get_by_text("Closure route: Transfer to another local authority")).to_be_visible()
    expect(page.get_by_text("Adulthood:")).to_have_count(0)
    expect(gap_panel(page).get_by_text("route.E003")).to_be_visible()
    fill(page, "Transfer: receiving authority", "Northshire County Council")
    settle(page)
    answer_date(
        page, "Transfer: date the receiving authority accepted in writing", today - dt.timedelta(2)
    )
    expect(gap_panel(page).get_by_text("route.E003")).to_have_count(0)
    settle(page)
    expect(gap_panel(page).get_by_text("route.E004")).to_be_visible()  # no transfer meeting yet
    # Show the question, the route and the transfer's questions: the question at the top, clear
    # of Streamlit's sticky header.
    page.get_by_role("heading", name="How is statutory involvement ending").evaluate(SCROLL_TO_TOP)
    screenshot(page, "route-step")
    assert axe_check(page, "route-step") == []

    open_step(page, review_id, "change")
    expect(page.get_by_text(f"{not_needed}.")).to_be_visible()


def test_a_caseworker_answers_the_last_questions_and_signs_off_with_a_rationale(
    page: Any,
    demo: Any,
    sign_in: Any,
    settle: Any,
    open_step: Any,
    nearly_ready: Any,
    screenshot: Any,
) -> None:
    # Ready but for three things: the wellbeing question never answered, a tag that ends soon
    # with no plan for the day it ends, and a network still active (a caution).
    def unfinished(document: dict[str, Any]) -> None:
        closure = dt.date.fromisoformat(document["case"]["proposed_closure_on"])
        document["answers"]["mh"]["wellbeing_need"] = None
        document["answers"]["cause"]["causes"].append(
            {"kind": "bail_curfew_tag", "ends_on": (closure + dt.timedelta(days=28)).isoformat()}
        )
        document["answers"]["cause"]["network_status"] = "active"

    review_id = nearly_ready(unfinished)
    record = reviews.get_review(
        Context(demo.db),
        staff.identify(Context(demo.db), issuer=demo.provider_url, subject="caseworker"),
        review_id,
    )
    assert sorted(f.check_id for f in record.report.open_findings) == [
        "cause.E002",
        "cause.W002",
        "mh.E001",
    ]
    closure = record.review.case.proposed_closure_on
    tag = len(record.review.answers.cause.causes) - 1
    sign_in(page, "caseworker")

    # Mental health: a yes-or-no question shown as not recorded until it is answered.
    open_step(page, review_id, "mh")
    question = page.get_by_role("radiogroup", name="Emotional wellbeing need recorded")
    expect(question.get_by_role("radio", name="Not recorded", exact=True)).to_be_checked()
    expect(gap_panel(page).get_by_text("mh.E001")).to_be_visible()
    answer(page, "Emotional wellbeing need recorded", "No")
    expect(gap_panel(page).get_by_text("mh.E001")).to_have_count(0)
    settle(page)

    # Circumstance or choice: the plan for the day the tag ends: who, what, by when, how known.
    open_step(page, review_id, "cause")
    expect(gap_panel(page).get_by_text("cause.E002")).to_be_visible()
    plan = entry(page, f"Remove cause {tag + 1}")
    expect(plan.get_by_role("combobox", name="Cause", exact=True)).to_have_value(
        "Bail conditions, curfew or tag"
    )
    choose(plan, "Plan: agency that acts", "Youth justice service")
    settle(page)
    fill(plan, "Plan: who acts (role)", "Youth justice case manager")
    settle(page)
    fill(plan, "Plan: what they will do", "Visits him the evening the tag comes off")
    settle(page)
    fill(plan, "Plan: how we will know it happened", "Visit recorded in the youth justice record")
    settle(page)
    answer_date(plan, "Plan: by when", closure + dt.timedelta(days=28))
    expect(gap_panel(page).get_by_text("cause.E002")).to_have_count(0)
    settle(page)

    # Check and sign off: the caution needs a rationale, then the attestation.
    open_step(page, review_id, "sign_off")
    expect(page.get_by_text("Emotional wellbeing need recorded: no")).to_be_visible()
    sign_off = page.get_by_role("button", name="Sign off and send to my manager")
    expect(sign_off).to_be_disabled()
    rationale = page.get_by_role("textbox", name=re.compile(r"^Rationale for cause\.W002 "))
    rationale.fill(
        "He has moved area; the line's older members are in custody and police watch the flat."
    )
    rationale.press("Tab")
    expect(gap_panel(page).get_by_text("Nothing blocks sign-off.")).to_be_visible()
    settle(page)
    page.get_by_text("I confirm the statement above").click()
    expect(sign_off).to_be_enabled()
    screenshot(page, "sign-off")
    sign_off.click()

    confirmation = page.get_by_text("Signed off. Your team manager will countersign")
    expect(confirmation).to_be_visible()
    expect(page.get_by_text("Signed off, waiting for countersignature").first).to_be_visible()
    expect(sign_off).to_have_count(0)  # read-only now
    ctx = Context(demo.db)
    worker = staff.identify(ctx, issuer=demo.provider_url, subject="caseworker")
    signed = reviews.get_review(ctx, worker, review_id)
    assert signed.status == "submitted"
    assert signed.review.answers.mh.wellbeing_need is False
    settle(page)
    # The confirmation is drawn at the top while the page stays scrolled down (reported).
    page.get_by_role("heading", name=re.compile("^Closure review")).scroll_into_view_if_needed()
    screenshot(page, "sign-off-confirmation")


def _child_in_need_draft() -> dict[str, Any]:
    """A new draft's case: child in need, opened 300 days ago, closing in three weeks."""
    today = dt.datetime.now(dt.UTC).date()
    return {
        "case": {
            "case_reference": unique_reference(),
            "birth_month": "2009-11",
            "involvement": "child_in_need",
            "opened_on": (today - dt.timedelta(days=300)).isoformat(),
            "proposed_closure_on": (today + dt.timedelta(days=21)).isoformat(),
        }
    }


def test_answers_survive_a_reload_mid_wizard(
    page: Any, demo: Any, sign_in: Any, settle: Any, open_step: Any, make_review: Any
) -> None:
    review_id = make_review(_child_in_need_draft())
    sign_in(page, "caseworker")
    open_step(page, review_id, "exit")
    lead = page.get_by_role("textbox", name="Lead professional (role)", exact=True)
    lead.fill("School designated safeguarding lead")
    lead.press("Enter")
    settle(page)
    answer(page, "Someone disagrees with closure", "No")
    settle(page)
    notes = page.get_by_role("textbox", name="Notes", exact=True)
    notes.fill(f"Agreed at the final meeting {BEACON}")
    notes.press("Tab")
    settle(page)

    page.reload()
    settle(page)

    lead = page.get_by_role("textbox", name="Lead professional (role)", exact=True)
    # A reload draws the whole step again: on a loaded machine that took over 5 s in CI.
    expect(lead).to_have_value("School designated safeguarding lead", timeout=30_000)
    disagreement = page.get_by_role("radiogroup", name="Someone disagrees with closure")
    expect(disagreement.get_by_role("radio", name="No", exact=True)).to_be_checked()
    notes = page.get_by_role("textbox", name="Notes", exact=True)
    expect(notes).to_have_value(f"Agreed at the final meeting {BEACON}")
    # Shown as typed on the check-your-answers page; the image address is never fetched.
    open_step(page, review_id, "sign_off")
    expect(page.get_by_text("Agreed at the final meeting ![x]", exact=False)).to_be_visible()
    assert [url for url in page.requests_outside if url.startswith("http://127.0.0.1:9/")] == []


def _runs_finished(page: Any) -> list[str]:
    """How each script run the page hears of ends, from the server's own messages: "page" for
    the whole page's run, "fragments" for a run of the page's fragments alone."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ends = {
        ForwardMsg.FINISHED_SUCCESSFULLY: "page",
        ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragments",
    }
    heard: list[str] = []

    def frame(payload: Any) -> None:
        if isinstance(payload, bytes):
            message = ForwardMsg.FromString(payload)
            if message.HasField("script_finished") and message.script_finished in ends:
                heard.append(ends[message.script_finished])

    page.on("websocket", lambda socket: socket.on("framereceived", frame))
    return heard


def test_a_changed_answer_is_saved_and_only_the_checks_are_drawn_again(
    page: Any, demo: Any, sign_in: Any, settle: Any, open_step: Any, make_review: Any
) -> None:
    """Decision #82: the answer saves itself; the step's checks and the gap panel follow it,
    the rest of the page is not run again; a reload shows the answer stored."""
    review_id = make_review(_child_in_need_draft())
    runs = _runs_finished(page)
    sign_in(page, "caseworker")
    open_step(page, review_id, "family")
    checks = page.get_by_test_id("stMain").get_by_text("family.W003 Other children not considered")
    expect(checks).to_have_count(2)  # the step's own checks, and the gap panel
    expect(gap_panel(page).get_by_text("family.W003", exact=False)).to_have_count(1)
    heard = len(runs)

    page.get_by_text("Impact on other children considered", exact=True).click()
    settle(page)

    expect(checks).to_have_count(0)
    expect(page.get_by_text("family.W002 Father or male carer", exact=False)).to_have_count(2)
    assert runs[heard:] == ["fragments"]
    ctx = Context(demo.db)
    worker = staff.identify(ctx, issuer=demo.provider_url, subject="caseworker")
    stored = reviews.get_review(ctx, worker, review_id)
    assert stored.review.answers.family.siblings_considered is True

    page.reload()
    settle(page)
    box = page.get_by_role("checkbox", name="Impact on other children considered", exact=True)
    expect(box).to_be_checked(timeout=30_000)
    expect(checks).to_have_count(0)
