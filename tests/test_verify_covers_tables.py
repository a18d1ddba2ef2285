"""`verify` covers every table a reader relies on: an edit made behind the app's back, with the
protective triggers dropped and put back, is reported in words naming what changed.

The store is built through the service (exceptions granted and declined, a caution explained,
a return with reasons, a withdrawal, a member of staff moved). Each test edits its own copy
with raw SQL, as an insider with the database file could, on SQLite and on PostgreSQL (where
the insider is the database's owner: tamper_support).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from closure_readiness.core.canonical import content_hash
from closure_readiness.core.location import PostgresURL
from closure_readiness.core.location import Store as Location
from closure_readiness.core.seal import SealedDecisionDoc, SealedOutcomeDoc, seal_hash
from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import SYSTEM, Context
from closure_readiness.storage import integrity, versions
from closure_readiness.storage.database import read_only, reading, writing
from closure_readiness.storage.integrity import IntegrityReport, verify
from closure_readiness.storage.schema_postgres import STORED_WORDS
from tamper_support import (
    copy_store,
    drop_trigger,
    raw,
    table_columns,
    tampering,
    trigger_names,
)
from workflow_fixtures import (
    NOW,
    Clock,
    Team,
    approve,
    caution_review,
    clock_of,
    finding_key,
    grant,
    prepare,
    prepare_ready,
    sign,
    unnotified_review,
)

pytestmark = pytest.mark.both_engines


@dataclass(frozen=True)
class Store:
    path: Location
    team: Team
    approved: int
    """Decision with a granted exception, countersigned."""
    returned: int
    """Decision with an explained caution, returned with reasons."""
    resigned: int
    """The returned review signed off again: waiting for the manager."""
    approved_review: int
    """Saved, then given a manager's exception (a version written by the manager)."""
    waiting_review: int
    """A draft with evidence, waiting for an exception to be decided."""
    withdrawn_review: int
    declined_request: int
    pending_request: int


