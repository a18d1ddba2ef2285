"""A database fault in the app is one plain line on the page, never the crash page (issue 11,
item 15): a full disk at sign-off, a database busy beyond the wait, in a page or in a click's
callback. Nothing is half-stored (the service's transaction is rolled back) and the server's
log says what happened in one line.

The full disk is real when the tests run as root (the database on a small tmpfs, filled up);
it is also simulated in process, so it is covered everywhere.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app_support import (
    DemoDatabase,
    all_text,
    app_test,
    as_seen,
    button,
    checkbox,
    copy_database,
    open_step,
    point_app_at,
    row,
    signed_in_claims,
)
from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.service import reviews, staff
from closure_readiness.storage import audit
from closure_readiness.storage.database import BUSY, DISK_FAILED, DISK_FULL, reading, release
from closure_readiness.storage.integrity import verify
from test_app_sign_off_seal import ready_review, shown_and_attested
from test_cli_faults import tmpfs

SIGN_OFF = "Sign off and send to my manager"
LOCKED = "database is locked"
FULL = "database or disk is full"
LINES = {LOCKED: BUSY, FULL: DISK_FULL}


def errors_shown(at: AppTest) -> list[str]:
    return [as_seen(str(element.value)) for element in at.error]


def signed_off_events(path: Path) -> int:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(
            conn.execute(
                "SELECT count(*) FROM audit_events WHERE action = 'signed_off'"
            ).fetchone()[0]
        )
    finally:
        conn.close()


def decisions_of(path: Path, review_id: int) -> int:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(
            conn.execute(
                "SELECT count(*) FROM decisions WHERE review_id = ?", (review_id,)
            ).fetchone()[0]
        )
    finally:
        conn.close()


def intact(path: Path) -> bool:
    with reading(path) as db:
        return verify(db).intact


def assert_nothing_signed_off(demo: DemoDatabase, review_id: int, events_before: int) -> None:
    assert demo.stored(review_id).status == ReviewStatus.DRAFT
    assert decisions_of(demo.path, review_id) == 0
    assert signed_off_events(demo.path) == events_before
    assert intact(demo.path)


def assert_one_plain_line(at: AppTest, line: str) -> None:
    """The fault's line as an error on the page, and nothing of the exception."""
    assert not at.exception, [e.value for e in at.exception]
    shown = errors_shown(at)
    assert [text for text in shown if line in text], shown
    text = as_seen(all_text(at))
    for leak in ("sqlite", "OperationalError", "Traceback", LOCKED, FULL):
        assert leak not in text


def logged(caplog: pytest.LogCaptureFixture, said: str, *, once: bool = True) -> None:
    """The server's log has a line per fault (the click's, then the page's when both failed),
    each one line, saying what happened and naming no case."""
    records = [r for r in caplog.records if r.name == "closure_readiness.app"]
    assert records
    assert len(records) == 1 or not once, [r.getMessage() for r in records]
    for record in records:
        message = record.getMessage()
        assert "\n" not in message
        assert said in message
        assert "CR-TEST" not in message


def failing_at_sign_off(monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    """SQLite raises inside the sign-off's transaction, after the decision row was written
    and the review moved on (the audit event is the transaction's last write)."""
    real = audit.append

    def append(db: Any, **event: Any) -> Any:
        if event.get("action") == "signed_off":
            raise sqlite3.OperationalError(message)
        return real(db, **event)

    monkeypatch.setattr(audit, "append", append)


def sign_off_works_now(at: AppTest, demo: DemoDatabase, review_id: int) -> None:
    checkbox(at, "I confirm the statement above").check().run()
    button(at, SIGN_OFF).click().run()
    assert not at.exception
    assert demo.stored(review_id).status == ReviewStatus.SUBMITTED
    assert decisions_of(demo.path, review_id) == 1
    assert intact(demo.path)


# A real full disk -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held_open", "line"),
    [(True, DISK_FULL), (False, DISK_FAILED)],
    ids=["other-sessions-open", "no-other-session"],
)
def test_a_really_full_disk_at_sign_off_says_so_and_stores_nothing(
    template: DemoDatabase,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    held_open: bool,
    line: str,
) -> None:
    """With another session's connection open, SQLite's shared-memory file stays and the
    sign-off fails on its first write: "The disk is full". With none, even opening the
    database needs room for that file, so every page says the disk could not be written."""
    size = template.path.stat().st_size
    with tmpfs(f"{size // 1024 + 2048}k") as folder:
        demo = copy_database(template, folder)
        point_app_at(monkeypatch, demo)
        review_id = ready_review(demo)
        events_before = signed_off_events(demo.path)
        at = shown_and_attested(review_id)
        with contextlib.ExitStack() as stack:
            other = stack.enter_context(contextlib.closing(sqlite3.connect(demo.path)))
            # The log is emptied, so the sign-off must grow it on a disk with no room left.
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            if not held_open:
                stack.close()
                release(demo.path)  # nor one this process keeps for its own sessions
            filler = folder / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as file:
                while True:
                    file.write(b"\0" * 65536)
                    file.flush()
            caplog.set_level(logging.ERROR, logger="closure_readiness.app")

            button(at, SIGN_OFF).click().run()

            assert_one_plain_line(at, line)
            logged(caplog, "disk", once=held_open)
            filler.unlink()
        assert_nothing_signed_off(demo, review_id, events_before)
        at.run()
        assert not at.error  # the fault is not shown again once the disk has room
        sign_off_works_now(at, demo, review_id)


