"""No write after the session has ended (issue 11, item 5).

A button's callback runs before the page script, so before the page checks idle time, session
age and whether the account is still active. Every callback that can write goes through one
guard (views/session.py `guarded`): after the idle limit, past the maximum age, or for a
disabled account, a click stores nothing and audits nothing, and the page shows why.
"""

from __future__ import annotations

import ast
import importlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app_support import (
    CLOSING_ON,
    ISSUER,
    DemoDatabase,
    all_text,
    app_test,
    button,
    open_step,
    point_app_at,
    signed_in_claims,
)
from closure_readiness.core.review import Review
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import SYSTEM, NotAllowed
from closure_readiness.views import session as session_view

REMOVE = "Remove protective factor 1"


def _review_with_factors(demo: DemoDatabase, reference: str) -> int:
    """A draft for the demo caseworker holding two protective factors."""
    worker = demo.principal("caseworker")
    case = {
        "case_reference": reference,
        "birth_month": "2009-04",
        "involvement": "child_in_need",
        "opened_on": "2024-09-02",
        "proposed_closure_on": CLOSING_ON.isoformat(),
        "closure_reason": "RC7",
        "exploitation_concern": False,
        "risk_at_opening": "significant",
        "risk_now": "emerging",
        "orders_in_force": False,
    }
    review_id = reviews.start_review(demo.context(), worker, case)
    record = reviews.get_review(demo.context(), worker, review_id)
    document: dict[str, Any] = record.review.model_dump(mode="json")
    document["answers"]["sustain"]["protective_factors"] = [
        {"description": "Boxing club", "continues_after_closure": True},
        {"description": "Youth worker", "continues_after_closure": True},
    ]
    reviews.save_review(
        demo.context(),
        worker,
        review_id,
        Review.model_validate(document),
        expected_version=record.version,
    )
    return review_id


def _factors(demo: DemoDatabase, review_id: int) -> list[str]:
    """The protective factors as stored (read directly: the worker may be disabled by now)."""
    conn = sqlite3.connect(demo.path)
    try:
        [content] = conn.execute("SELECT content FROM reviews WHERE id = ?", [review_id]).fetchone()
    finally:
        conn.close()
    review = Review.model_validate_json(content)
    return [factor.description for factor in review.answers.sustain.protective_factors]


def _events(demo: DemoDatabase) -> int:
    conn = sqlite3.connect(demo.path)
    try:
        return int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
    finally:
        conn.close()


def _make_idle(at: AppTest, minutes: float) -> None:
    """Pretend this sign-in's last request was `minutes` ago."""
    activity = session_view._last_activity()
    key = (ISSUER, str(at.user["sub"]), int(at.user["iat"]))
    assert key in activity
    activity[key] = time.time() - minutes * 60


def _on_sustain_step(demo: DemoDatabase, reference: str) -> tuple[AppTest, int]:
    review_id = _review_with_factors(demo, reference)
    at = app_test("caseworker")
    open_step(at, review_id, "sustain")
    assert not at.exception
    assert REMOVE in [str(b.label) for b in at.button]
    return at, review_id