@pytest.fixture(scope="module")
def store(staffed: tuple[Context, Team], tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Built once per engine, on a copy of the staffed database."""
    from workflow_fixtures import copy_context

    ctx = copy_context(staffed[0], tmp_path_factory.mktemp("covers"))
    team = staffed[1]
    clock = clock_of(ctx)
    worker, manager = team.worker, team.manager

    approved_review = prepare(ctx, worker, unnotified_review("CR-V-0001"))
    grant(ctx, worker, manager, approved_review, "exit.E003")
    approved = sign(ctx, worker, approved_review)
    clock.advance(minutes=5)
    # What verify covers, not who may countersign: the manager who granted the exception
    # countersigns here, with separation of duties turned off (tests/test_access_rules.py).
    approve(dataclasses.replace(ctx, separate_exception_and_countersign=False), manager, approved)

    returned_review = prepare(
        ctx, team.colleague, caution_review("CR-V-0002", rationale="Declined by the family.")
    )
    returned = sign(ctx, team.colleague, returned_review)
    decisions.return_review(
        ctx,
        manager,
        returned,
        overall="Confirm the youth work start date.",
        findings={finding_key_of(ctx, returned): "Say who the contacts are."},
    )
    clock.advance(minutes=5)
    resigned = sign(ctx, team.colleague, returned_review)

    waiting_review = prepare(ctx, worker, unnotified_review("CR-V-0003"))
    key = finding_key(ctx, worker, waiting_review, "exit.E003")
    declined_request = reviews.request_exception(
        ctx, worker, waiting_review, finding_key=key, reason="The school knows already."
    )
    decisions.decide_exception(
        ctx, manager, declined_request, grant=False, reason="Tell the school in writing."
    )
    pending_request = reviews.request_exception(
        ctx, worker, waiting_review, finding_key=key, reason="The school was told by phone."
    )

    withdrawn_review = prepare_ready(ctx, worker, "CR-V-0004")
    reviews.withdraw(ctx, worker, withdrawn_review, reason="The family moved out of the area.")

    staff.update_staff(ctx, SYSTEM, team.south_worker.staff_id, team="South East")
    return Store(
        path=ctx.db_path,
        team=team,
        approved=approved,
        returned=returned,
        resigned=resigned,
        approved_review=approved_review,
        waiting_review=waiting_review,
        withdrawn_review=withdrawn_review,
        declined_request=declined_request,
        pending_request=pending_request,
    )


def finding_key_of(ctx: object, decision_id: int) -> str:
    """The key of the first finding of a sealed decision (a caution with its rationale)."""
    with reading(ctx.db_path) as db:  # type: ignore[attr-defined]
        row = db.execute(
            "SELECT finding_key FROM decision_findings WHERE decision_id = ? ORDER BY finding_key",
            [decision_id],
        ).fetchone()
    return str(row[0])


@pytest.fixture
def copy(store: Store, tmp_path: Path) -> Location:
    """This test's own copy of the store (`tampering` turns every trigger off for an edit,
    then on again: only the edit itself is left for `verify` to find)."""
    return copy_store(store.path, tmp_path)


def verified(path: Location) -> IntegrityReport:
    with reading(path) as db:
        return verify(db)


def problems_about(path: Location, *words: str) -> list[str]:
    """The problems verify reports that mention every one of `words`."""
    report = verified(path)
    assert not report.intact
    found = [p for p in report.problems if all(w in p for w in words)]
    assert found, report.problems
    return found


def test_the_untouched_store_verifies_intact(copy: Location) -> None:
    report = verified(copy)
    assert report.problems == []
    assert report.decisions_checked == 3
    assert report.outcomes_checked == 2


# decisions ----------------------------------------------------------------------------------


def test_exceptions_zeroed_on_a_decision(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute("UPDATE decisions SET exceptions = 0 WHERE id = ?", [store.approved])
    assert problems_about(copy, f"decision {store.approved}:", "number of exceptions")


def test_cautions_zeroed_on_a_decision(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute("UPDATE decisions SET cautions = 0 WHERE id = ?", [store.resigned])
    assert problems_about(copy, f"decision {store.resigned}:", "number of cautions")


def test_search_text_blanked_on_a_decision(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute("UPDATE decisions SET search_text = '' WHERE id = ?", [store.approved])
    assert problems_about(copy, f"decision {store.approved}:", "search text")


# outcomes -----------------------------------------------------------------------------------


def test_return_reasons_rewritten(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE outcomes SET reasons = ? WHERE decision_id = ?",
            [json.dumps({"overall": "Looks fine."}), store.returned],
        )
    assert problems_about(copy, f"decision {store.returned} outcome:", "reasons")


def test_the_countersigner_name_is_sealed_with_the_outcome(copy: Location, store: Store) -> None:
    """The name printed in the record as who countersigned is sealed; renaming the member of
    staff behind the app's back is reported, and the record keeps the sealed name."""
    manager = store.team.manager
    with reading(copy) as db:
        sealed = db.execute(
            "SELECT sealed FROM outcomes WHERE decision_id = ?", [store.approved]
        ).fetchone()[0]
    assert SealedOutcomeDoc.model_validate_json(sealed).decided_by_name == manager.display_name
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE staff SET display_name = 'Someone else' WHERE id = ?", [manager.staff_id]
        )
    assert problems_about(copy, f"member of staff {manager.staff_id}:", "name")


# decision_findings ---------------------------------------------------------------------------


def test_a_finding_resolution_rewritten(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE decision_findings SET resolution = 'open' WHERE decision_id = ? "
            "AND resolution = 'exception'",
            [store.approved],
        )
    assert problems_about(copy, f"decision {store.approved}:", "learning figures")


