"""Saved versions kept compactly (issue 12, item 5).

A saved step is stored as a delta against the version before it; the first version, every
FULL_EVERY-th, a manager's change and the signed (so also the returned) version are whole.
Every version rebuilds to exactly the content whose hash is stored; verify, the conflict check
and disposal read deltas; a save writes only the evidence rows that changed.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import itertools
import json
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from closure_readiness.core.canonical import canonical_json, content_hash
from closure_readiness.core.delta import apply, apply_delta_text, delta_text, diff, is_delta_text
from closure_readiness.core.retention import RetentionClass, RetentionPolicy
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import Involvement
from closure_readiness.service import decisions, retention, reviews
from closure_readiness.service.context import SYSTEM, Conflict, Context, InvalidInput, Principal
from closure_readiness.storage import versions
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import verify
from strategies import reviews as review_strategy
from workflow_fixtures import (
    Clock,
    Team,
    add_team,
    approve,
    finding_key,
    make_context,
    ready_document,
    sign,
    unnotified_review,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmarks live beside the package
from bench.store_bench import signable_review_with_evidence  # noqa: E402
from bench.versions_bench import sitting  # noqa: E402

REFERENCE = "CR-CV-0001"


def _json() -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=20,
    )


# The delta itself ------------------------------------------------------------------------------


@given(_json(), _json())
@example([True, False], [True, 0])  # equal lists in Python, not in JSON (found by CI)
@example({"a": [0]}, {"a": [False]})
def test_a_delta_turns_any_json_value_into_any_other(old: Any, new: Any) -> None:
    before = canonical_json(old)
    patch = diff(old, new)
    assert canonical_json(apply(old, patch)) == canonical_json(new)
    assert canonical_json(old) == before  # the old value is never changed


@settings(max_examples=25, deadline=None)
@given(review_strategy(), review_strategy())
def test_a_stored_delta_rebuilds_one_review_from_another(old: Review, new: Review) -> None:
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    text = delta_text(before, after)
    assert is_delta_text(text)
    assert content_hash(apply_delta_text(before, text)) == content_hash(new)


def test_a_small_change_is_a_small_delta() -> None:
    document = signable_review_with_evidence(30).model_dump(mode="json")
    changed = copy.deepcopy(document)
    changed["evidence"][7]["shows"] += " Confirmed."
    changed["evidence"].insert(3, {**changed["evidence"][0], "id": "E900"})
    text = delta_text(document, changed)
    assert len(text) < len(json.dumps(changed)) / 10
    assert apply_delta_text(document, text) == changed


# Stored versions ---------------------------------------------------------------------------------


def _rows(ctx: Context, review_id: int) -> list[dict[str, Any]]:
    with reading(ctx.db_path) as db:
        return list(
            db.query(
                "SELECT * FROM review_versions WHERE review_id = ? ORDER BY version", [review_id]
            )
        )


def _document_at(ctx: Context, review_id: int, version: int) -> dict[str, Any] | None:
    with reading(ctx.db_path) as db:
        return versions.document_at(db, review_id, version)


def _sit(ctx: Context, worker: Principal, documents: list[dict[str, Any]]) -> int:
    """Start a review of the first document's case and save each document in turn."""
    review_id = reviews.start_review(ctx, worker, Review.model_validate(documents[0]).case)
    version = 1
    for document in documents:
        version = reviews.save_review(ctx, worker, review_id, document, expected_version=version)
    return review_id


def _ready_sitting(reference: str = REFERENCE) -> list[dict[str, Any]]:
    final = ready_document()
    final["case"]["case_reference"] = reference
    return [*sitting(final), final]


def _assert_every_version_rebuilds(ctx: Context, review_id: int) -> list[dict[str, Any]]:
    rows = _rows(ctx, review_id)
    assert [row["version"] for row in rows] == list(range(1, len(rows) + 1))
    for kept in versions.rebuilt(rows):
        assert kept.matches, kept.row["version"]
        document = _document_at(ctx, review_id, kept.row["version"])
        assert document is not None
        assert content_hash(document) == kept.row["content_hash"]
    with reading(ctx.db_path) as db:
        stored = db.execute(
            "SELECT content, content_hash, version FROM reviews WHERE id = ?", [review_id]
        ).fetchone()
    assert stored[1] == rows[-1]["content_hash"]
    assert stored[2] == rows[-1]["version"]
    return rows


