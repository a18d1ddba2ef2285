"""The database is the last guard: raw SQL on the database cannot rewrite what was sealed.

Each test runs a real workflow through the service layer, then opens the database with a plain
connection (sqlite3 on the file, psycopg on the server: no service, no storage layer) and tries
to change history. Both engines: PostgreSQL keeps the same rules as server-side triggers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.service import decisions, reviews
from closure_readiness.service.context import Context
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import verify
from workflow_fixtures import (
    NOW,
    Team,
    add_team,
    approve,
    caution_review,
    forget,
    make_engine_context,
    prepare,
    prepare_ready,
    private_copy,
    raw_connection,
    refused_errors,
    sign,
    submit,
)

pytestmark = pytest.mark.both_engines


@dataclass(frozen=True)
class History:
    ctx: Context
    team: Team
    approved_review: int
    approved_decision: int
    returned_decision: int
    submitted_review: int
    submitted_decision: int
    draft_review: int


@pytest.fixture(scope="module")
def recorded(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[History]:
    """The history, made once; each test gets its own copy of the database."""
    ctx = make_engine_context(engine, tmp_path_factory.mktemp("history"), request)
    team = add_team(ctx)
    approved_review, approved_decision = submit(ctx, team.worker, "CR-SEAL-0001")
    approve(ctx, team.manager, approved_decision)
    _, returned_decision = submit(ctx, team.worker, "CR-SEAL-0002")
    decisions.return_review(ctx, team.manager, returned_decision, overall="Not yet.")
    # Signed off with a caution explained, so the sealed report has findings rows too.
    submitted_review = prepare(
        ctx,
        team.colleague,
        caution_review("CR-SEAL-0003", rationale="Contacts were confirmed by phone."),
    )
    submitted_decision = sign(ctx, team.colleague, submitted_review)
    draft_review = prepare_ready(ctx, team.worker, "CR-SEAL-0004")
    yield History(
        ctx,
        team,
        approved_review,
        approved_decision,
        returned_decision,
        submitted_review,
        submitted_decision,
        draft_review,
    )
    forget(ctx)


@pytest.fixture
def history(recorded: History, tmp_path: Path) -> Iterator[History]:
    with private_copy(recorded.ctx, tmp_path) as ctx:
        yield dataclasses.replace(recorded, ctx=ctx)


@pytest.fixture
def raw(history: History) -> Iterator[Any]:
    """A plain connection to the database, as an insider with access to it would use."""
    with raw_connection(history.ctx) as conn:
        try:
            yield conn
        finally:
            conn.rollback()


def _intact(history: History) -> bool:
    """verify() on the file, through the storage layer (end any raw transaction first)."""
    with reading(history.ctx.db_path) as db:
        report = verify(db)
    assert report.problems == []
    return report.intact


def _table(raw: Any, table: str) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = raw.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    return rows


# The insert-only tables ----------------------------------------------------------------------

_DECISION_COLUMNS = (
    "id, review_id, case_reference, team, closure_reason, signed_by, signed_at, as_of, "
    "checks_version, sign_off_possible, exceptions, cautions, sealed, content_hash, search_text"
)
_FORGED_DECISION = (
    "SELECT id, review_id, case_reference, team, closure_reason, 'SW-N2', signed_at, as_of, "
    "checks_version, 1, 0, 0, sealed, substr('b' || content_hash, 1, 64), search_text "
    "FROM decisions"
)
_OUTCOME_COLUMNS = (
    "decision_id, outcome, decided_by, decided_at, hash_seen, reasons, sealed, outcome_hash"
)
_APPROVED_OUTCOME = (
    "SELECT decision_id, 'approved', decided_by, decided_at, hash_seen, reasons, sealed, "
    "outcome_hash FROM outcomes"
)
_EVENT_COLUMNS = "seq, at, actor, action, review_id, decision_id, detail, prev_hash, hash"
_FORGED_EVENT = (
    "SELECT seq, at, 'someone-else', action, review_id, decision_id, detail, prev_hash, hash "
    "FROM audit_events"
)

Tampering = str | dict[str, str]
"""A statement, or one per engine where only one engine has the form: SQLite's replace
(`INSERT OR REPLACE`, `REPLACE INTO`) is, on PostgreSQL, the same row inserted again (which
its key refuses, if a trigger does not first) or an upsert (which meets the UPDATE triggers).
The PostgreSQL forms name the returned decision (2) where a trigger on INSERT would refuse the
approved one (1) before its key or the upsert's UPDATE is reached."""