def test_a_finding_deleted_and_one_invented(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute("DELETE FROM decision_findings WHERE decision_id = ?", [store.resigned])
        conn.execute(
            "INSERT INTO decision_findings VALUES (?, 'exit.E003:000000000000', 'exit.E003', "
            "'blocker', 'exception', 'TM-N1')",
            [store.approved],
        )
    assert problems_about(copy, f"decision {store.resigned}:", "learning figures")
    assert problems_about(copy, f"decision {store.approved}:", "learning figures")


# reviews ------------------------------------------------------------------------------------


def test_a_withdrawn_review_set_back_to_draft(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute("UPDATE reviews SET status = 'draft' WHERE id = ?", [store.withdrawn_review])
    assert problems_about(copy, f"review {store.withdrawn_review}:", "status")


def test_a_review_moved_to_another_worker(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE reviews SET worker_id = ? WHERE id = ?",
            [store.team.colleague.staff_id, store.approved_review],
        )
    assert problems_about(copy, f"review {store.approved_review}:", "worker")


# the working review: its content, its history and its evidence register ------------------------


def _content(path: Location, review_id: int, version: int | None = None) -> str:
    with reading(path) as db:
        if version is None:
            row = db.execute("SELECT content FROM reviews WHERE id = ?", [review_id])
        else:  # a saved version may be kept as a delta: its whole content rebuilt (item 12.5)
            return json.dumps(versions.document_at(db, review_id, version))
        return str(row.fetchone()[0])


def _latest(path: Location, review_id: int) -> int:
    with reading(path) as db:
        return int(
            db.execute("SELECT version FROM reviews WHERE id = ?", [review_id]).fetchone()[0]
        )


def _edited(content: str) -> str:
    """The review's content with one answer's notes rewritten (valid, but not what was saved)."""
    document = json.loads(content)
    document["answers"]["change"]["notes"] = "Rewritten behind the app's back."
    return json.dumps(document)


def test_a_drafts_content_edited_leaving_its_hash(copy: Location, store: Store) -> None:
    edited = _edited(_content(copy, store.waiting_review))
    with tampering(copy) as conn:
        conn.execute("UPDATE reviews SET content = ? WHERE id = ?", [edited, store.waiting_review])
    assert problems_about(copy, f"review {store.waiting_review}:", "does not match its hash")


def test_a_drafts_content_edited_and_its_hash_worked_out_again(
    copy: Location, store: Store
) -> None:
    edited = _edited(_content(copy, store.waiting_review))
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE reviews SET content = ?, content_hash = ? WHERE id = ?",
            [edited, content_hash(json.loads(edited)), store.waiting_review],
        )
    assert problems_about(copy, f"review {store.waiting_review}:", "latest saved version")


def test_a_drafts_content_and_its_latest_version_both_rewritten(
    copy: Location, store: Store
) -> None:
    """Rewritten consistently in both tables, hashes and all: the audit trail recorded the hash
    of the version as saved."""
    review_id = store.waiting_review
    version = _latest(copy, review_id)
    edited = _edited(_content(copy, review_id))
    digest = content_hash(json.loads(edited))
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE reviews SET content = ?, content_hash = ? WHERE id = ?",
            [edited, digest, review_id],
        )
        conn.execute(
            "UPDATE review_versions SET content = ?, content_hash = ? "
            "WHERE review_id = ? AND version = ?",
            [edited, digest, review_id, version],
        )
    assert problems_about(copy, f"review {review_id}:", f"version {version}", "audit trail")


@pytest.mark.parametrize("rehash", [False, True], ids=["hash-left", "hash-worked-out-again"])
def test_an_earlier_version_rewritten(copy: Location, store: Store, rehash: bool) -> None:
    review_id = store.approved_review
    edited = _edited(_content(copy, review_id, 2))
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE review_versions SET content = ?"
            + (", content_hash = ?" if rehash else "")
            + " WHERE review_id = ? AND version = 2",
            [edited, *([content_hash(json.loads(edited))] if rehash else []), review_id],
        )
    words = "audit trail" if rehash else "does not match its hash"
    assert problems_about(copy, f"review {review_id}:", "version 2", words)


def test_who_saved_a_version_rewritten(copy: Location, store: Store) -> None:
    review_id = store.approved_review
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE review_versions SET saved_by = ? WHERE review_id = ? AND version = 1",
            [store.team.colleague.staff_id, review_id],
        )
    assert problems_about(copy, f"review {review_id}:", "person who saved version 1")


def test_a_version_deleted_from_the_history(copy: Location, store: Store) -> None:
    review_id = store.approved_review
    with tampering(copy) as conn:
        conn.execute("DELETE FROM review_versions WHERE review_id = ? AND version = 2", [review_id])
    assert problems_about(copy, f"review {review_id}:", "version 2", "missing")


def test_the_latest_version_deleted_and_the_review_set_back(copy: Location, store: Store) -> None:
    """The last save undone in both tables: the audit trail still records it."""
    review_id = store.waiting_review
    version = _latest(copy, review_id)
    earlier = _content(copy, review_id, version - 1)
    with tampering(copy) as conn:
        conn.execute(
            "DELETE FROM review_versions WHERE review_id = ? AND version = ?", [review_id, version]
        )
        conn.execute(
            "UPDATE reviews SET content = ?, content_hash = ?, version = ? WHERE id = ?",
            [earlier, content_hash(json.loads(earlier)), version - 1, review_id],
        )
    assert problems_about(copy, f"review {review_id}:", f"version {version}", "missing")


