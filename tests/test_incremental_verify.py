"""Incremental verification from an anchor (issue 12, item 8).

`verify --since ANCHOR` checks the anchor against the chain, the whole chain, and every table
the chain covers, but reads seals, saved versions and evidence only for what events after the
anchor wrote. What it does not see (a sealed column rewritten before the anchor, with the
triggers dropped) is tested too, so the limit is known: the weekly full run finds it. Every
test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cli_support import invoke
from closure_readiness.core.location import PostgresURL
from closure_readiness.service.context import Context
from closure_readiness.storage import integrity
from closure_readiness.storage.database import read_only
from closure_readiness.storage.integrity import anchor_document, verify
from tamper_support import tamper
from workflow_fixtures import Team, approve, clock_of, submit

pytestmark = [pytest.mark.usefixtures("clean_cli_settings"), pytest.mark.both_engines]

SEARCH_FILTERS_DIFFER = (
    "search index: the team, status, dates and other filters it holds for each decision "
    "do not match the decisions (a search with a filter may miss a decision or list one "
    "that does not match)"
)


class Store:
    def __init__(self, ctx: Context, team: Team, tmp_path: Path) -> None:
        self.ctx = ctx
        self.team = team
        self.before = [self._closure(f"CR-81{n:02d}") for n in range(3)]
        self.anchor = tmp_path / "anchor.json"
        with read_only(self.ctx.db_path) as db:
            document = anchor_document(db, now=self.ctx.now())
        self.anchor.write_text(json.dumps(document))
        self.after = [self._closure(f"CR-82{n:02d}") for n in range(2)]

    def _closure(self, reference: str) -> int:
        clock_of(self.ctx).advance(minutes=5)
        _, decision_id = submit(self.ctx, self.team.worker, reference)
        approve(self.ctx, self.team.manager, decision_id)
        return decision_id

    def since(self) -> list[str]:
        with read_only(self.ctx.db_path) as db:
            anchor = json.loads(self.anchor.read_text())
            return verify(db, since=anchor).problems

    def full(self) -> list[str]:
        with read_only(self.ctx.db_path) as db:
            return verify(db).problems


@pytest.fixture
def store(ctx: Context, team: Team, tmp_path: Path) -> Store:
    return Store(ctx, team, tmp_path)


def test_an_incremental_run_reads_seals_only_for_what_was_written_since(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []
    real = integrity._decision_problems

    def counting(db: object, row: dict[str, object]) -> object:
        parsed.append(int(row["id"]))  # type: ignore[call-overload]
        return real(db, row)  # type: ignore[arg-type]

    monkeypatch.setattr(integrity, "_decision_problems", counting)

    assert store.since() == []
    assert parsed == store.after
    parsed.clear()
    assert store.full() == []
    assert parsed == store.before + store.after


def test_a_seal_changed_after_the_anchor_is_found(store: Store) -> None:
    tamper(
        store.ctx.db_path,
        "DROP TRIGGER decisions_no_update",
        f"UPDATE decisions SET closure_reason = 'RC9' WHERE id = {store.after[0]}",
    )
    assert store.since() == [
        f"decision {store.after[0]}: the closure reason does not match what was sealed"
    ]


def test_an_event_changed_before_the_anchor_is_found(store: Store) -> None:
    tamper(
        store.ctx.db_path,
        "DROP TRIGGER audit_events_no_update",
        "UPDATE audit_events SET actor = 'SW-X' WHERE seq = 2",
    )
    assert "audit event 2: content does not match its hash" in store.since()


def test_a_seal_changed_before_the_anchor_is_left_to_the_full_run(store: Store) -> None:
    """The known limit of an incremental run: the full run finds it."""
    tamper(
        store.ctx.db_path,
        "DROP TRIGGER decisions_no_update",
        f"UPDATE decisions SET closure_reason = 'RC9' WHERE id = {store.before[0]}",
    )
    assert store.since() == []
    assert store.full() == [
        f"decision {store.before[0]}: the closure reason does not match what was sealed",
        # The closure reason is one of SQLite's search index's filters (m008), so it is out
        # of step too; PostgreSQL's index follows the row.
        *([] if isinstance(store.ctx.db_path, PostgresURL) else [SEARCH_FILTERS_DIFFER]),
    ]


def test_a_chain_rewritten_before_the_anchor_stops_the_run(store: Store) -> None:
    anchor = json.loads(store.anchor.read_text())
    anchor["hash"] = "0" * 64
    store.anchor.write_text(json.dumps(anchor))

    problems = store.since()

    assert problems
    assert all(p.startswith("anchor:") for p in problems), problems


def test_the_command_says_it_was_incremental_and_shows_progress(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(integrity, "PROGRESS_EVERY", 2)
    db = str(store.ctx.db_path)

    result = invoke("verify", "--db", db, "--since", str(store.anchor), "--progress")

    assert result.exit_code == 0, result.output
    assert "(incremental: what was written after event " in result.stdout
    assert result.stdout.rstrip().endswith(": intact.")
    assert "verify: 2 of 5 decisions checked" in result.stderr
    quiet = invoke("verify", "--db", db)
    assert quiet.exit_code == 0
    assert "verify:" not in quiet.stderr  # not a terminal: no progress unless asked
    missing = invoke("verify", "--db", db, "--since", str(store.anchor) + ".missing")
    assert missing.exit_code == 2


def test_an_anchor_from_the_future_of_this_file_is_refused(store: Store) -> None:
    anchor = json.loads(store.anchor.read_text())
    anchor["seq"] = 10_000
    anchor["exported_at"] = (dt.datetime.now(dt.UTC)).isoformat()
    store.anchor.write_text(json.dumps(anchor))

    assert [p for p in store.since() if p.startswith("anchor:")]