def _with_reference(review: Review, reference: str) -> dict[str, Any]:
    document = review.model_dump(mode="json")
    document["case"]["case_reference"] = reference
    return document


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(st.lists(review_strategy(), min_size=1, max_size=4), st.data())
def test_every_version_of_any_edit_sequence_rebuilds_to_its_stored_hash(
    edits: list[Review], data: st.DataObject
) -> None:
    """Random whole reviews saved in turn, each followed by a sitting's small steps towards
    the next: whatever is stored, every version rebuilds to exactly its hash."""
    documents: list[dict[str, Any]] = []
    for review in edits:
        final = _with_reference(review, REFERENCE)
        steps = sitting(final)
        chosen = data.draw(st.lists(st.sampled_from(steps), max_size=6)) if steps else []
        documents += [*chosen, final]
    with tempfile.TemporaryDirectory() as folder:
        ctx = make_context(Path(folder))
        team = add_team(ctx)
        saved = []
        review_id = reviews.start_review(ctx, team.worker, Review.model_validate(documents[0]).case)
        version = 1
        for document in documents:
            try:
                version = reviews.save_review(
                    ctx, team.worker, review_id, document, expected_version=version
                )
            except InvalidInput:
                continue  # a step the model refuses on its own: not stored
            saved.append(version)
        rows = _assert_every_version_rebuilds(ctx, review_id)
        assert rows[-1]["version"] == max([1, *saved])
        # Kept whole only where it must be, or where the delta would not be shorter.
        rebuilt = list(versions.rebuilt(rows))
        for before, kept in itertools.pairwise(rebuilt):
            number = kept.row["version"]
            if not kept.delta and number % versions.FULL_EVERY:
                assert before.document is not None
                assert kept.document is not None
                shorter = delta_text(before.document, kept.document)
                assert len(shorter) >= len(kept.row["content"]), number
        assert verify_problems(ctx) == []


def verify_problems(ctx: Context) -> list[str]:
    with reading(ctx.db_path) as db:
        return verify(db).problems


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return make_context(tmp_path)


@pytest.fixture
def team(ctx: Context) -> Team:
    return add_team(ctx)


def test_a_sitting_keeps_deltas_and_every_version_rebuilds(ctx: Context, team: Team) -> None:
    review_id = _sit(ctx, team.worker, _ready_sitting())
    rows = _assert_every_version_rebuilds(ctx, review_id)
    kinds = [is_delta_text(row["content"]) for row in rows]
    assert not kinds[0]  # the first version is whole
    assert sum(kinds) >= len(rows) - 2  # the saved steps are deltas
    assert verify_problems(ctx) == []
    with reading(ctx.db_path) as db:
        details = [
            row[0]
            for row in db.execute(
                "SELECT detail FROM audit_events WHERE action = 'review_saved' AND review_id = ?",
                [review_id],
            )
        ]
    assert details
    assert all(set(json.loads(d)) == {"version", "content_hash"} for d in details)


def test_the_signed_and_returned_versions_are_kept_whole(ctx: Context, team: Team) -> None:
    review_id = _sit(ctx, team.worker, _ready_sitting())
    assert is_delta_text(_rows(ctx, review_id)[-1]["content"])  # before sign-off: a delta
    decision_id = sign(ctx, team.worker, review_id)
    signed = _rows(ctx, review_id)[-1]
    assert not is_delta_text(signed["content"])
    assert content_hash(json.loads(signed["content"])) == signed["content_hash"]
    decisions.return_review(ctx, team.manager, decision_id, overall="Say who the contacts are.")
    assert _rows(ctx, review_id)[-1] == signed  # the returned version: the signed one, whole
    # Worked on again after the return: deltas on top of the whole signed version, and the
    # second sign-off's version is whole too.
    document = json.loads(signed["content"])
    document["answers"]["change"]["notes"] = "Contacts are the school nurse and youth worker."
    version = reviews.save_review(
        ctx, team.worker, review_id, document, expected_version=signed["version"]
    )
    assert is_delta_text(_rows(ctx, review_id)[-1]["content"])
    second = sign(ctx, team.worker, review_id)
    rows = _assert_every_version_rebuilds(ctx, review_id)
    assert rows[-1]["version"] == version
    assert not is_delta_text(rows[-1]["content"])
    approve(ctx, team.manager, second)
    assert verify_problems(ctx) == []