def test_the_version_number_of_a_review_changed(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE reviews SET version = version + 1 WHERE id = ?", [store.waiting_review]
        )
    assert problems_about(copy, f"review {store.waiting_review}:", "version number")


def test_the_proposed_closure_date_of_a_review_changed(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE reviews SET proposed_closure_on = '2030-01-01' WHERE id = ?",
            [store.waiting_review],
        )
    assert problems_about(copy, f"review {store.waiting_review}:", "proposed closure date")


def test_the_time_a_review_was_started_changed(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE reviews SET created_at = '2024-01-01T09:00:00+00:00' WHERE id = ?",
            [store.waiting_review],
        )
    assert problems_about(copy, f"review {store.waiting_review}:", "time it was started")


def test_a_version_for_a_review_that_does_not_exist(copy: Location, store: Store) -> None:
    content = _content(copy, store.waiting_review)
    with tampering(copy) as conn:
        conn.execute(
            "INSERT INTO review_versions VALUES (999, 1, ?, ?, ?, '2025-05-30T09:00:00+00:00')",
            [content, content_hash(json.loads(content)), store.team.worker.staff_id],
        )
    assert problems_about(copy, "review 999:", "does not exist")


def _evidence(path: Location, review_id: int) -> list[dict[str, object]]:
    with reading(path) as db:
        return list(
            db.query("SELECT * FROM evidence WHERE review_id = ? ORDER BY evidence_id", [review_id])
        )


def test_an_evidence_item_rewritten(copy: Location, store: Store) -> None:
    item = _evidence(copy, store.waiting_review)[0]
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE evidence SET shows = 'Nothing of concern.' WHERE review_id = ? "
            "AND evidence_id = ?",
            [store.waiting_review, item["evidence_id"]],
        )
    assert problems_about(
        copy, f"review {store.waiting_review}:", f"evidence item {item['evidence_id']}"
    )


def test_an_evidence_item_deleted(copy: Location, store: Store) -> None:
    item = _evidence(copy, store.approved_review)[-1]
    with tampering(copy) as conn:
        conn.execute(
            "DELETE FROM evidence WHERE review_id = ? AND evidence_id = ?",
            [store.approved_review, item["evidence_id"]],
        )
    assert problems_about(
        copy, f"review {store.approved_review}:", f"evidence item {item['evidence_id']}", "missing"
    )


