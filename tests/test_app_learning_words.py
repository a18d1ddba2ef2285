"""The auditor's Learning page and decision list speak words, not columns: headers and axis
titles in words, check ids with their titles, statuses as the rest of the app says them,
dates as dd/mm/yyyy, and empty states that say what to do next.

Every test runs the real entry point in-process (AppTest) against its own copy of the seeded
demo data, or a database holding one auditor and nothing else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from app_support import (
    ISSUER,
    DemoDatabase,
    all_text,
    app_test,
    button,
    form,
    point_app_at,
    selectbox,
    text_input,
)
from closure_readiness.checks import REGISTRY
from closure_readiness.core import words
from closure_readiness.service import staff
from closure_readiness.service.context import SYSTEM, Context, Role

SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
CHECK_ID = re.compile(r"^[a-z]+\.[EWN]\d{3}$")
CENSUS_CODE = re.compile(r"\bRC\d\b")
DAY = re.compile(r"^\d{2}/\d{2}/\d{4}$")
STATUS_WORDS = {
    "Signed off, waiting for countersignature",
    "Approved",
    "Returned",
    "Withdrawn",
}
RE_REFERRED = "Re-referred within 12 months"


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store holding one auditor and no decision at all."""
    path = tmp_path / "empty.db"
    staff.add_staff(
        Context(path),
        SYSTEM,
        staff_id="AU-900",
        issuer=ISSUER,
        subject="auditor",
        display_name="Test auditor",
        role=Role.AUDITOR,
    )
    point_app_at(monkeypatch, path)
    return path


# Helpers


def _tables(at: AppTest) -> list[Any]:
    return [frame.value for frame in at.dataframe]


def _table(at: AppTest, column: str) -> Any:
    for frame in _tables(at):
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with a {column!r} column: {_headers(at)}")


def _headers(at: AppTest) -> list[str]:
    return [str(column) for frame in _tables(at) for column in frame.columns]


