"""A downloaded decision record cannot be fetched again from its address (issue 11, item 8).

Streamlit serves a download button's file at `/media/<hash>.pdf` to anyone who has the address,
without signing in and without running our code (so without an audit event). The app makes the
record on the click, audits each click, and has Streamlit forget the file once the browser has
fetched it (views/downloads.py): the same address then answers 404, signed in or not.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

VIEWPORT = {"width": 1400, "height": 1000}

DOWNLOAD = "Download the decision record (PDF)"


def _approved_decision(db: Path) -> tuple[int, str]:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(
            "SELECT d.id, d.case_reference FROM decisions d JOIN outcomes o "
            "ON o.decision_id = d.id WHERE o.outcome = 'approved' ORDER BY d.id LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return int(row[0]), str(row[1])


def _exports(db: Path, decision_id: int) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(
            conn.execute(
                "SELECT count(*) FROM audit_events WHERE decision_id = ? AND action = ?",
                [decision_id, "decision_record_exported"],
            ).fetchone()[0]
        )
    finally:
        conn.close()


def _download(page: Any, tmp_path: Path) -> tuple[str, bytes]:
    with page.expect_download() as download_info:
        page.get_by_role("button", name=DOWNLOAD).click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    # Streamlit's page also fetches a new download's address once to check it answers: let
    # that finish, so that what follows is a third fetch, not a race with the second.
    page.wait_for_timeout(1000)
    return str(download.url), saved.read_bytes()


def test_a_downloaded_record_is_not_served_again_and_each_download_is_audited(
    page: Any,
    browser: Any,
    demo: Any,
    sign_in: Any,
    settle: Any,
    tmp_path: Path,
) -> None:
    decision_id, reference = _approved_decision(demo.db)
    sign_in(page, "auditor")
    page.goto(f"{demo.url}/decision?decision={decision_id}")
    settle(page)
    expect(page.get_by_role("heading", name=f"Decision {decision_id}: {reference}")).to_be_visible()
    before = _exports(demo.db, decision_id)

    url, data = _download(page, tmp_path)

    assert data.startswith(b"%PDF")
    assert "/media/" in url
    assert _exports(demo.db, decision_id) == before + 1
    # Someone with the address and no sign-in: refused.
    stranger = browser.new_context(viewport=VIEWPORT)
    try:
        assert stranger.request.get(url).status == 404
    finally:
        stranger.close()
    # The worker's own browser, still signed in: the address is spent too.
    assert page.context.request.get(url).status == 404
    assert _exports(demo.db, decision_id) == before + 1

    # Another click makes and audits the record again, and is served again (once).
    again, data_again = _download(page, tmp_path)

    assert data_again.startswith(b"%PDF")
    assert _exports(demo.db, decision_id) == before + 2
    assert page.context.request.get(again).status == 404