def test_an_evidence_item_added(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        for review_id in (store.waiting_review, 999):
            conn.execute(
                "INSERT INTO evidence VALUES (?, 'E99', 'police', 'record_check', '2025-05-01', "
                "'supports', 'No call-outs since March.', '')",
                [review_id],
            )
    assert problems_about(copy, f"review {store.waiting_review}:", "evidence item E99")
    assert problems_about(copy, "review 999:", "does not exist")


def test_a_managers_exception_is_a_version_the_audit_trail_records(
    copy: Location, store: Store
) -> None:
    """Granting an exception writes a version of the review by the manager; the grant's audit
    event records its version and hash, so the history verifies intact."""
    review_id = store.approved_review
    with reading(copy) as db:
        versions = list(
            db.query(
                "SELECT version, content_hash, saved_by FROM review_versions "
                "WHERE review_id = ? ORDER BY version",
                [review_id],
            )
        )
        granted = db.execute(
            "SELECT actor, detail FROM audit_events WHERE review_id = ? "
            "AND action = 'exception_granted'",
            [review_id],
        ).fetchone()
    by_manager = [v for v in versions if v["saved_by"] == store.team.manager.staff_id]
    assert len(by_manager) == 1
    detail = json.loads(granted[1])
    assert detail["version"] == by_manager[0]["version"]
    assert detail["content_hash"] == by_manager[0]["content_hash"]
    assert verified(copy).problems == []


def test_a_start_records_the_first_versions_hash(copy: Location, store: Store) -> None:
    with reading(copy) as db:
        detail, digest = db.execute(
            "SELECT e.detail, v.content_hash FROM audit_events e JOIN review_versions v "
            "ON v.review_id = e.review_id AND v.version = 1 "
            "WHERE e.review_id = ? AND e.action = 'review_started'",
            [store.waiting_review],
        ).fetchone()
    assert json.loads(detail)["version"] == 1
    assert json.loads(detail)["content_hash"] == digest


def _saved_by_checks_1(path: Location, store: Store) -> int:
    """A draft as checks 1.0.0 stored it (schema version 1 content, a start event without the
    hash, a save), then upgraded in place by migration m005; returns its id."""
    from closure_readiness.core.seal import evidence_register
    from closure_readiness.storage import audit, repositories
    from closure_readiness.storage.schema import m005_reviews_schema_version_2
    from test_migrate_schema_2 import _version_1_content

    document = json.loads(_version_1_content())
    document["case"]["case_reference"] = "CR-V-0005"
    saved = json.dumps(document)
    started = json.loads(saved)
    started["evidence"], started["incidents"] = [], []
    first = json.dumps(started)
    worker = store.team.worker.staff_id
    at = dt.datetime(2025, 5, 20, 9, tzinfo=dt.UTC)

    def write(db: Any) -> int:
        review_id = repositories.insert_review(
            db,
            {
                "case_reference": "CR-V-0005",
                "team": store.team.worker.team,
                "worker_id": worker,
                "content": first,
                "content_hash": content_hash(started),
                "proposed_closure_on": started["case"]["proposed_closure_on"],
                "re_referral_of": None,
                "created_at": at.isoformat(),
            },
        )
        for version, text in ((1, first), (2, saved)):
            repositories.insert_review_version(
                db,
                {
                    "review_id": review_id,
                    "version": version,
                    "content": text,
                    "content_hash": content_hash(json.loads(text)),
                    "saved_by": worker,
                    "saved_at": at.isoformat(),
                },
            )
        repositories.update_review_content(
            db,
            review_id,
            expected_version=1,
            content=saved,
            content_hash=content_hash(json.loads(saved)),
            proposed_closure_on=started["case"]["proposed_closure_on"],
            case_reference="CR-V-0005",
            at=at.isoformat(),
        )
        repositories.replace_evidence(db, review_id, evidence_register(json.loads(saved)))
        audit.append(
            db,
            at=at,
            actor=worker,
            action="review_started",
            review_id=review_id,
            detail={
                "case_reference": "CR-V-0005",
                "re_referral_of": None,
                "team": store.team.worker.team,
            },
        )
        audit.append(
            db,
            at=at,
            actor=worker,
            action="review_saved",
            review_id=review_id,
            detail={"version": 2, "content_hash": content_hash(json.loads(saved))},
        )
        m005_reviews_schema_version_2(db)
        return int(review_id)

    if isinstance(path, PostgresURL):  # rows as they would come over from SQLite
        with writing(path) as pg:
            return write(pg)
    db = Database(sqlite3.connect(path))
    try:
        with db.conn:
            return write(db)
    finally:
        db.close()


def test_a_draft_upgraded_in_place_by_migration_m005_verifies_intact(
    copy: Location, store: Store
) -> None:
    """m005 upgraded the content of open reviews without a new version: the upgrade of the
    latest version's content is accepted, and nothing else."""
    review_id = _saved_by_checks_1(copy, store)
    upgraded = _content(copy, review_id)
    assert upgraded != _content(copy, review_id, 2)
    assert json.loads(upgraded)["schema_version"] == 2
    assert verified(copy).problems == []

    edited = _edited(upgraded)
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE reviews SET content = ?, content_hash = ? WHERE id = ?",
            [edited, content_hash(json.loads(edited)), review_id],
        )
    assert problems_about(copy, f"review {review_id}:", "latest saved version")


# exception_requests -------------------------------------------------------------------------


def test_a_declined_exception_request_rewritten_as_granted(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE exception_requests SET status = 'granted', manager_reason = 'Agreed.' "
            "WHERE id = ?",
            [store.declined_request],
        )
    found = problems_about(copy, f"exception request {store.declined_request}:")
    assert any("status" in p for p in found)
    assert any("manager's reason" in p for p in found)


def test_a_worker_reason_rewritten(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "UPDATE exception_requests SET worker_reason = 'No reason.' WHERE id = ?",
            [store.pending_request],
        )
    assert problems_about(copy, f"exception request {store.pending_request}:", "worker's reason")


# staff --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [("role", "team_manager", "role"), ("team", "South", "team"), ("active", 0, "active")],
)
def test_a_member_of_staff_changed(
    copy: Location, store: Store, column: str, value: object, words: str
) -> None:
    who = store.team.south_worker.staff_id  # moved once through the service: South East
    with tampering(copy) as conn:
        conn.execute(f"UPDATE staff SET {column} = ? WHERE id = ?", [value, who])
    assert problems_about(copy, f"member of staff {who}:", words)