def _charts(at: AppTest) -> list[dict[str, Any]]:
    """The Vega-Lite spec of every chart on the page."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, Block):
            for child in node.children.values():
                walk(child)
        elif node.type in ("vega_lite_chart", "arrow_vega_lite_chart"):
            found.append(json.loads(node.proto.spec))

    walk(at._tree)
    return found


def _worded(name: str) -> bool:
    """A header or axis title a reader understands: starts with a capital, no column name."""
    return bool(name) and name[0].isupper() and not SNAKE_CASE.search(name) and "_" not in name


def _search(at: AppTest, *, text: str = "", status: str = "Any") -> AppTest:
    filters = form(at, "Search")
    text_input(filters, "Search answers and evidence").set_value(text)
    selectbox(filters, "Status").set_value(status)
    return button(filters, "Search").click().run()


# Learning


def test_learning_tables_are_headed_in_words(demo: DemoDatabase) -> None:
    at = app_test("auditor", page="learning")

    assert not at.exception
    headers = _headers(at)
    assert headers
    assert [h for h in headers if not _worded(h)] == []
    for forbidden in ("check_id", "re_referred", "title", "month", "team", "manager"):
        assert forbidden not in headers


def test_learning_shows_each_check_with_its_title(demo: DemoDatabase) -> None:
    at = app_test("auditor", page="learning")

    checks = [str(cell) for frame in _tables(at) if "Check" in frame for cell in frame["Check"]]
    assert checks
    assert [c for c in checks if CHECK_ID.match(c)] == []  # never an id alone
    assert f"exit.E003 {REGISTRY['exit.E003'].title}" in checks


def test_learning_says_re_referral_in_words(demo: DemoDatabase) -> None:
    at = app_test("auditor", page="learning")

    text = all_text(at)
    assert "re_referred" not in text
    assert "= 1" not in text
    comparison = _table(at, "Closures")
    assert set(comparison[RE_REFERRED]) == {"Yes", "No"}
    carried = [frame for frame in _tables(at) if {"Check", RE_REFERRED} <= set(frame.columns)]
    assert len(carried) == 1
    assert set(carried[0][RE_REFERRED]) <= {"Yes", "No"}


def test_learning_names_the_manager_and_dates_returns_as_dd_mm_yyyy(demo: DemoDatabase) -> None:
    at = app_test("auditor", page="learning")

    managers = _table(at, "Team manager")
    assert list(managers["Team manager"]) == ["Demo team manager (North), TM-201"]
    returned = _table(at, "Returned")
    assert returned["Returned"].map(lambda day: bool(DAY.match(str(day)))).all()


def test_learning_charts_have_titled_axes(demo: DemoDatabase) -> None:
    at = app_test("auditor", page="learning")

    charts = _charts(at)
    assert len(charts) == 3
    for spec in charts:
        encoding = spec["encoding"]
        for channel in ("x", "y"):
            # Each axis is titled with what its values are (horizontal bars swap the axes).
            assert _worded(str(encoding[channel].get("title", ""))), encoding[channel]
            assert encoding[channel]["title"] == encoding[channel]["field"], encoding[channel]
        if "color" in encoding:
            assert _worded(str(encoding["color"]["field"])), encoding["color"]
        for tip in encoding.get("tooltip", []):
            assert _worded(str(tip.get("title") or tip["field"])), tip
    months = [spec for spec in charts if spec["encoding"]["x"].get("title") == "Month"]
    assert len(months) == 2


def test_learning_with_nothing_recorded_says_what_will_fill_it(empty: Path) -> None:
    at = app_test("auditor", page="learning")

    assert not at.exception
    assert _tables(at) == []
    assert _charts(at) == []
    captions = [str(c.value) for c in at.caption]
    for expected in (
        "No closure has been approved yet.",
        "No gap has been argued or excepted at a first sign-off yet.",
        "No review has been returned yet.",
        "No exception has been granted yet.",
        "No approved closure to compare yet.",
    ):
        assert [c for c in captions if c.startswith(expected)], expected


# The decision list


def test_the_decision_list_is_headed_in_words_with_statuses_as_elsewhere(
    demo: DemoDatabase,
) -> None:
    at = app_test("auditor")

    assert not at.exception
    table = _table(at, "Decision")
    assert [h for h in table.columns if not _worded(str(h))] == []
    assert RE_REFERRED in table.columns
    assert set(table["Status"]) == {
        "Approved",
        "Returned",
        "Signed off, waiting for countersignature",
    }
    assert table["Signed off"].map(lambda day: bool(DAY.match(str(day)))).all()
    assert not [r for r in table["Reason"] if CENSUS_CODE.search(str(r))]
    assert "Services ceased, including child no longer in need" in set(table["Reason"])
    assert set(table[RE_REFERRED]) == {"Yes", "No"}


def test_the_decision_filters_and_choices_use_the_same_words(demo: DemoDatabase) -> None:
    at = app_test("auditor")

    status = selectbox(at, "Status")
    assert set(status.options) - {"Any"} == STATUS_WORDS
    assert selectbox(at, RE_REFERRED).options
    reasons = selectbox(at, "Closure reason").options
    assert not [r for r in reasons if CENSUS_CODE.search(str(r))]
    chosen = selectbox(at, "Open a decision").options
    assert chosen
    assert not [o for o in chosen if re.search(r"\b(approved|submitted|returned)\b", str(o))]

    _search(at, status="Approved")

    assert set(_table(at, "Decision")["Status"]) == {"Approved"}


def test_no_matching_decision_says_what_to_do(demo: DemoDatabase) -> None:
    at = app_test("auditor")

    _search(at, text="xylophone")

    assert not at.exception
    assert [str(i.value) for i in at.info] == [
        "No decisions match. Clear the search or widen the dates."
    ]
    assert _tables(at) == []


def test_an_empty_store_says_decisions_appear_after_sign_off(empty: Path) -> None:
    at = app_test("auditor")

    assert not at.exception
    assert [str(i.value) for i in at.info] == [
        "No closure decision has been signed off yet. Decisions appear here once a worker "
        "signs off a review."
    ]
    assert _tables(at) == []


def test_stored_times_read_as_dd_mm_yyyy_on_the_clocks_in_england() -> None:
    # 23:30 UTC on 30 June is already 1 July in British Summer Time; winter is UTC.
    assert words.london_day("2025-06-30T23:30:00+00:00") == "01/07/2025"
    assert words.london("2025-06-30T23:30:00+00:00") == "01/07/2025 at 00:30"
    assert words.london("2025-01-10T10:15:00") == "10/01/2025 at 10:15"  # stored as UTC