TAMPERING: dict[str, list[Tampering]] = {
    "decisions": [
        "UPDATE decisions SET sealed = '{}' WHERE id = 1",
        "UPDATE decisions SET signed_by = 'SW-N2' WHERE id = 1",
        "DELETE FROM decisions WHERE id = 1",
        "DELETE FROM decisions",
        {
            "sqlite": "INSERT OR REPLACE INTO decisions SELECT * FROM decisions WHERE id = 1",
            # Columns named: PostgreSQL's stored words are generated, never inserted (p010).
            "postgresql": f"INSERT INTO decisions ({_DECISION_COLUMNS}) "
            f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE id = 2",
        },
        {
            "sqlite": f"REPLACE INTO decisions ({_DECISION_COLUMNS}) {_FORGED_DECISION} "
            "WHERE id = 1",
            "postgresql": f"INSERT INTO decisions ({_DECISION_COLUMNS}) {_FORGED_DECISION} "
            "WHERE id = 2 ON CONFLICT (id) DO UPDATE SET signed_by = excluded.signed_by, "
            "content_hash = excluded.content_hash",
        },
        {
            "sqlite": "INSERT INTO decisions SELECT * FROM decisions WHERE id = 1 "
            "ON CONFLICT (id) DO UPDATE SET signed_by = 'SW-N2'",
            "postgresql": f"INSERT INTO decisions ({_DECISION_COLUMNS}) "
            f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE id = 1 "
            "ON CONFLICT (id) DO UPDATE SET signed_by = 'SW-N2'",
        },
    ],
    "outcomes": [
        "UPDATE outcomes SET outcome = 'returned' WHERE decision_id = 1",
        "UPDATE outcomes SET decided_by = 'TM-S1'",
        "DELETE FROM outcomes WHERE decision_id = 1",
        {
            "sqlite": "INSERT OR REPLACE INTO outcomes SELECT * FROM outcomes "
            "WHERE decision_id = 1",
            "postgresql": "INSERT INTO outcomes SELECT * FROM outcomes WHERE decision_id = 1",
        },
        {
            "sqlite": f"REPLACE INTO outcomes ({_OUTCOME_COLUMNS}) {_APPROVED_OUTCOME} "
            "WHERE decision_id = 2",
            "postgresql": f"INSERT INTO outcomes ({_OUTCOME_COLUMNS}) {_APPROVED_OUTCOME} "
            "WHERE decision_id = 2 ON CONFLICT (decision_id) DO UPDATE "
            "SET outcome = excluded.outcome",
        },
        "INSERT INTO outcomes SELECT * FROM outcomes WHERE decision_id = 1 "
        "ON CONFLICT (decision_id) DO UPDATE SET outcome = 'returned'",
    ],
    "audit_events": [
        "UPDATE audit_events SET actor = 'someone-else' WHERE seq = 1",
        "UPDATE audit_events SET detail = '{}'",
        "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)",
        "DELETE FROM audit_events",
        {
            "sqlite": "INSERT OR REPLACE INTO audit_events SELECT * FROM audit_events "
            "WHERE seq = 1",
            "postgresql": "INSERT INTO audit_events SELECT * FROM audit_events WHERE seq = 1",
        },
        {
            "sqlite": f"REPLACE INTO audit_events ({_EVENT_COLUMNS}) {_FORGED_EVENT} WHERE seq = 2",
            "postgresql": f"INSERT INTO audit_events ({_EVENT_COLUMNS}) {_FORGED_EVENT} "
            "WHERE seq = 2 ON CONFLICT (seq) DO UPDATE SET actor = excluded.actor",
        },
        "INSERT INTO audit_events SELECT * FROM audit_events WHERE seq = 1 "
        "ON CONFLICT (seq) DO UPDATE SET actor = 'someone-else'",
    ],
    "decision_findings": [
        "UPDATE decision_findings SET resolution = 'open'",
        "DELETE FROM decision_findings",
    ],
}


def _spelt(tampering: Tampering, engine: str) -> str:
    return tampering if isinstance(tampering, str) else tampering[engine]


@pytest.mark.parametrize(
    ("table", "statement"),
    [
        pytest.param(table, statement, id=f"{table}-{index}")
        for table, statements in TAMPERING.items()
        for index, statement in enumerate(statements)
    ],
)
def test_sealed_rows_cannot_be_updated_deleted_or_replaced(
    history: History, raw: Any, engine: str, table: str, statement: Tampering
) -> None:
    before = _table(raw, table)

    with pytest.raises(refused_errors()):
        raw.execute(_spelt(statement, engine))
    raw.commit()

    assert _table(raw, table) == before
    assert _intact(history)


