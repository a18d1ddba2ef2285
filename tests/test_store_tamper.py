"""Tampering with a copy of the store, bypassing every trigger: `verify` names what changed.

The store is built by a real workflow, anchored and backed up with the command line. Each test
edits its own backup with raw SQL after dropping the append-only triggers, as an insider with
the database file could, then runs `closure-readiness verify` as a real process.

On PostgreSQL the store is a database the command line is given by URL; the backup is a copy
made from it as a template (`backup` leaves PostgreSQL to pg_dump), and the insider is its
owner, who turns the append-only triggers off for the edit and on again (tamper_support).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.core.canonical import canonical_json
from closure_readiness.core.location import PostgresURL
from closure_readiness.core.location import Store as Location
from closure_readiness.core.review import Review
from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import SYSTEM, Context, Principal, Refused, Role
from closure_readiness.storage.audit import event_hash
from closure_readiness.storage.database import release
from closure_readiness.storage.integrity import sha256_text
from tamper_support import copy_store, raw, tampering

pytestmark = pytest.mark.both_engines

ROOT = Path(__file__).resolve().parents[1]
READY = ROOT / "examples" / "ready-three-agencies-sustained-change.json"
TEAM = "North Adolescent Team"
EXIT_OK, EXIT_FAILED = 0, 1
APPEND_ONLY_TRIGGERS = (
    "decisions_no_update",
    "decisions_no_delete",
    "decisions_no_replace",
    "decision_findings_no_update",
    "decision_findings_no_delete",
    "outcomes_no_update",
    "outcomes_no_delete",
    "outcomes_no_replace",
    "audit_events_no_update",
    "audit_events_no_delete",
    "audit_events_no_replace",
)


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "closure_readiness.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def _verify(db: Location, anchor: Path | None = None) -> subprocess.CompletedProcess[str]:
    return _cli("verify", "--db", db, *(("--anchor", anchor) if anchor else ()))


class _Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=7)
        return self.now


def _build(path: Location) -> dict[str, int]:
    """Three reviews through the workflow: approved, returned and re-signed, waiting."""
    ctx = Context(path, clock=_Clock(dt.datetime(2025, 5, 26, 9, tzinfo=dt.UTC)))
    people: dict[str, Principal] = {}
    for staff_id, role in (
        ("SW-1", Role.CASEWORKER),
        ("SW-2", Role.CASEWORKER),
        ("TM-1", Role.TEAM_MANAGER),
    ):
        people[staff_id] = staff.add_staff(
            ctx,
            SYSTEM,
            staff_id=staff_id,
            issuer="http://127.0.0.1:9400",
            subject=staff_id.lower(),
            display_name=f"Synthetic {role.label} {staff_id}",
            role=role,
            team=TEAM,
        ).principal()
    worker, worker2, manager = people["SW-1"], people["SW-2"], people["TM-1"]
    document = json.loads(READY.read_text(encoding="utf-8"))

    def signed(who: Principal, reference: str) -> tuple[int, int]:
        document["case"]["case_reference"] = reference
        review = Review.model_validate(document)
        review_id = reviews.start_review(ctx, who, review.case)
        reviews.save_review(ctx, who, review_id, review, expected_version=1)
        seen = reviews.get_review(ctx, who, review_id).content_hash
        return review_id, reviews.sign_off(ctx, who, review_id, seen_hash=seen, attested=True)

    _, approved = signed(worker, "CR-T-0001")
    sealed = decisions.get_decision(ctx, manager, approved)
    decisions.countersign(ctx, manager, approved, hash_seen=sealed.content_hash)
    returned_review, returned = signed(worker2, "CR-T-0002")
    decisions.return_review(ctx, manager, returned, overall="Confirm the youth work start.")
    seen = reviews.get_review(ctx, worker2, returned_review).content_hash
    resigned = reviews.sign_off(ctx, worker2, returned_review, seen_hash=seen, attested=True)
    _, waiting = signed(worker, "CR-T-0003")
    decisions.get_decision(ctx, manager, waiting)
    return {"approved": approved, "returned": returned, "resigned": resigned, "waiting": waiting}


Original = tuple[Location, Path, dict[str, int]]


@pytest.fixture(scope="module")
def original(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Original:
    """The store as the workflow left it, and its anchor exported with the command line."""
    folder = tmp_path_factory.mktemp("store")
    path: Location = folder / "store.db"
    if engine == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        path = PostgresURL(cluster.create_database(f"tamper{uuid.uuid4().hex[:12]}"))
    ids = _build(path)
    release(path)
    anchor = folder / "anchor.json"
    result = _cli("anchor", "--db", path, "--out", anchor)
    assert result.returncode == EXIT_OK, result.stderr
    return path, anchor, ids


@pytest.fixture
def copy(original: Original, tmp_path: Path) -> Location:
    """A backup of the store made with `closure-readiness backup`, for one test to tamper with
    (PostgreSQL: a copy made from it as a template)."""
    if isinstance(original[0], PostgresURL):
        return copy_store(original[0], tmp_path)
    out = tmp_path / "copy.db"
    result = _cli("backup", "--db", original[0], "--out", out)
    assert result.returncode == EXIT_OK, result.stderr
    return out


@pytest.fixture
def anchor(original: Original) -> Path:
    return original[1]


@pytest.fixture
def ids(original: Original) -> dict[str, int]:
    return original[2]


@contextmanager
def _tampering(path: Location) -> Iterator[Any]:
    """A raw connection with the append-only triggers dropped (PostgreSQL: turned off) while
    editing, then put back as they were (verify names a missing trigger); committed on
    leaving."""
    with tampering(path, APPEND_ONLY_TRIGGERS) as conn:
        yield conn


def _failures(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]


def _search_index(copy: Location, *lines: str) -> list[str]:
    """What SQLite's search index check says; PostgreSQL's index follows the rows itself."""
    return [] if isinstance(copy, PostgresURL) else list(lines)


def _edit_sealed(conn: Any, decision_id: int, change: Callable[[Any], None]) -> str:
    row = conn.execute("SELECT sealed FROM decisions WHERE id = ?", [decision_id]).fetchone()
    sealed = json.loads(row["sealed"])
    change(sealed)
    text = canonical_json(sealed)
    conn.execute("UPDATE decisions SET sealed = ? WHERE id = ?", [text, decision_id])
    return text


def _head(conn: Any) -> int:
    seq: int = conn.execute("SELECT max(seq) FROM audit_events").fetchone()[0]
    return seq


def test_the_untouched_copy_passes_with_and_without_the_anchor(
    copy: Location, anchor: Path, ids: dict[str, int]
) -> None:
    plain, anchored = _verify(copy), _verify(copy, anchor)
    assert plain.returncode == EXIT_OK, plain.stdout
    assert anchored.returncode == EXIT_OK, anchored.stdout
    assert f"{len(ids)} decisions, 2 outcomes" in plain.stdout
    assert "anchor checked: intact." in anchored.stdout
    assert _failures(plain) == _failures(anchored) == []


def test_one_field_changed_inside_a_sealed_decision_names_that_decision(
    copy: Location, ids: dict[str, int]
) -> None:
    decision = ids["approved"]

    def soften(sealed: Any) -> None:
        sealed["review"]["case"]["risk_now"] = "none"

    with _tampering(copy) as conn:
        _edit_sealed(conn, decision, soften)
    result = _verify(copy)
    assert result.returncode == EXIT_FAILED
    assert _failures(result) == [
        f"FAIL decision {decision}: sealed content does not match its hash"
    ]


def test_a_tampered_decision_waiting_cannot_be_countersigned_and_nothing_is_stored(
    copy: Location, ids: dict[str, int]
) -> None:
    """The countersign checks the seal and the chain before it takes the write lock (decision
    #73): a waiting decision softened after sealing is refused in words, with no outcome."""
    decision = ids["waiting"]
    ctx = Context(copy)
    manager = staff.identify(ctx, issuer="http://127.0.0.1:9400", subject="tm-1")
    seen = decisions.get_decision(ctx, manager, decision).content_hash

    def soften(sealed: Any) -> None:
        sealed["review"]["case"]["risk_now"] = "none"

    with _tampering(copy) as conn:
        _edit_sealed(conn, decision, soften)
    with pytest.raises(Refused) as refused:
        decisions.countersign(ctx, manager, decision, hash_seen=seen)
    release(copy)

    assert "failed its integrity check" in refused.value.message
    with raw(copy) as conn:
        found = conn.execute("SELECT count(*) FROM outcomes WHERE decision_id = ?", [decision])
        assert found.fetchone()[0] == 0


def test_a_sealed_decision_re_hashed_after_an_edit_is_named_by_the_audit_chain(
    copy: Location, ids: dict[str, int]
) -> None:
    decision = ids["waiting"]

    def unattest(sealed: Any) -> None:
        sealed["attestation"] = "I did not check the evidence."

    with _tampering(copy) as conn:
        text = _edit_sealed(conn, decision, unattest)
        conn.execute(
            "UPDATE decisions SET content_hash = ? WHERE id = ?", [sha256_text(text), decision]
        )
    result = _verify(copy)
    assert result.returncode == EXIT_FAILED
    assert _failures(result) == [
        f"FAIL decision {decision}: its hash is not the one the audit chain recorded"
    ]


def test_a_sealed_decision_column_changed_alone_names_that_decision_and_column(
    copy: Location, ids: dict[str, int]
) -> None:
    decision = ids["resigned"]
    with _tampering(copy) as conn:
        conn.execute("UPDATE decisions SET team = 'South Adolescent Team' WHERE id = ?", [decision])
    result = _verify(copy)
    assert result.returncode == EXIT_FAILED
    assert _failures(result) == [
        f"FAIL decision {decision}: the team does not match what was sealed",
        # The search index still files it under its sealed team (m008's facets).
        *_search_index(copy, SEARCH_FILTERS_DIFFER),
    ]


def test_an_outcome_column_changed_alone_names_that_decision_outcome(
    copy: Location, ids: dict[str, int]
) -> None:
    decision = ids["returned"]
    with _tampering(copy) as conn:
        conn.execute("UPDATE outcomes SET outcome = 'approved' WHERE decision_id = ?", [decision])
    result = _verify(copy)
    assert result.returncode == EXIT_FAILED
    assert _failures(result) == [
        f"FAIL decision {decision} outcome: the outcome does not match what was sealed",
        # A return now counted as a closure: the learning figures' tallies no longer agree.
        # The search index still files it as returned (m008's facets).
        *_search_index(copy, SEARCH_FILTERS_DIFFER),
        "FAIL learning figures: their counts do not match the decisions, outcomes and findings "
        "they count",
    ]


SEARCH_FILTERS_DIFFER = (
    "FAIL search index: the team, status, dates and other filters it holds for each decision "
    "do not match the decisions (a search with a filter may miss a decision or list one that "
    "does not match)"
)


def test_one_audit_event_detail_changed_names_that_event(copy: Location) -> None:
    with _tampering(copy) as conn:
        seq = conn.execute(
            "SELECT min(seq) FROM audit_events WHERE action = 'review_saved'"
        ).fetchone()[0]
        conn.execute(
            "UPDATE audit_events SET detail = ? WHERE seq = ?",
            [canonical_json({"content_hash": "0" * 64, "version": 9}), seq],
        )
    result = _verify(copy)
    assert result.returncode == EXIT_FAILED
    failures = _failures(result)
    assert failures[0] == f"FAIL audit event {seq}: content does not match its hash"
    # What the event now says no longer matches the review's saved versions either.
    assert all(f.startswith("FAIL review ") for f in failures[1:]), failures


def test_a_consistently_rewritten_chain_passes_alone_but_the_anchor_names_the_rewrite(
    copy: Location, anchor: Path
) -> None:
    """The chain alone cannot see an insider who re-hashes every later event: the anchor can."""
    with _tampering(copy) as conn:
        first = conn.execute(
            "SELECT seq FROM audit_events WHERE action = 'decided' ORDER BY seq LIMIT 1"
        ).fetchone()[0]
        events = conn.execute(
            "SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq", [first]
        ).fetchall()
        prev_hash = conn.execute(
            "SELECT hash FROM audit_events WHERE seq = ?", [first - 1]
        ).fetchone()[0]
        for event in events:
            actor = "SW-2" if event["seq"] == first else event["actor"]
            digest = event_hash(
                prev_hash=prev_hash,
                seq=event["seq"],
                at=event["at"],
                actor=actor,
                action=event["action"],
                review_id=event["review_id"],
                decision_id=event["decision_id"],
                detail=event["detail"],
            )
            conn.execute(
                "UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                [actor, prev_hash, digest, event["seq"]],
            )
            prev_hash = digest
        head = _head(conn)
    plain = _verify(copy)
    assert plain.returncode == EXIT_OK, plain.stdout
    anchored = _verify(copy, anchor)
    assert anchored.returncode == EXIT_FAILED
    assert _failures(anchored) == [
        f"FAIL anchor: event {head} differs from the anchored head (the chain was rewritten)"
    ]


@pytest.mark.parametrize("removed", [1, 2])
def test_a_truncated_chain_fails_against_the_anchor_saying_truncated(
    copy: Location, anchor: Path, removed: int
) -> None:
    with _tampering(copy) as conn:
        head = _head(conn)
        last = conn.execute("SELECT action FROM audit_events WHERE seq = ?", [head]).fetchone()
        conn.execute("DELETE FROM audit_events WHERE seq > ?", [head - removed])
    anchored = _verify(copy, anchor)
    assert anchored.returncode == EXIT_FAILED
    assert (
        f"FAIL anchor: the chain ends at event {head - removed}, before the anchored event "
        f"{head} (truncated)"
    ) in _failures(anchored)
    if removed == 1:
        # Losing the last event (a manager viewing a decision) is invisible without the anchor.
        assert last["action"] == "decision_viewed"
        assert _verify(copy).returncode == EXIT_OK


@pytest.mark.parametrize("which", ["waiting", "approved"])
def test_a_deleted_decision_is_named(copy: Location, ids: dict[str, int], which: str) -> None:
    decision = ids[which]
    with _tampering(copy) as conn:
        conn.execute("DELETE FROM decision_findings WHERE decision_id = ?", [decision])
        conn.execute("DELETE FROM outcomes WHERE decision_id = ?", [decision])
        conn.execute("DELETE FROM decisions WHERE id = ?", [decision])
    result = _verify(copy)
    assert result.returncode == EXIT_FAILED
    expected = [f"FAIL decision {decision}: missing, though the audit chain records its sign-off"]
    if which == "approved":
        expected.append(
            f"FAIL decision {decision} outcome: missing, though the audit chain records it"
        )
    # The deleted row's words are still in the search index, which no longer matches, and
    # its filters (m008's facets).
    expected += _search_index(
        copy,
        "FAIL search index: it does not match the decisions (searching may miss a decision)",
        SEARCH_FILTERS_DIFFER,
    )
    if which == "approved":  # still counted as a closure in the learning figures' tallies
        expected.append(
            "FAIL learning figures: their counts do not match the decisions, outcomes and "
            "findings they count"
        )
    assert _failures(result) == expected