def test_a_30_item_review_keeps_at_least_ten_times_fewer_bytes_of_versions(
    ctx: Context, team: Team
) -> None:
    """A size, not a time: a 30-item review built by a sitting (one save per widget change)
    held every version whole (about 0.8 MB); compactly it holds about a twentieth."""
    final = signable_review_with_evidence(30).model_dump(mode="json")
    final["case"]["case_reference"] = REFERENCE
    review_id = _sit(ctx, team.worker, [*sitting(final), final])
    sign(ctx, team.worker, review_id)
    rows = _rows(ctx, review_id)
    assert len(rows) > versions.FULL_EVERY  # long enough to hold a periodic whole copy
    whole = sum(
        len(canonical_json(kept.document).encode())
        for kept in versions.rebuilt(rows)
        if kept.document is not None
    )
    kept_bytes = sum(len(row["content"].encode()) for row in rows)
    assert kept_bytes * 10 <= whole, (kept_bytes, whole)
    with reading(ctx.db_path) as db:
        assert versions.versions_bytes(db, review_id) == kept_bytes
    assert not is_delta_text(rows[versions.FULL_EVERY - 1]["content"])  # the periodic copy
    _assert_every_version_rebuilds(ctx, review_id)


# Verify ---------------------------------------------------------------------------------------


def _a_delta(ctx: Context, review_id: int) -> dict[str, Any]:
    return next(r for r in _rows(ctx, review_id)[1:] if is_delta_text(r["content"]))


def test_verify_reports_a_tampered_delta(ctx: Context, team: Team) -> None:
    review_id = _sit(ctx, team.worker, _ready_sitting())
    row = _a_delta(ctx, review_id)
    patch = json.loads(row["content"])
    patch[1]["case"] = {"case_reference": ["=", "CR-CV-9999"]}  # a change nobody saved
    conn = sqlite3.connect(ctx.db_path)
    try:
        conn.execute(
            "UPDATE review_versions SET content = ? WHERE review_id = ? AND version = ?",
            [json.dumps(patch), review_id, row["version"]],
        )
        conn.commit()
    finally:
        conn.close()
    problems = verify_problems(ctx)
    assert (
        f"review {review_id}: version {row['version']} of its history does not match its hash"
        in (problems)
    ), problems

    conn = sqlite3.connect(ctx.db_path)
    try:
        conn.execute(
            "UPDATE review_versions SET content = ? WHERE review_id = ? AND version = ?",
            [
                '["delta", {"evidence": ["L", [["p", {"nothing": ["-"]}]]]}]',
                review_id,
                row["version"],
            ],
        )
        conn.commit()
    finally:
        conn.close()
    problems = verify_problems(ctx)
    assert any(
        f"version {row['version']} of its history cannot be rebuilt" in p for p in problems
    ), problems


# The conflict check ----------------------------------------------------------------------------


def test_the_conflict_check_rebuilds_the_version_a_tab_opened(ctx: Context, team: Team) -> None:
    worker, manager = team.worker, team.manager
    unnotified = unnotified_review(REFERENCE).model_dump(mode="json")
    review_id = _sit(ctx, worker, [*sitting(unnotified), unnotified])
    opened = _rows(ctx, review_id)[-1]
    assert is_delta_text(opened["content"])  # the version both tabs opened: a delta
    # A manager's exception since: the only change, so the tab's save goes ahead.
    key = finding_key(ctx, worker, review_id, "exit.E003")
    request = reviews.request_exception(ctx, worker, review_id, finding_key=key, reason="Asked.")
    decisions.decide_exception(ctx, manager, request, grant=True, reason="Agreed.")
    document = json.loads(json.dumps(_document_at(ctx, review_id, opened["version"])))
    document["answers"]["change"]["notes"] = "Written in the first tab."
    saved = reviews.save_review(
        ctx, worker, review_id, document, expected_version=opened["version"]
    )
    # The other tab still holds the version it opened: a save there now is a conflict.
    document["answers"]["change"]["notes"] = "Written in the second tab."
    with pytest.raises(Conflict):
        reviews.save_review(ctx, worker, review_id, document, expected_version=opened["version"])
    assert reviews.get_review(ctx, worker, review_id).version == saved
    _assert_every_version_rebuilds(ctx, review_id)


