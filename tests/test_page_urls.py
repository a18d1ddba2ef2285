"""Odd addresses are answered, never a crash page (issue 11, item 14, the pages).

A decision or review number in the address is read by one parser (views/pages.py `id_in`):
ASCII digits only, at most 18 of them. Anything else (superscript or Arabic-Indic digits, a
number too big for the database, a sign, spaces) is "there is no such decision/review".
"""

from __future__ import annotations

import pytest

from app_support import DemoDatabase, all_text, app_test
from closure_readiness.views import pages

ODD = [
    "²",  # a digit to str.isdigit, not to int()
    "١٢",  # Arabic-Indic twelve: int() reads it as 12
    "１",  # a fullwidth one
    "99999999999999999999999",  # more than SQLite's 64-bit integers hold
    "9" * 19,
    "1" + "0" * 19,
    "-1",
    "+1",
    " 1",
    "1 ",
    "1_000",
    "0x10",
    "1e3",
    "1.0",
    "abc",
]


@pytest.mark.parametrize("raw", ["1", "007", "123456789012345678"])
def test_the_parser_reads_plain_numbers(raw: str) -> None:
    assert pages.parse_id(raw) == int(raw)


@pytest.mark.parametrize("raw", [*ODD, "1234567890123456789", ""])
def test_the_parser_refuses_anything_else(raw: str) -> None:
    assert pages.parse_id(raw) is None


@pytest.mark.parametrize("raw", ["²", "١٢", "99999999999999999999999", "9" * 19, "-1", "1e3"])
@pytest.mark.parametrize("subject", ["auditor", "manager"])
def test_an_odd_decision_number_is_no_such_decision(
    demo: DemoDatabase, subject: str, raw: str
) -> None:
    at = app_test(subject, page="decision", query={"decision": raw})

    assert not at.exception
    assert [str(error.value) for error in at.error] == ["There is no such decision."]
    assert "CR-DEMO" not in all_text(at)


@pytest.mark.parametrize("raw", ["²", "١٢", "99999999999999999999999", "9" * 19, "-1", "1e3"])
def test_an_odd_review_number_is_no_such_review(demo: DemoDatabase, raw: str) -> None:
    at = app_test("caseworker", page="review", query={"review": raw, "step": "tasks"})

    assert not at.exception
    assert [str(error.value) for error in at.error] == ["There is no such review."]
    assert "CR-DEMO" not in all_text(at)


def test_arabic_indic_digits_do_not_open_the_review_they_spell(demo: DemoDatabase) -> None:
    review_id = demo.ids["draft_new"]
    spelled = "".join(chr(0x0660 + int(digit)) for digit in str(review_id))
    assert int(spelled) == review_id  # what int() alone would open

    at = app_test("caseworker", page="review", query={"review": spelled})

    assert not at.exception
    assert "CR-DEMO" not in all_text(at)


@pytest.mark.parametrize(("page", "name"), [("decision", "decision"), ("review", "review")])
def test_no_number_at_all_still_asks_to_choose_from_the_list(
    demo: DemoDatabase, page: str, name: str
) -> None:
    subject = "auditor" if page == "decision" else "caseworker"
    wanted = "from the list first." if page == "decision" else "from your list first."
    for query in ({}, {name: ""}):
        at = app_test(subject, page=page, query=query)

        assert not at.exception
        assert not at.error
        assert str(at.info[0].value).endswith(wanted)


def test_a_plain_number_still_opens_the_decision(demo: DemoDatabase) -> None:
    at = app_test("auditor", page="decision", query={"decision": "1"})

    assert not at.exception
    assert not at.error
    assert str(at.title[0].value).startswith("Decision 1: ")