def test_the_tampering_cases_touch_rows_that_exist(raw: Any) -> None:
    # Otherwise a statement could "fail to change" an empty table and prove nothing.
    for table in TAMPERING:
        assert raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
    assert raw.execute("SELECT decision_id FROM outcomes ORDER BY 1").fetchall() == [(1,), (2,)]


# The audit chain -----------------------------------------------------------------------------


def _append_event(raw: Any, *, seq: int, prev_hash: str, hash_: str) -> None:
    raw.execute(
        "INSERT INTO audit_events (seq, at, actor, action, review_id, decision_id, detail, "
        "prev_hash, hash) VALUES (?, ?, 'SW-N1', 'review_saved', NULL, NULL, '{}', ?, ?)",
        [seq, NOW.isoformat(), prev_hash, hash_],
    )


def _head(raw: Any) -> tuple[int, str]:
    seq, digest = raw.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC").fetchone()
    return int(seq), str(digest)


def test_an_audit_event_linked_to_the_wrong_hash_is_refused(history: History, raw: Any) -> None:
    seq, _ = _head(raw)

    with pytest.raises(refused_errors(), match="extend the chain"):
        _append_event(raw, seq=seq + 1, prev_hash="f" * 64, hash_="e" * 64)
    raw.commit()

    assert _head(raw)[0] == seq
    assert _intact(history)


def test_an_audit_event_that_skips_a_number_is_refused(history: History, raw: Any) -> None:
    seq, digest = _head(raw)

    with pytest.raises(refused_errors(), match="extend the chain"):
        _append_event(raw, seq=seq + 2, prev_hash=digest, hash_="e" * 64)
    raw.commit()

    assert _head(raw)[0] == seq
    assert _intact(history)


def test_an_audit_event_inserted_into_the_past_is_refused(history: History, raw: Any) -> None:
    prev = raw.execute("SELECT hash FROM audit_events WHERE seq = 2").fetchone()[0]

    with pytest.raises(refused_errors()):
        _append_event(raw, seq=3, prev_hash=prev, hash_="e" * 64)
    raw.commit()

    assert _intact(history)


def test_a_linked_event_whose_hash_does_not_match_is_caught_by_verify(
    history: History, raw: Any
) -> None:
    # The trigger cannot compute SHA-256; it checks the link, and verify checks the content.
    seq, digest = _head(raw)
    _append_event(raw, seq=seq + 1, prev_hash=digest, hash_="e" * 64)
    raw.commit()

    with reading(history.ctx.db_path) as db:
        report = verify(db)

    assert f"audit event {seq + 1}: content does not match its hash" in report.problems


# Reviews -------------------------------------------------------------------------------------


def test_a_review_cannot_be_approved_without_a_countersignature(history: History, raw: Any) -> None:
    for review_id in (history.submitted_review, history.draft_review):
        with pytest.raises(refused_errors(), match="countersignature"):
            raw.execute("UPDATE reviews SET status = 'approved' WHERE id = ?", [review_id])
    raw.commit()

    assert reviews.get_review(history.ctx, history.team.manager, history.draft_review).status == (
        "draft"
    )
    assert _intact(history)


def test_a_review_cannot_be_marked_submitted_without_a_sign_off(history: History, raw: Any) -> None:
    with pytest.raises(refused_errors(), match="sign-off"):
        raw.execute("UPDATE reviews SET status = 'submitted' WHERE id = ?", [history.draft_review])


@pytest.mark.parametrize("which", ["approved_review", "submitted_review", "draft_review"])
def test_a_review_cannot_be_deleted(history: History, raw: Any, which: str) -> None:
    review_id = getattr(history, which)

    with pytest.raises(refused_errors(), match="withdraw instead"):
        raw.execute("DELETE FROM reviews WHERE id = ?", [review_id])
    raw.commit()

    assert raw.execute("SELECT count(*) FROM reviews WHERE id = ?", [review_id]).fetchone() == (1,)


def test_the_content_of_a_submitted_review_cannot_be_edited(history: History, raw: Any) -> None:
    before = raw.execute(
        "SELECT content FROM reviews WHERE id = ?", [history.submitted_review]
    ).fetchone()

    with pytest.raises(refused_errors(), match="submitted review cannot be edited"):
        raw.execute(
            "UPDATE reviews SET content = replace(content, 'boxing', 'football') WHERE id = ?",
            [history.submitted_review],
        )
    raw.commit()

    after = raw.execute(
        "SELECT content FROM reviews WHERE id = ?", [history.submitted_review]
    ).fetchone()
    assert after == before