def test_a_remove_clicked_after_the_idle_limit_stores_nothing(
    demo: DemoDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_app_at(monkeypatch, demo, CLOSURE_IDLE_TIMEOUT_MINUTES="5")
    at, review_id = _on_sustain_step(demo, "CR-IDLE-0501")
    events = _events(demo)

    _make_idle(at, minutes=6)
    button(at, REMOVE).click().run()

    assert not at.exception
    assert _factors(demo, review_id) == ["Boxing club", "Youth worker"]
    assert _events(demo) == events
    assert "inactive for more than 5 minutes" in str(at.warning[0].value)
    assert [str(b.key) for b in at.button] == ["sign_in_again"]
    assert "Boxing club" not in all_text(at)


def test_a_remove_clicked_within_the_idle_limit_is_saved(demo: DemoDatabase) -> None:
    at, review_id = _on_sustain_step(demo, "CR-IDLE-0502")
    events = _events(demo)

    _make_idle(at, minutes=4)
    button(at, REMOVE).click().run()

    assert not at.exception
    assert _factors(demo, review_id) == ["Youth worker"]
    assert _events(demo) == events + 1


def test_a_remove_clicked_after_the_maximum_session_age_stores_nothing(
    demo: DemoDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    review_id = _review_with_factors(demo, "CR-IDLE-0503")
    point_app_at(monkeypatch, demo, CLOSURE_SESSION_MAX_AGE_HOURS="1")
    at = app_test("caseworker", issued_at=time.time() - 50 * 60)
    open_step(at, review_id, "sustain")
    events = _events(demo)

    # The sign-in grows older than the limit while the page is open.
    at.user["iat"] = int(time.time() - 70 * 60)
    session_view._last_activity()[(ISSUER, "caseworker", int(at.user["iat"]))] = time.time()
    button(at, REMOVE).click().run()

    assert not at.exception
    assert _factors(demo, review_id) == ["Boxing club", "Youth worker"]
    assert _events(demo) == events
    assert "signed in for more than 1 hours" in str(at.warning[0].value)


def test_a_disabled_worker_clicking_remove_is_told_and_nothing_is_stored(
    demo: DemoDatabase,
) -> None:
    at, review_id = _on_sustain_step(demo, "CR-IDLE-0504")
    staff.update_staff(demo.context(), SYSTEM, "SW-101", active=False)
    events = _events(demo)

    button(at, REMOVE).click().run()

    assert not at.exception
    assert [str(error.value) for error in at.error] == [
        "Your account has been disabled. Ask your system administrator."
    ]
    assert _factors(demo, review_id) == ["Boxing club", "Youth worker"]
    assert _events(demo) == events
    assert "Boxing club" not in all_text(at)


# Every callback goes through the guard

VIEWS = Path(session_view.__file__).resolve().parent
APP_FILE = VIEWS.parent / "app.py"

UNGUARDED = {
    # Signing in and out must work for a sign-in that has ended: that is how it is renewed.
    "st.login",
    "st.logout",
    # Tidies what is typed in a date field to dd/mm/yyyy (session state only, never stored).
    "_tidy_typed_date",
    # Moves a long list to its next or previous ten (session state only, never stored).
    "_move",
    # A parameter: finding_box is handed the review's step callback (state.set_step, guarded).
    "go_to_step",
}


def _callbacks() -> list[tuple[Path, str]]:
    """Every `on_click=` and `on_change=` given a function (not "rerun" or "ignore"), also
    as a dict's entry handed on to a widget (`{"on_change": answer_changed, ...}`)."""
    found: list[tuple[Path, str]] = []
    for path in [APP_FILE, *sorted(VIEWS.rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.keyword)
                and node.arg in ("on_click", "on_change")
                and not isinstance(node.value, ast.Constant)
            ):
                found.append((path, ast.unparse(node.value)))
            if isinstance(node, ast.Dict):
                found.extend(
                    (path, ast.unparse(value))
                    for name, value in zip(node.keys, node.values, strict=True)
                    if isinstance(name, ast.Constant)
                    and name.value in ("on_click", "on_change")
                    and not isinstance(value, ast.Constant)
                )
    return found


def test_a_callback_handed_on_in_a_dict_is_found() -> None:
    assert (VIEWS / "review" / "live.py", "answer_changed") in _callbacks()


def test_every_callback_that_can_write_checks_the_session_first() -> None:
    callbacks = _callbacks()
    assert len(callbacks) > 10  # the walk finds them
    guard = session_view.guarded(lambda: None).__code__  # the wrapper every guarded one shares
    unguarded = []
    for path, name in callbacks:
        if name in UNGUARDED:
            continue
        module = importlib.import_module(
            "closure_readiness." + ".".join(path.relative_to(VIEWS.parent).with_suffix("").parts)
        )
        if getattr(getattr(module, name), "__code__", None) is not guard:
            unguarded.append(f"{path.name}: {name}")
    assert unguarded == []


# A download's data is made on the click, outside the script: it checks the sign-in itself


def _download_script() -> None:
    import streamlit as st

    from closure_readiness.views import session

    st.session_state["made"] = session.download_data(lambda: b"%PDF record")


def _download_maker(subject: str = "caseworker") -> tuple[AppTest, Any]:
    at = AppTest.from_function(_download_script)
    at.user = signed_in_claims(subject)
    at.run()
    assert not at.exception
    return at, at.session_state["made"]


def test_a_download_made_within_the_idle_limit_is_made(demo: DemoDatabase) -> None:
    _at, made = _download_maker()

    assert made() == b"%PDF record"


def test_a_download_clicked_after_the_idle_limit_is_not_made(demo: DemoDatabase) -> None:
    at, made = _download_maker()
    key = (ISSUER, "caseworker", int(at.user["iat"]))
    session_view._last_activity()[key] = time.time() - 31 * 60

    with pytest.raises(session_view.SessionEnded, match="inactive for more than 30 minutes"):
        made()


def test_a_download_clicked_by_a_disabled_account_is_not_made(demo: DemoDatabase) -> None:
    _at, made = _download_maker()
    staff.update_staff(demo.context(), SYSTEM, "SW-101", active=False)

    with pytest.raises(NotAllowed, match="disabled"):
        made()