# Simulated faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("message", [LOCKED, FULL])
def test_a_database_fault_at_sign_off_is_one_plain_line_and_stores_nothing(
    demo: DemoDatabase,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    message: str,
) -> None:
    review_id = ready_review(demo)
    events_before = signed_off_events(demo.path)
    at = shown_and_attested(review_id)
    caplog.set_level(logging.ERROR, logger="closure_readiness.app")
    with monkeypatch.context() as patch:
        failing_at_sign_off(patch, message)

        button(at, SIGN_OFF).click().run()

        assert_one_plain_line(at, LINES[message])
        logged(caplog, message)
    assert_nothing_signed_off(demo, review_id, events_before)
    sign_off_works_now(at, demo, review_id)


@pytest.mark.parametrize("message", [LOCKED, FULL])
def test_a_database_fault_in_a_click_callback_is_one_plain_line_and_stores_nothing(
    demo: DemoDatabase,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    message: str,
) -> None:
    review_id = ready_review(demo)
    before = demo.stored(review_id)
    assert len(before.review.answers.cause.causes) == 2
    at = app_test("caseworker")
    open_step(at, review_id, "cause")
    caplog.set_level(logging.ERROR, logger="closure_readiness.app")

    def fail(*_: object, **__: object) -> None:
        raise sqlite3.OperationalError(message)

    with monkeypatch.context() as patch:
        patch.setattr(reviews, "save_review", fail)
        button(row(at, "Remove cause 1"), "Remove cause 1").click().run()

        assert_one_plain_line(at, LINES[message])
        logged(caplog, message)
    after = demo.stored(review_id)
    assert after.version == before.version
    assert len(after.review.answers.cause.causes) == 2
    # Shown once: the next run draws the page without it.
    at.run()
    assert not [text for text in errors_shown(at) if LINES[message] in text]


def test_a_database_fault_when_the_sign_in_is_checked_is_one_plain_line(
    demo: DemoDatabase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every page starts by asking the staff table who is signed in."""
    at = app_test("caseworker")
    caplog.set_level(logging.ERROR, logger="closure_readiness.app")

    def busy(*_: object, **__: object) -> None:
        raise sqlite3.OperationalError(LOCKED)

    monkeypatch.setattr(staff, "identify", busy)
    at.run()

    assert_one_plain_line(at, BUSY)
    logged(caplog, LOCKED)


def test_streamlits_own_rerun_and_stop_still_pass(demo: DemoDatabase) -> None:
    """A successful sign-off ends in st.rerun, and a signed-out visit in st.stop: neither is
    a database error, so neither is caught."""
    review_id = ready_review(demo)
    at = shown_and_attested(review_id)
    button(at, SIGN_OFF).click().run()
    assert not at.exception
    assert not at.error
    assert demo.stored(review_id).status == ReviewStatus.SUBMITTED
    assert "Signed off." in as_seen(all_text(at))
    signed_out = app_test(None)
    assert [b.label for b in signed_out.button] == ["Sign in"]
    assert not signed_out.error


# A download's data is made on the click, outside the script (views/session.download_data)


def _download_script() -> None:
    import sqlite3

    import streamlit as st

    from closure_readiness.views import session

    def build() -> bytes:
        raise sqlite3.OperationalError("database or disk is full")

    st.session_state["made"] = session.download_data(build)


def test_a_database_fault_while_a_download_is_made_makes_no_file_and_is_said_next(
    demo: DemoDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    from closure_readiness.views import session

    at = AppTest.from_function(_download_script)
    at.user = signed_in_claims("caseworker")
    at.run()
    caplog.set_level(logging.ERROR, logger="closure_readiness.app")

    with pytest.raises(sqlite3.OperationalError):  # Streamlit: "the download failed"
        at.session_state["made"]()

    logged(caplog, FULL)
    assert DISK_FULL in at.session_state[session.FAULT]  # the page drawn next shows it
