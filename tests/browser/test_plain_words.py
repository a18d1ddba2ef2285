"""Plain words in a real browser (issue 9, items 7 and 9): a typed date is saved on Enter or
Tab like every other field, an error summary link takes the worker to the field, and the
evidence register, check your answers and the finding cards read at 1280 px wide.

Each review is built here through the service, with dates around today (the demo's clock).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context

pytestmark = pytest.mark.browser

NARROW = {"width": 1280, "height": 900}
"""A council laptop's browser window: the wizard's main column is about 440 px wide."""
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
LAST_CONTACT = "Date of last direct contact with the young person"
LONG_SHOWS = (
    "Youth worker saw him at the Tuesday club every week since March, arriving on time, "
    "staying to the end and helping younger members with the kit."
)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def a_review(**parts: Any) -> dict[str, Any]:
    """A review closing in 14 days; `parts` (evidence, incidents, answers by theme) added."""
    day = today()
    document: dict[str, Any] = {
        "case": {
            "case_reference": f"CR-PW-{uuid.uuid4().int % 10**8:08d}",
            "birth_month": "2009-04",
            "involvement": "child_in_need",
            "opened_on": (day - dt.timedelta(days=200)).isoformat(),
            "proposed_closure_on": (day + dt.timedelta(days=14)).isoformat(),
            "closure_reason": "RC7",
            "exploitation_concern": True,
            "risk_at_opening": "significant",
            "risk_now": "emerging",
            "orders_in_force": False,
        },
        "answers": {},
    }
    for name, value in parts.items():
        if name in ("evidence", "incidents"):
            document[name] = value
        else:
            document["answers"][name] = value
    return document


def evidence(number: int, days_ago: int, agency: str, shows: str) -> dict[str, str]:
    return {
        "id": f"E{number}",
        "agency": agency,
        "kind": "observed",
        "observed_on": (today() - dt.timedelta(days=days_ago)).isoformat(),
        "direction": "shows_change",
        "shows": shows,
        "record_ref": f"REC-{number:04d}",
    }


def stored_answer(demo: Any, review_id: int, theme: str, name: str) -> Any:
    ctx = Context(demo.db)
    worker = staff.identify(ctx, issuer=demo.provider_url, subject="caseworker")
    answer = getattr(reviews.get_review(ctx, worker, review_id).review.answers, theme)
    return getattr(answer, name)


def date_question(page: Any, label: str) -> Any:
    """A date question by its label: typed (a text box) or picked (day, month, year)."""
    typed = page.get_by_role("textbox", name=label, exact=True)
    return typed.or_(page.get_by_role("spinbutton", name=f"day, {label}", exact=True))


def type_into(page: Any, label: str, text: str) -> None:
    """Click into a date question and type, as a person does (whatever the widget)."""
    date_question(page, label).click()
    page.keyboard.type(text)


def in_viewport(locator: Any, page: Any) -> bool:
    box = locator.bounding_box()
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= page.viewport_size["height"]
    )


@pytest.fixture
def open_step(demo: Any, settle: Callable[[Any], None]) -> Callable[[Any, int, str], None]:
    def opened(page: Any, review_id: int, step: str) -> None:
        page.goto(f"{demo.url}/review?review={review_id}&step={step}")
        settle(page)

    return opened


def test_a_typed_date_is_saved_on_enter_and_on_tab(
    page: Any,
    demo: Any,
    sign_in: Any,
    settle: Any,
    open_step: Any,
    make_review: Any,
) -> None:
    review_id = make_review(a_review())
    seen, contact = today() - dt.timedelta(days=3), today() - dt.timedelta(days=5)
    sign_in(page, "caseworker")

    open_step(page, review_id, "exit")
    expect(
        page.get_by_text("No date is recorded for seeing the young person alone.")
    ).not_to_have_count(0)
    type_into(page, "Date last seen alone", f"{seen:%d/%m/%Y}")
    page.keyboard.press("Enter")
    # Saved: the gaps are worked out again from the stored date.
    expect(
        page.get_by_text("No date is recorded for seeing the young person alone.")
    ).to_have_count(0)
    settle(page)
    assert stored_answer(demo, review_id, "exit", "seen_alone_on") == seen

    open_step(page, review_id, "curiosity")
    unrecorded = "No date is recorded for the last direct contact with the young person"
    expect(page.get_by_text(unrecorded)).not_to_have_count(0)
    type_into(page, LAST_CONTACT, f"{contact.day}/{contact.month}/{contact.year}")
    page.keyboard.press("Tab")
    expect(page.get_by_text(unrecorded)).to_have_count(0)
    settle(page)
    assert stored_answer(demo, review_id, "curiosity", "last_direct_contact_on") == contact
    # Shown back as dd/mm/yyyy, and still there when the step is opened again.
    open_step(page, review_id, "curiosity")
    expect(page.get_by_role("textbox", name=LAST_CONTACT, exact=True)).to_have_value(
        f"{contact:%d/%m/%Y}"
    )


def test_an_error_summary_link_takes_the_worker_to_the_field(
    page: Any,
    demo: Any,
    sign_in: Any,
    settle: Any,
    open_step: Any,
    make_review: Any,
) -> None:
    review_id = make_review(a_review())
    page.set_viewport_size(NARROW)
    sign_in(page, "caseworker")
    open_step(page, review_id, "curiosity")
    field = page.get_by_role("textbox", name=LAST_CONTACT, exact=True)

    field.fill(f"31/02/{today().year}")
    field.press("Enter")
    settle(page)

    link = page.get_by_role(
        "link", name=re.compile(r"^Date of last direct contact with the young person: enter")
    )
    expect(link).to_be_visible()
    page.get_by_role("heading", name=re.compile(r"^Have peers")).scroll_into_view_if_needed()
    assert not in_viewport(field, page)  # the summary is at the top, the field far below

    link.click()
    settle(page)

    assert page.url.endswith("#field-answers-curiosity-last-direct-contact-on")
    assert in_viewport(field, page)
    expect(field).to_have_value(f"31/02/{today().year}")  # what was typed is kept
    expect(page.get_by_text("that day does not exist").first).to_be_visible()
    assert stored_answer(demo, review_id, "curiosity", "last_direct_contact_on") is None


def test_the_evidence_register_reads_in_full_at_1280_px(
    page: Any,
    sign_in: Any,
    open_step: Any,
    make_review: Any,
    screenshot: Any,
) -> None:
    items = [
        evidence(1, 40, "school", "Form tutor saw him settled in lessons every day."),
        evidence(2, 20, "youth_justice", LONG_SHOWS),
        evidence(3, 6, "police", "No missing episodes or intelligence since the spring."),
    ]
    review_id = make_review(a_review(evidence=items, change={"cited": ["E1", "E2", "E3"]}))
    page.set_viewport_size(NARROW)
    sign_in(page, "caseworker")
    open_step(page, review_id, "evidence")

    main = page.get_by_test_id("stMain")
    for item in items:
        day = dt.date.fromisoformat(item["observed_on"])
        entry = main.get_by_role("listitem").filter(has_text=f"{item['id']} · {day:%d/%m/%Y}")
        expect(entry).to_be_visible()
        expect(entry).to_contain_text(item["shows"])
        expect(entry).to_contain_text(f"(record {item['record_ref']})")
        expect(entry).to_contain_text("Shows change")
        wide = entry.evaluate("e => e.scrollWidth > e.clientWidth + 1")
        assert not wide, f"{item['id']} runs out of its column"
    register = main.get_by_role("list").first
    assert not ISO_DATE.search(register.inner_text())
    assert page.get_by_test_id("stDataFrame").count() == 0
    register.scroll_into_view_if_needed()
    screenshot(page, "evidence-register-1280")

    # Every item cited is listed in full beside the step's evidence box.
    open_step(page, review_id, "change")
    cited = main.get_by_test_id("stMarkdownContainer").filter(has_text="Evidence cited (3):")
    for item in items:
        expect(cited).to_contain_text(item["shows"])


def test_check_your_answers_and_the_cards_read_at_1280_px(
    page: Any,
    sign_in: Any,
    open_step: Any,
    make_review: Any,
    screenshot: Any,
) -> None:
    review_id = make_review(
        a_review(
            evidence=[evidence(1, 10, "school", "Form tutor saw him settled in lessons.")],
            cause={"causes": [{"kind": "new_education_place"}, {"kind": "own_decision"}]},
        )
    )
    page.set_viewport_size(NARROW)
    sign_in(page, "caseworker")
    open_step(page, review_id, "sign_off")

    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("Cause 1: New education place;")).to_be_visible()
    expect(main.get_by_text("Cause 2: The young person's own decision;")).to_be_visible()
    for label in ("Change case details", "Change evidence register", "Change incidents"):
        expect(main.get_by_role("button", name=label)).to_be_visible()
    main.get_by_text("Cause 1: New education place;").scroll_into_view_if_needed()
    screenshot(page, "check-your-answers-1280")

    # Every card button shows its whole label: none is cut to look like another.
    buttons = main.get_by_test_id("stColumn").last.get_by_role("button")
    assert buttons.count() > 5
    for index in range(buttons.count()):
        button = buttons.nth(index)
        cut = button.evaluate(
            "e => [...e.querySelectorAll('*')].some(n => n.scrollWidth > n.clientWidth + 1)"
        )
        assert not cut, button.inner_text()
