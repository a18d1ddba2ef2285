"""Migration m005: reviews still being worked on move to schema version 2 in the database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlite_utils import Database

from closure_readiness.core.canonical import content_hash
from closure_readiness.core.review import Review
from closure_readiness.storage.schema import MIGRATIONS
from example_data import SCENARIOS_DIR

READY = SCENARIOS_DIR / "ready-three-agencies-sustained-change.json"


def _version_1_content() -> str:
    """A draft as checks 1.0.0 stored it: schema version 1, a free-text plan."""
    document = json.loads(READY.read_text(encoding="utf-8"))
    document["schema_version"] = 1
    document["case"].pop("orders_in_force")
    document["case"].pop("orders")
    document["answers"].pop("route", None)
    document["answers"]["change"].pop("plan_outcomes")
    document["answers"]["cause"]["causes"] = [
        {"kind": "bail_curfew_tag", "ends_on": "2025-07-01", "plan_for_end": "YOT checks in"}
    ]
    return json.dumps(document)


def _old_database(path: Path, content: str, status: str) -> Database:
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m005_reviews_schema_version_2")
    db.execute(
        "INSERT INTO staff (id, issuer, subject, display_name, role, team, active, created_at) "
        "VALUES ('SW-014', 'demo', 'sw', 'Worker', 'caseworker', 'North', 1, '2025-01-01')"
    )
    db.execute(
        "INSERT INTO reviews (id, case_reference, team, worker_id, status, version, content, "
        "content_hash, proposed_closure_on, created_at, updated_at) VALUES "
        "(1, 'CR-2025-0412', 'North', 'SW-014', ?, 3, ?, 'old', '2025-05-30', "
        "'2025-05-01', '2025-05-01')",
        [status, content],
    )
    db.conn.commit()
    return db


def test_a_version_1_draft_is_upgraded_and_its_free_text_plan_kept_as_notes(
    tmp_path: Path,
) -> None:
    db = _old_database(tmp_path / "old.db", _version_1_content(), "draft")

    MIGRATIONS.apply(db)

    content, digest = db.execute("SELECT content, content_hash FROM reviews").fetchone()
    stored = json.loads(content)
    assert stored["schema_version"] == 2
    cause = stored["answers"]["cause"]["causes"][0]
    assert cause["plan_notes"] == "YOT checks in"
    assert cause["plan_role"] == ""
    assert stored["case"]["orders_in_force"] is None
    assert digest == content_hash(Review.model_validate_json(content))


def test_an_approved_review_keeps_the_content_it_was_approved_with(tmp_path: Path) -> None:
    old = _version_1_content()
    db = _old_database(tmp_path / "old.db", old, "approved")

    MIGRATIONS.apply(db)

    assert db.execute("SELECT content FROM reviews").fetchone()[0] == old