def test_a_member_of_staff_added_behind_the_apps_back(copy: Location) -> None:
    with tampering(copy) as conn:
        conn.execute(
            "INSERT INTO staff (id, issuer, subject, display_name, role, team, active, "
            "created_at) VALUES ('TM-X1', 'https://sign-in.test.invalid', 'x', 'Extra', "
            "'team_manager', 'North', 1, '2025-05-30T09:00:00+00:00')"
        )
    assert problems_about(copy, "member of staff TM-X1:", "audit trail")


# the search index ---------------------------------------------------------------------------


def test_a_decision_removed_from_the_search_index(copy: Location, store: Store) -> None:
    """SQLite: the decision's words deleted from the FTS5 index. PostgreSQL keeps its index
    itself (an index on an expression of the decision's columns): the insider's way round it
    is to drop the index, which the schema check names."""
    if isinstance(copy, PostgresURL):
        with raw(copy) as conn:
            conn.execute("DROP INDEX decisions_search_words")
        assert problems_about(copy, "index decisions_search_words: missing")
        return
    with tampering(copy) as conn:
        row = conn.execute(
            "SELECT case_reference, search_text FROM decisions WHERE id = ?", [store.approved]
        ).fetchone()
        conn.execute(
            "INSERT INTO decisions_fts (decisions_fts, rowid, case_reference, search_text) "
            "VALUES ('delete', ?, ?, ?)",
            [store.approved, *row],
        )
    assert problems_about(copy, "search index")


# triggers and the schema --------------------------------------------------------------------


def test_every_protective_trigger_dropped_is_named(copy: Location) -> None:
    names = trigger_names(copy)
    with raw(copy) as conn:
        for name in names:
            drop_trigger(conn, copy, name)
    indexed = "learning_outcome" if isinstance(copy, PostgresURL) else "decisions_fts_insert"
    assert {"decisions_no_update", "audit_events_chain", indexed} <= set(names)
    report = verified(copy)
    for name in names:
        assert any(name in p and "missing" in p for p in report.problems), name


def test_a_trigger_replaced_by_one_that_allows_everything(copy: Location) -> None:
    with raw(copy) as conn:
        if isinstance(copy, PostgresURL):  # the trigger stays; its function no longer refuses
            conn.execute(
                "CREATE OR REPLACE FUNCTION outcomes_not_by_signer() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
            )
        else:
            conn.execute("DROP TRIGGER outcomes_not_by_signer")
            conn.execute(
                "CREATE TRIGGER outcomes_not_by_signer BEFORE INSERT ON outcomes WHEN 0 "
                "BEGIN SELECT 1; END"
            )
    assert problems_about(copy, "outcomes_not_by_signer", "changed")


def test_a_trigger_left_turned_off_is_named(copy: Location) -> None:
    """PostgreSQL can turn a trigger off and leave it in place; SQLite cannot (the nearest is
    to drop it)."""
    with raw(copy) as conn:
        if isinstance(copy, PostgresURL):
            conn.execute("ALTER TABLE decisions DISABLE TRIGGER decisions_no_update")
        else:
            conn.execute("DROP TRIGGER decisions_no_update")
    word = "turned off" if isinstance(copy, PostgresURL) else "missing"
    assert problems_about(copy, "database safeguard decisions_no_update:", word)


def test_a_column_added_to_a_sealed_table_is_neither_sealed_nor_derived(copy: Location) -> None:
    """A field added on one side only cannot pass unseen: a new decisions column is reported
    until the seal model seals or derives it."""
    with tampering(copy) as conn:
        conn.execute("ALTER TABLE decisions ADD COLUMN priority TEXT NOT NULL DEFAULT 'low'")
    found = problems_about(copy, "priority")
    assert any("decisions" in p for p in found)


def test_every_column_of_the_sealed_tables_is_sealed_derived_or_storage(copy: Location) -> None:
    """And on PostgreSQL the decisions' stored words, which the server generates from the
    row's own text (p010)."""
    for table, model in (("decisions", SealedDecisionDoc), ("outcomes", SealedOutcomeDoc)):
        covered = {*model.SEALED_COLUMNS, *model.DERIVED_COLUMNS, *model.STORAGE_COLUMNS}
        if isinstance(copy, PostgresURL) and table == "decisions":
            covered.add(STORED_WORDS)
        assert table_columns(copy, table) == covered, table


