"""SQL in free text is just text: stored literally, read back identical, and nothing dropped.

Every use case that takes text is given strings shaped like SQL injection. Each must come back
exactly as typed, and the schema and rows around it must be untouched. The auditor's search
and filters are tried on both engines (issue 12, item 10).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.core.review import Review
from closure_readiness.service import auditing, decisions, reviews, staff
from closure_readiness.service.context import SYSTEM, Context, InvalidInput, NotAllowed, Role
from closure_readiness.storage import audit
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import verify
from closure_readiness.storage.queries import DecisionQuery
from workflow_fixtures import (
    ISSUER,
    Team,
    approve,
    finding_key,
    prepare,
    raw_connection,
    ready_document,
    sign,
    submit,
    unnotified_review,
)

PAYLOADS = [
    "'; DROP TABLE decisions; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM staff;--",
    "1; UPDATE reviews SET status = 'approved' WHERE 1 = 1; --",
    "' UNION SELECT hash, seq FROM audit_events --",
    "x' || (SELECT group_concat(id) FROM staff) || '",
    '"); DROP TABLE audit_events; --',
    'NEAR("a" "b") OR * ^"c" AND -d: {e}',
    "100% _done_ \\ ? :name $1 @p",
    "'; ATTACH DATABASE '/tmp/x.db' AS x; --",
]
IDS = [f"payload{index}" for index in range(len(PAYLOADS))]

TABLES = (
    "staff",
    "reviews",
    "review_versions",
    "evidence",
    "decisions",
    "decision_findings",
    "outcomes",
    "exception_requests",
    "audit_events",
)


@dataclass(frozen=True)
class Shape:
    """What must survive: every schema object, and how many rows each table has."""

    schema: list[tuple[Any, ...]]
    counts: dict[str, int]


SCHEMA_POSTGRES = """
SELECT 'table', c.relname, c.relkind::text FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v')
UNION ALL SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
UNION ALL SELECT 'trigger', t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal
UNION ALL SELECT 'function', p.proname, p.prosrc FROM pg_proc p
WHERE p.pronamespace = current_schema()::regnamespace
ORDER BY 1, 2
"""
"""PostgreSQL's schema objects, as SQLite's `sqlite_master` lists its own."""


def _shape(ctx: Context) -> Shape:
    sqlite = isinstance(ctx.db_path, Path)
    with raw_connection(ctx) as conn:
        listing = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        schema = [tuple(row) for row in conn.execute(listing if sqlite else SCHEMA_POSTGRES)]
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    return Shape(schema, counts)


@pytest.fixture
def intact(ctx: Context, team: Team) -> Iterator[Shape]:
    """After the test: the schema is the same, no table lost rows, and verify passes."""
    before = _shape(ctx)
    yield before
    after = _shape(ctx)
    assert after.schema == before.schema
    assert all(after.counts[table] >= before.counts[table] for table in TABLES)
    with reading(ctx.db_path) as db:
        assert verify(db).problems == []


def _review_with(
    payload: str, reference: str = "CR-2025-0412", *, worker: str = "SW-N1", team: str = "North"
) -> Review:
    """The ready review with the payload in every free-text field a caseworker fills in.

    The case carries the worker and team the service stamps on it, so it compares equal to
    what is stored.
    """
    document = ready_document()
    document["case"]["case_reference"] = reference
    document["case"]["allocated_worker"] = worker
    document["case"]["team"] = team
    document["evidence"][0]["shows"] = payload
    document["evidence"][0]["record_ref"] = payload
    document["incidents"][0]["summary"] = payload
    document["answers"]["change"]["notes"] = payload
    document["answers"]["exit"]["contacts_given"] = False
    document["answers"]["exit"]["young_person_view"] = payload
    document["rationales"] = {"exit.W002": payload}
    return Review.model_validate(document)


# Staff ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_staff_names_teams_and_subjects_are_stored_literally(
    ctx: Context, intact: Shape, payload: str
) -> None:
    added = staff.add_staff(
        ctx,
        SYSTEM,
        staff_id="SW-X1",
        issuer=payload,
        subject=payload,
        display_name=payload,
        role=Role.CASEWORKER,
        team=payload,
    )

    stored = next(m for m in staff.list_staff(ctx, SYSTEM) if m.staff_id == "SW-X1")
    assert stored == added
    assert (stored.issuer, stored.subject, stored.display_name, stored.team) == (payload,) * 4
    assert len(staff.list_staff(ctx, SYSTEM)) == intact.counts["staff"] + 1
    principal = staff.identify(ctx, issuer=payload, subject=payload)
    assert principal.display_name == payload
    assert principal.team == payload


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_a_team_named_like_sql_keeps_its_reviews_to_itself(
    ctx: Context, team: Team, intact: Shape, payload: str
) -> None:
    member = staff.add_staff(
        ctx,
        SYSTEM,
        staff_id="SW-X1",
        issuer=ISSUER,
        subject="subject-sw-x1",
        display_name="Caseworker in an oddly named team",
        role=Role.CASEWORKER,
        team="Temporary",
    )
    moved = staff.update_staff(ctx, SYSTEM, member.staff_id, team=payload).principal()
    assert moved.team == payload
    north = prepare(ctx, team.worker, _review_with("North's own evidence.", "CR-NORTH-0001"))

    own = prepare(ctx, moved, _review_with(payload, "CR-ODD-0001"))

    assert [r.id for r in reviews.list_reviews(ctx, moved, mine=False)] == [own]
    assert reviews.get_review(ctx, moved, own).team == payload
    assert [r.id for r in reviews.list_reviews(ctx, team.manager, mine=False)] == [north]


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_identify_with_sql_in_the_identity_finds_nobody(
    ctx: Context, team: Team, intact: Shape, payload: str
) -> None:
    with pytest.raises(NotAllowed):
        staff.identify(ctx, issuer=ISSUER, subject=payload)
    with pytest.raises(NotAllowed):
        staff.identify(ctx, issuer=payload, subject="subject-sw-n1")


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_sql_is_refused_where_an_id_or_case_reference_is_expected(
    ctx: Context, team: Team, intact: Shape, payload: str
) -> None:
    with pytest.raises(InvalidInput):
        staff.add_staff(
            ctx,
            SYSTEM,
            staff_id=payload,
            issuer=ISSUER,
            subject="subject-new",
            display_name="New",
            role=Role.CASEWORKER,
            team="North",
        )
    case = ready_document()["case"]
    case["case_reference"] = payload
    with pytest.raises(InvalidInput):
        reviews.start_review(ctx, team.worker, case)
    with pytest.raises(InvalidInput):
        staff.add_staff(
            ctx,
            SYSTEM,
            staff_id="SW-X2",
            issuer=ISSUER,
            subject="subject-x2",
            display_name="New",
            role=payload,
            team="North",
        )


# Review content ------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_evidence_answers_and_rationales_are_stored_literally(
    ctx: Context, team: Team, intact: Shape, payload: str
) -> None:
    review_id = prepare(ctx, team.worker, _review_with(payload))

    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.review == _review_with(payload)
    assert record.review.evidence[0].shows == payload
    assert record.review.evidence[0].record_ref == payload
    assert record.review.answers.change.notes == payload
    assert record.review.rationales == {"exit.W002": payload}
    conn = sqlite3.connect(ctx.db_path)
    try:
        row = conn.execute(
            "SELECT shows, record_ref FROM evidence WHERE review_id = ? AND evidence_id = 'E1'",
            [review_id],
        ).fetchone()
    finally:
        conn.close()
    assert row == (payload, payload)


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_sealed_text_reads_back_identical_and_is_found_by_search(
    ctx: Context, team: Team, intact: Shape, payload: str
) -> None:
    review_id = prepare(ctx, team.worker, _review_with(payload))
    decision_id = sign(ctx, team.worker, review_id)
    approve(ctx, team.manager, decision_id)

    sealed = decisions.get_decision(ctx, team.auditor, decision_id)
    assert sealed.review == _review_with(payload)
    rationale = next(f for f in sealed.report.findings() if f.check_id == "exit.W002")
    assert rationale.resolution_text == payload
    assert reviews.list_reviews(ctx, team.worker)[0].status == "approved"


@pytest.mark.both_engines
@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_auditor_search_and_filters_take_sql_as_words(
    ctx: Context, team: Team, intact: Shape, payload: str
) -> None:
    review_id = prepare(ctx, team.worker, _review_with(payload + " zanzibar"))
    decision_id = sign(ctx, team.worker, review_id)

    found = auditing.list_decisions(ctx, team.auditor, DecisionQuery(text="zanzibar"))
    searched = auditing.list_decisions(ctx, team.auditor, DecisionQuery(text=payload))
    filtered = auditing.list_decisions(
        ctx,
        team.auditor,
        DecisionQuery(team=payload, closure_reason=payload, signed_from=payload),
    )

    assert [row["id"] for row in found.rows] == [decision_id]
    assert [row["id"] for row in searched.rows] == [decision_id]
    assert filtered.rows == []
    assert filtered.total == 0


# Workflow reasons ----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_exception_reasons_are_stored_literally(
    ctx: Context, team: Team, intact: Shape, payload: str
) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    request_id = reviews.request_exception(
        ctx, team.worker, review_id, finding_key=key, reason=payload
    )
    decisions.decide_exception(ctx, team.manager, request_id, grant=True, reason=payload + "!")

    record = reviews.get_review(ctx, team.worker, review_id)
    (request,) = record.exception_requests
    assert request.worker_reason == payload
    assert request.manager_reason == payload + "!"
    assert [e.reason for e in record.review.exceptions] == [payload + "!"]


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_return_reasons_are_stored_literally(
    ctx: Context, team: Team, intact: Shape, payload: str
) -> None:
    review_id, decision_id = submit(ctx, team.worker)

    decisions.return_review(
        ctx,
        team.manager,
        decision_id,
        overall=payload,
        findings={payload: payload + " (finding)"},
        themes={"support": payload + " (theme)"},
    )

    note = reviews.get_review(ctx, team.worker, review_id).last_return
    assert note is not None
    assert note.overall == payload
    assert note.findings == {payload: payload + " (finding)"}
    assert note.themes == {"support": payload + " (theme)"}
    assert decisions.get_decision(ctx, team.manager, decision_id).reasons["overall"] == payload


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_a_withdrawal_reason_is_stored_literally(
    ctx: Context, team: Team, intact: Shape, payload: str
) -> None:
    review_id, decision_id = submit(ctx, team.worker)

    reviews.withdraw(ctx, team.worker, review_id, reason=payload)

    assert decisions.get_decision(ctx, team.manager, decision_id).reasons == {"overall": payload}
    with reading(ctx.db_path) as db:
        events = audit.events_for(db, review_id=review_id)
    withdrawn = [event for event in events if event.action == "review_withdrawn"]
    assert [event.detail for event in withdrawn] == [{"reason": payload}]