# Disposal --------------------------------------------------------------------------------------


PHRASE = "Quillowen-marmot-5521 talked about the boxing club"
SHORT = RetentionPolicy(
    classes={i: RetentionClass(keep_until_age=18, years_after_closure=0) for i in Involvement}
)


def test_disposal_blanks_the_deltas(tmp_path: Path) -> None:
    signed_at = dt.datetime(2025, 5, 30, 9, tzinfo=dt.UTC)
    today = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
    ctx = Context(tmp_path / "closure.db", clock=Clock(signed_at), retention=SHORT)
    team = add_team(ctx)
    final = ready_document()
    final["case"]["case_reference"] = REFERENCE
    final["case"]["birth_month"] = "2008-01"
    final["rationales"] = {"diversion.W002": "Transition worker allocated from June."}
    steps = sitting(final)
    noted = copy.deepcopy(steps[len(steps) // 2])
    noted["answers"]["change"]["notes"] = PHRASE  # typed, then changed again later
    review_id = _sit(
        ctx, team.worker, [*steps[: len(steps) // 2], noted, *steps[len(steps) // 2 :], final]
    )
    held = [r for r in _rows(ctx, review_id) if PHRASE in r["content"]]
    assert held
    assert all(is_delta_text(r["content"]) for r in held)
    approve(ctx, team.manager, sign(ctx, team.worker, review_id))

    retention.dispose(dataclasses.replace(ctx, clock=Clock(today)), SYSTEM, today.date())

    assert {r["content"] for r in _rows(ctx, review_id)} == {""}
    data = ctx.db_path.read_bytes()
    wal = ctx.db_path.with_name(ctx.db_path.name + "-wal")
    data += wal.read_bytes() if wal.exists() else b""
    assert PHRASE.encode() not in data
    assert verify_problems(ctx) == []


# Evidence rows ---------------------------------------------------------------------------------


_LOGGED = ("INSERT", "UPDATE", "DELETE")


@contextlib.contextmanager
def evidence_writes(path: Path) -> Iterator[list[tuple[str, str]]]:
    """The evidence rows written inside the block, as (statement, evidence id): logged by
    triggers added for the block and taken away after it (verify checks the schema)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE evidence_log (op TEXT, evidence_id TEXT)")
    for op in _LOGGED:
        row = "OLD" if op == "DELETE" else "NEW"
        conn.execute(
            f"CREATE TRIGGER evidence_log_{op.lower()} AFTER {op} ON evidence BEGIN "
            f"INSERT INTO evidence_log VALUES ('{op}', {row}.evidence_id); END"
        )
    conn.commit()
    written: list[tuple[str, str]] = []
    try:
        yield written
    finally:
        written += [tuple(r) for r in conn.execute("SELECT op, evidence_id FROM evidence_log")]
        for op in _LOGGED:
            conn.execute(f"DROP TRIGGER evidence_log_{op.lower()}")
        conn.execute("DROP TABLE evidence_log")
        conn.commit()
        conn.close()


def test_a_save_writes_only_the_evidence_rows_that_changed(ctx: Context, team: Team) -> None:
    final = ready_document()
    final["case"]["case_reference"] = REFERENCE
    review_id = _sit(ctx, team.worker, [final])
    first = final["evidence"][0]["id"]
    changed = copy.deepcopy(final)
    changed["evidence"][0]["shows"] += " Confirmed by the school."
    changed["evidence"].append({**changed["evidence"][-1], "id": "E900"})
    with evidence_writes(ctx.db_path) as written:
        version = reviews.save_review(ctx, team.worker, review_id, changed, expected_version=2)
    assert sorted(written) == [("INSERT", "E900"), ("UPDATE", first)]
    changed["evidence"] = changed["evidence"][:-1]
    with evidence_writes(ctx.db_path) as written:
        reviews.save_review(ctx, team.worker, review_id, changed, expected_version=version)
    assert written == [("DELETE", "E900")]
    with reading(ctx.db_path) as db:
        held = {
            r[0]: r[1]
            for r in db.execute(
                "SELECT evidence_id, shows FROM evidence WHERE review_id = ?", [review_id]
            )
        }
    assert held == {item["id"]: item["shows"] for item in changed["evidence"]}
    assert verify_problems(ctx) == []