def test_a_table_whose_layout_was_changed_is_named(copy: Location) -> None:
    """A constraint dropped (here the table's own rule that nobody decides an exception they
    asked for) changes the table's layout."""
    with raw(copy) as conn:
        if isinstance(copy, PostgresURL):
            conn.execute("ALTER TABLE exception_requests DROP CONSTRAINT exception_requests_check")
        else:  # SQLite alters a table's constraints only by making it again
            conn.execute("PRAGMA writable_schema = ON")
            conn.execute(
                "UPDATE sqlite_master SET sql = replace(sql, 'decided_by != requested_by', "
                "'1') WHERE name = 'exception_requests'"
            )
    assert problems_about(
        copy, "table exception_requests: its layout differs from what this system creates"
    )


def test_verify_by_an_account_that_may_only_read(
    copy: Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reads the file read-only and checks everything. PostgreSQL builds what this
    system creates in a throwaway schema to compare the safeguards with (once per process): an
    account without the right to create one gets every other check, and one problem saying
    the safeguards were not compared (never an "intact" that did not look at them)."""
    if isinstance(copy, Path):
        with read_only(copy) as db:
            assert verify(db).problems == []
        return
    monkeypatch.setattr(integrity, "_PG_EXPECTED", {})  # as in a process of its own
    reader = f"reader_{uuid.uuid4().hex[:8]}"
    with raw(copy) as conn:
        conn.execute(f"CREATE ROLE {reader} LOGIN")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}")
    as_reader = PostgresURL(copy.url.replace("://closure@", f"://{reader}@", 1))

    with read_only(as_reader) as db:
        alone = verify(db).problems
    assert verified(copy).problems == []  # the owner's run builds it
    with read_only(as_reader) as db:
        after_the_owner = verify(db).problems

    assert len(alone) == 1, alone
    assert alone[0].startswith(
        "database safeguards: they could not be compared with what this system creates "
        "(verify builds those in a schema of its own, always rolled back, and the server "
        "refused: permission denied for database "
    )
    assert after_the_owner == []


# damaged files ------------------------------------------------------------------------------


def _verify_file(path: Path) -> IntegrityReport:
    from sqlite_utils import Database

    db = Database(sqlite3.connect(path))
    try:
        return verify(db)
    finally:
        db.close()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("These are not the records you are looking for.\n" * 200, encoding="utf-8")
    report = _verify_file(path)
    assert not report.intact
    assert any("not a readable database" in p for p in report.problems)


def test_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    report = _verify_file(path)
    assert not report.intact
    assert any("not a Closure Readiness database" in p for p in report.problems)


def test_a_truncated_file(copy: Location, tmp_path: Path) -> None:
    """PostgreSQL holds no file to cut short: its nearest is a database that lost a table."""
    if isinstance(copy, PostgresURL):
        with raw(copy) as conn:
            conn.execute("DROP TABLE audit_events")
        report = verified(copy)
        assert report.problems == [
            "the database is not a Closure Readiness database (no audit trail)"
        ]
        return
    data = copy.read_bytes()
    path = tmp_path / "truncated.db"
    path.write_bytes(data[: len(data) // 2])
    report = _verify_file(path)
    assert not report.intact


def test_invalid_sealed_json(copy: Location, store: Store) -> None:
    with tampering(copy) as conn:  # re-hashed, so only the content itself is wrong
        conn.execute(
            "UPDATE decisions SET sealed = '{not json', content_hash = ? WHERE id = ?",
            [seal_hash("{not json"), store.resigned],
        )
        conn.execute(
            "UPDATE outcomes SET sealed = '[1, 2]', outcome_hash = ? WHERE decision_id = ?",
            [seal_hash("[1, 2]"), store.returned],
        )
    found = problems_about(copy, f"decision {store.resigned}:")
    assert any("sealed content" in p for p in found)
    assert problems_about(copy, f"decision {store.returned} outcome:", "sealed content")


def test_the_record_prints_the_sealed_names(copy: Location, store: Store) -> None:
    """Who signed off and who countersigned, as the record prints them, are the sealed names,
    whatever the staff table says later."""
    from closure_readiness.service import auditing

    with tampering(copy) as conn:
        conn.execute("UPDATE staff SET display_name = 'Someone else'")
    ctx = Context(copy, clock=Clock(NOW))
    record = auditing._record(ctx, store.team.auditor, store.approved, action="decision_viewed")
    assert record.signed_by_name == store.team.worker.display_name
    assert record.decided_by_name == store.team.manager.display_name
