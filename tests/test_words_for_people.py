"""One way to write a date, a time and a value in words, shared by the app and both PDFs
(core/words.py, core/answers_text.plain), and the text boxes' limits taken from the model."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import re

import pytest

from app_support import REPO_ROOT, DemoDatabase, app_test
from closure_readiness.core import words
from closure_readiness.core.answers_text import plain
from closure_readiness.core.vocabulary import Agency
from closure_readiness.report import decision_pdf
from closure_readiness.service import auditing
from closure_readiness.service.auditing import DecisionQuery
from closure_readiness.service.context import Context
from workflow_fixtures import Team, submit

VIEWS = REPO_ROOT / "src" / "closure_readiness" / "views"
DD_MM_YYYY = re.compile(r"^\d{2}/\d{2}/\d{4}$")


# Times: UTC as stored, London as read


@pytest.mark.parametrize(
    ("stamp", "screen", "printed"),
    [
        # The clocks go forward at 01:00 UTC on the last Sunday in March 2025 (30 March).
        ("2025-03-30T00:59:00+00:00", "30/03/2025 at 00:59", "30 March 2025 at 00:59 GMT"),
        ("2025-03-30T01:00:00+00:00", "30/03/2025 at 02:00", "30 March 2025 at 02:00 BST"),
        # And back at 01:00 UTC on 26 October 2025: 01:30 London happens twice.
        ("2025-10-26T00:30:00+00:00", "26/10/2025 at 01:30", "26 October 2025 at 01:30 BST"),
        ("2025-10-26T01:30:00+00:00", "26/10/2025 at 01:30", "26 October 2025 at 01:30 GMT"),
        # Late evening UTC in summer is already the next day in England.
        ("2025-06-30T23:30:00+00:00", "01/07/2025 at 00:30", "1 July 2025 at 00:30 BST"),
        # A time stored with another offset is still shown in London time.
        ("2025-01-10T12:15:00+02:00", "10/01/2025 at 10:15", "10 January 2025 at 10:15 GMT"),
    ],
)
def test_a_stored_time_reads_in_london_on_screen_and_in_print(
    stamp: str, screen: str, printed: str
) -> None:
    assert words.london(stamp) == screen
    assert words.london_time(stamp) == printed
    assert words.london_day(stamp) == screen.split(" at ")[0]


def test_a_time_stored_without_its_offset_is_utc() -> None:
    assert words.london("2025-07-01T09:00:00") == "01/07/2025 at 10:00"
    assert words.london_day("2025-06-30T23:30:00") == "01/07/2025"
    assert words.london_time("2025-01-10T10:15:00") == "10 January 2025 at 10:15 GMT"
    naive = dt.datetime(2025, 7, 1, 9, 0)
    assert words.in_london(naive) == dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC)
    assert words.in_london(naive).utcoffset() == dt.timedelta(hours=1)


def test_no_time_reads_as_not_recorded_and_a_broken_one_as_stored() -> None:
    for missing in (None, ""):
        assert words.london(missing) == "not recorded"
        assert words.london_day(missing) == "not recorded"
        assert words.london_time(missing) == "Not recorded"
    assert words.day(None) == "not recorded"
    assert words.london("not a time") == "not a time"
    assert words.london_time("not a time") == "not a time"


def test_a_calendar_date_is_not_moved_between_time_zones() -> None:
    assert words.day(dt.date(2025, 3, 4)) == "04/03/2025"
    assert words.human(dt.date(2025, 3, 4)) == "4 March 2025"


def test_the_app_and_the_pdf_convert_times_with_the_same_function() -> None:
    from closure_readiness.views import session

    assert decision_pdf.london_time is words.london_time
    assert not hasattr(session, "london")
    assert not hasattr(session, "_in_london")


# Values in words


def test_one_value_in_words_for_the_app_and_the_print() -> None:
    """The PDF's own in_words said "Yes" and "4 March 2025" for a value but "yes" and
    "04/03/2025" for the same value inside a nested answer; now both come from `plain`."""
    assert not hasattr(decision_pdf, "in_words")
    assert plain(None) == "not recorded"
    assert plain("") == "not recorded"
    assert plain([]) == "none recorded"
    assert plain(True) == "yes"
    assert plain(dt.date(2025, 3, 4)) == "04/03/2025"
    assert plain([Agency.SCHOOL, Agency.POLICE]) == f"{Agency.SCHOOL.label}, {Agency.POLICE.label}"
    assert plain(None, printed=True) == "Not recorded"
    assert plain([], printed=True) == "None recorded"
    assert plain(False, printed=True) == "No"
    assert plain(dt.date(2025, 3, 4), printed=True) == "4 March 2025"
    nested = {Agency.SCHOOL: dt.date(2025, 3, 4)}
    assert plain(nested, printed=True) == f"{Agency.SCHOOL.label}: 4 March 2025"
    assert plain(nested) == f"{Agency.SCHOOL.label}: 04/03/2025"


# Text box limits


def _max_chars_literals() -> list[str]:
    found = []
    for path in sorted(VIEWS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "max_chars"
                and any(isinstance(n, ast.Constant) for n in ast.walk(node.value))
            ):
                found.append(f"{path.relative_to(VIEWS)}:{node.value.lineno}")
    return found


def test_every_text_box_takes_its_limit_from_the_model_or_a_named_constant() -> None:
    assert _max_chars_literals() == []


# Lists show dd/mm/yyyy


def test_the_decision_pages_registers_show_dates_as_dd_mm_yyyy(demo: DemoDatabase) -> None:
    page = auditing.list_decisions(
        demo.context(), demo.principal("auditor"), DecisionQuery(limit=200)
    )
    decision_id = next(r["id"] for r in page.rows if r["case_reference"] == "CR-DEMO-1010")

    at = app_test("auditor", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    dated = [f.value for f in at.dataframe if "Date" in f.value.columns]
    assert dated, "no register with a Date column"
    for frame in dated:
        shown = [str(value) for value in frame["Date"]]
        assert shown
        assert all(DD_MM_YYYY.match(value) for value in shown), shown
    trail = next(f.value for f in at.dataframe if "When" in f.value.columns)
    assert all(re.match(r"^\d{2}/\d{2}/\d{4} at \d{2}:\d{2}$", str(v)) for v in trail["When"])


def test_the_date_filter_reads_days_as_the_lists_show_them(ctx: Context, team: Team) -> None:
    """Signed off at 23:30 UTC on 30 June, which the lists show as 01/07/2025 (summer time):
    the filter "from 01/07/2025" finds it, "to 30/06/2025" does not."""
    late = dt.datetime(2025, 6, 30, 23, 30, tzinfo=dt.UTC)
    _, decision_id = submit(dataclasses.replace(ctx, clock=lambda: late), team.worker)
    [row] = auditing.list_decisions(ctx, team.auditor, DecisionQuery()).rows
    assert words.london_day(row["signed_at"]) == "01/07/2025"

    def found(**bounds: str) -> list[int]:
        page = auditing.list_decisions(ctx, team.auditor, DecisionQuery(**bounds))
        return [r["id"] for r in page.rows]

    assert found(signed_from="2025-07-01") == [decision_id]
    assert found(signed_to="2025-07-01") == [decision_id]
    assert found(signed_to="2025-06-30") == []
    assert found(signed_from="2025-07-02") == []
    assert found(signed_from="not a date") == []
    assert found(signed_to="not a date") == []


def test_a_day_starts_at_midnight_in_england() -> None:
    assert words.start_of_day_utc("2025-07-01") == "2025-06-30T23:00:00+00:00"  # summer
    assert words.start_of_day_utc(dt.date(2025, 1, 10)) == "2025-01-10T00:00:00+00:00"
    assert words.start_of_day_utc("10/01/2025") is None