@pytest.mark.parametrize(
    "change",
    ["status = 'draft'", "content = '{}'", "worker_id = 'SW-N2'", "version = version + 1"],
)
def test_an_approved_review_cannot_change_at_all(history: History, raw: Any, change: str) -> None:
    with pytest.raises(refused_errors(), match="cannot change"):
        raw.execute(f"UPDATE reviews SET {change} WHERE id = ?", [history.approved_review])


# Outcomes and decisions written around the service -------------------------------------------


def _outcome(raw: Any, decision_id: int, *, by: str, hash_seen: str | None = None) -> None:
    if hash_seen is None:
        hash_seen = raw.execute(
            "SELECT content_hash FROM decisions WHERE id = ?", [decision_id]
        ).fetchone()[0]
    raw.execute(
        "INSERT INTO outcomes (decision_id, outcome, decided_by, decided_at, hash_seen, reasons, "
        "sealed, outcome_hash) VALUES (?, 'approved', ?, ?, ?, '{}', '{}', ?)",
        [decision_id, by, NOW.isoformat(), hash_seen, "c" * 64],
    )


def test_an_approval_by_someone_other_than_a_manager_of_the_team_is_refused(
    history: History, raw: Any
) -> None:
    for who in ("SW-N1", "TM-S1", "AU-1"):
        with pytest.raises(refused_errors(), match="manager of the team"):
            _outcome(raw, history.submitted_decision, by=who)


def test_an_approval_of_content_other_than_the_sealed_is_refused(
    history: History, raw: Any
) -> None:
    with pytest.raises(refused_errors(), match="not what was sealed"):
        _outcome(raw, history.submitted_decision, by="TM-N1", hash_seen="d" * 64)


def test_an_approval_by_the_signer_is_refused(history: History, raw: Any) -> None:
    # The signer is made an active manager of the team first, so only the signer rule applies.
    raw.execute("UPDATE staff SET role = 'team_manager' WHERE id = 'SW-N2'")
    with pytest.raises(refused_errors(), match="signed off cannot countersign"):
        _outcome(raw, history.submitted_decision, by="SW-N2")


def test_a_second_sign_off_of_a_submitted_review_is_refused(history: History, raw: Any) -> None:
    with pytest.raises(refused_errors(), match="draft or returned"):
        raw.execute(
            "INSERT INTO decisions (review_id, case_reference, team, closure_reason, signed_by, "
            "signed_at, as_of, checks_version, sign_off_possible, exceptions, cautions, sealed, "
            "content_hash, search_text) SELECT review_id, case_reference, team, closure_reason, "
            "signed_by, signed_at, as_of, checks_version, 1, 0, 0, sealed, ?, '' "
            "FROM decisions WHERE id = ?",
            ["a" * 64, history.submitted_decision],
        )


def test_a_sign_off_the_checks_did_not_allow_is_refused(history: History, raw: Any) -> None:
    with pytest.raises(refused_errors()):
        raw.execute(
            "INSERT INTO decisions (review_id, case_reference, team, closure_reason, signed_by, "
            "signed_at, as_of, checks_version, sign_off_possible, exceptions, cautions, sealed, "
            "content_hash, search_text) VALUES (?, 'CR-SEAL-0004', 'North', 'RC7', 'SW-N1', "
            "'2025-05-30', '2025-05-30', '1', 0, 0, 0, '{}', ?, '')",
            [history.draft_review, "a" * 64],
        )


def test_the_store_is_intact_after_every_refused_attempt(
    history: History, raw: Any, engine: str
) -> None:
    attempts = [
        _spelt(statement, engine) for statements in TAMPERING.values() for statement in statements
    ]
    attempts += [
        f"UPDATE reviews SET status = 'approved' WHERE id = {history.submitted_review}",
        f"DELETE FROM reviews WHERE id = {history.draft_review}",
        f"UPDATE reviews SET content = '{{}}' WHERE id = {history.submitted_review}",
    ]
    for statement in attempts:
        with pytest.raises(refused_errors()):
            raw.execute(statement)
    raw.commit()

    assert _intact(history)
    approved = decisions.get_decision(history.ctx, history.team.auditor, history.approved_decision)
    assert approved.outcome == "approved"
    assert approved.decided_by == history.team.manager.staff_id
