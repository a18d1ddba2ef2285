"""Search with words and a filter is bounded (issue 12, item 6): the search index holds each
decision's facets (team, status, closure reason, exceptions, re-referral, the day it was
signed) beside its words, so the index intersects them itself and a page stops at its limit.

The lists are the same as a brute-force filter over every row; the facets follow an outcome
and a re-referral, leave with a disposal, and `verify` reports one that does not match; and the
work done per search does not grow with the number of decisions matching the words.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import random
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from closure_readiness.core.words import start_of_day_utc
from closure_readiness.service import retention
from closure_readiness.service.context import SYSTEM, Context
from closure_readiness.storage import queries
from closure_readiness.storage.database import ensure_migrated, read_only
from closure_readiness.storage.integrity import verify
from closure_readiness.storage.queries import DecisionQuery, count_decisions, list_decisions
from tamper_support import tamper
from test_retention import SHORT, SIGNED, TODAY, young
from workflow_fixtures import Clock, add_team, approve, prepare, sign

TEAMS = ("North", "South", 'Team "Q" OR x*', "Équipe Nord", "NEAR(a b) : {c}", "")
"""Team names as free text: quotes, FTS5 operators, accents and the empty name."""
REASONS = ("RC1", "RC2", 'moved: out "of" area*')
OUTCOMES = (None, "approved", "returned", "withdrawn")
WORDS = ("police", "policy", "attendance", "attend", "youth", "college", "boxing", "aunt")
FIRST_DAY = dt.datetime(2023, 12, 20, tzinfo=dt.UTC)
DAYS = 480
"""From December 2023 to April 2025: two changes of the clocks and a new year each way."""


def _hash(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


class Synthetic:
    """Decisions written straight into a migrated store (the triggers in place): staff, a
    review per decision, its outcome, and reviews that re-refer an earlier one."""

    def __init__(self, path: Path) -> None:
        ensure_migrated(path)
        self.conn = sqlite3.connect(path)
        self.db = Database(self.conn)
        self.next_id = (
            1
            + self.conn.execute(
                "SELECT max(coalesce((SELECT max(id) FROM reviews), 0), "
                "coalesce((SELECT max(id) FROM decisions), 0))"
            ).fetchone()[0]
        )
        self.rows: dict[int, dict[str, Any]] = {}
        """Every decision as the reference filter sees it."""

    def staff(self, team: str, index: int) -> tuple[str, str]:
        worker, manager = f"SW-{index}", f"TM-{index}"
        for who, role in ((worker, "caseworker"), (manager, "team_manager")):
            self.conn.execute(
                "INSERT OR IGNORE INTO staff (id, issuer, subject, display_name, role, team, "
                "active, created_at) VALUES (?, 'test', ?, ?, ?, ?, 1, '2023-01-01')",
                [who, who, f"Synthetic {who}", role, team],
            )
        return worker, manager

    def decision(
        self,
        *,
        team: str,
        reason: str,
        exceptions: int,
        signed_at: str,
        text: str,
        outcome: str | None = None,
    ) -> int:
        worker, _ = self.staff(team, TEAMS.index(team) if team in TEAMS else 99)
        n = self.next_id
        self.next_id += 1
        reference = f"CR-{n:05d}"
        self.conn.execute(
            "INSERT INTO reviews (id, case_reference, team, worker_id, status, version, "
            "content, content_hash, proposed_closure_on, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'draft', 1, '{}', ?, '2025-01-01', ?, ?)",
            [n, reference, team, worker, _hash("review", n), signed_at, signed_at],
        )
        tail = [_hash("decision", n), text]
        self.conn.execute(
            "INSERT INTO decisions (id, review_id, case_reference, team, closure_reason, "
            "signed_by, signed_at, as_of, checks_version, sign_off_possible, exceptions, "
            "cautions, sealed, content_hash, search_text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '2.0.0', 1, ?, 0, '{}', ?, ?)",
            [n, n, reference, team, reason, worker, signed_at, signed_at[:10], exceptions, *tail],
        )
        self.rows[n] = {
            "id": n,
            "team": team,
            "reason": reason,
            "exceptions": exceptions,
            "signed_at": signed_at,
            "words": text,
            "reference": reference,
            "status": "submitted",
            "re_referred": False,
        }
        if outcome is not None:
            self.outcome(n, outcome)
        return n

    def outcome(self, decision_id: int, outcome: str) -> None:
        row = self.rows[decision_id]
        hashes = [_hash("decision", decision_id), _hash("outcome", decision_id)]
        manager = f"TM-{TEAMS.index(row['team']) if row['team'] in TEAMS else 99}"
        self.conn.execute(
            "INSERT INTO outcomes (decision_id, outcome, decided_by, decided_at, hash_seen, "
            "reasons, sealed, outcome_hash) VALUES (?, ?, ?, ?, ?, '', '{}', ?)",
            [decision_id, outcome, manager, row["signed_at"], *hashes],
        )
        row["status"] = outcome

    def re_refer(self, decision_id: int) -> None:
        row = self.rows[decision_id]
        n = self.next_id
        self.next_id += 1
        worker = f"SW-{TEAMS.index(row['team']) if row['team'] in TEAMS else 99}"
        self.conn.execute(
            "INSERT INTO reviews (id, case_reference, team, worker_id, status, version, "
            "content, content_hash, proposed_closure_on, re_referral_of, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, 'draft', 1, '{}', ?, '2025-06-01', ?, "
            "'2025-05-01', '2025-05-01')",
            [n, f"CR-R{n:05d}", row["team"], worker, _hash("review", n), decision_id],
        )
        row["re_referred"] = True

    def commit(self) -> None:
        self.conn.commit()


def _bounds(query: DecisionQuery) -> tuple[str | None, str | None]:
    low = high = None
    if query.signed_from:
        low = start_of_day_utc(query.signed_from) or "\uffff"
    if query.signed_to:
        try:
            following = dt.date.fromisoformat(query.signed_to) + dt.timedelta(days=1)
        except ValueError:
            high = ""
        else:
            high = start_of_day_utc(following) or ""
    return low, high


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def brute_force(rows: dict[int, dict[str, Any]], query: DecisionQuery) -> list[int]:
    """Every decision matching the query, newest first: each row checked in Python."""
    low, high = _bounds(query)
    words = [w.lower() for w in re.findall(r"\w+", query.text or "")[:12]]
    found = []
    for row in rows.values():
        tokens = _tokens(row["reference"] + " " + row["words"])
        if words and not (
            all(w in tokens for w in words[:-1]) and any(t.startswith(words[-1]) for t in tokens)
        ):
            continue
        if query.team is not None and row["team"] != query.team:
            continue
        if query.status and row["status"] != query.status:
            continue
        if low is not None and not row["signed_at"] >= low:
            continue
        if high is not None and not row["signed_at"] < high:
            continue
        if query.closure_reason and row["reason"] != query.closure_reason:
            continue
        if query.has_exceptions is not None and (row["exceptions"] > 0) != query.has_exceptions:
            continue
        if query.has_re_referral is not None and row["re_referred"] != query.has_re_referral:
            continue
        found.append(row["id"])
    return sorted(found, reverse=True)


@functools.cache
def _shared(folder: str) -> Synthetic:
    """400 decisions over 16 months, signed at any hour (many near midnight, where a day in
    England is not the UTC day), some re-referred; built once per test session."""
    store = Synthetic(Path(folder) / "search.db")
    pick = random.Random(12)
    for _ in range(400):
        day = FIRST_DAY + dt.timedelta(days=pick.randrange(DAYS))
        minute = pick.choice([pick.randrange(1440), 22 * 60 + pick.randrange(150)]) % 1440
        words = ["police"] if pick.random() < 0.9 else []
        words += pick.sample(WORDS, pick.randrange(1, 5))
        store.decision(
            team=pick.choice(TEAMS),
            reason=pick.choice(REASONS),
            exceptions=pick.choice((0, 0, 1, 3)),
            signed_at=(day + dt.timedelta(minutes=minute)).isoformat(),
            text=" ".join(words),
            outcome=pick.choice(OUTCOMES),
        )
    for decision_id in pick.sample(sorted(store.rows), 40):
        store.re_refer(decision_id)
    store.commit()
    return store


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    return _shared(str(tmp_path_factory.mktemp("filtered-search")))


def _day(offset: int) -> str:
    return (FIRST_DAY.date() + dt.timedelta(days=offset)).isoformat()


dates = st.one_of(
    st.none(),
    st.integers(-40, DAYS + 40).map(_day),
    st.sampled_from(["", "not a date", "2024-02-30", "2024-03-31", "2024-10-27", "2025-01-01"]),
)
texts = st.one_of(
    st.none(),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
    st.sampled_from(["pol", "p", "att", "cr", "CR-0001", "Police YOUTH", "zzz", "au"]),
)
query_strategy = st.builds(
    DecisionQuery,
    team=st.one_of(st.none(), st.sampled_from(TEAMS), st.just("Nobody's team")),
    status=st.sampled_from([None, "", "submitted", "approved", "returned", "withdrawn"]),
    signed_from=dates,
    signed_to=dates,
    closure_reason=st.sampled_from([None, "", *REASONS]),
    has_exceptions=st.sampled_from([None, True, False]),
    has_re_referral=st.sampled_from([None, True, False]),
    text=texts,
    limit=st.integers(1, 60),
    offset=st.sampled_from([0, 0, 3, 40]),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=query_strategy)
def test_a_search_lists_and_counts_what_a_brute_force_filter_finds(
    shared: Synthetic, query: DecisionQuery
) -> None:
    expected = brute_force(shared.rows, query)
    listed = [row["id"] for row in list_decisions(shared.db, query)]
    assert listed == expected[query.offset : query.offset + query.limit]
    assert count_decisions(shared.db, query, cap=25) == min(len(expected), 26)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=query_strategy)
def test_the_index_alone_finds_the_filtered_decisions(
    shared: Synthetic, query: DecisionQuery
) -> None:
    """The facets themselves are right, not merely re-checked in SQL: the index's own matches
    are exactly the decisions matching the filters, but for the first and last day of a date
    range (whose times are left to SQL) and an empty range (nothing asked of the index)."""
    expression = queries.facet_expression(shared.db, query)
    expected = set(brute_force(shared.rows, DecisionQuery(**{**query.__dict__, "text": None})))
    if expression is None:
        assert expected == set()
        return
    if not expression:
        return  # no filter: the words alone
    found = {
        row[0]
        for row in shared.conn.execute(
            "SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH ?", [expression]
        )
    }
    low, high = _bounds(query)
    edges = {bound[:10] for bound in (low, high) if bound}
    assert expected <= found
    assert all(shared.rows[extra]["signed_at"][:10] in edges for extra in found - expected)


def _indexed(store: Synthetic, query: DecisionQuery) -> set[int]:
    expression = queries.facet_expression(store.db, query)
    assert expression
    return {
        row[0]
        for row in store.conn.execute(
            "SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH ?", [expression]
        )
    }


def _search_index_problems(path: Path) -> list[str]:
    with read_only(path) as db:
        return [p for p in verify(db).problems if p.startswith("search index")]


def test_the_facets_follow_an_outcome_and_a_re_referral(tmp_path: Path) -> None:
    store = Synthetic(tmp_path / "facets.db")
    first = store.decision(
        team="North", reason="RC1", exceptions=0, signed_at="2025-03-03T10:00:00+00:00", text="a"
    )
    second = store.decision(
        team="North", reason="RC1", exceptions=1, signed_at="2025-03-04T10:00:00+00:00", text="b"
    )
    store.commit()
    assert _indexed(store, DecisionQuery(status="submitted")) == {first, second}
    assert _indexed(store, DecisionQuery(has_re_referral=False)) == {first, second}

    store.outcome(first, "approved")
    store.outcome(second, "returned")
    store.re_refer(first)
    store.commit()
    assert _indexed(store, DecisionQuery(status="submitted")) == set()
    assert _indexed(store, DecisionQuery(status="approved")) == {first}
    assert _indexed(store, DecisionQuery(status="returned", has_exceptions=True)) == {second}
    assert _indexed(store, DecisionQuery(has_re_referral=True)) == {first}
    assert _indexed(store, DecisionQuery(has_re_referral=False)) == {second}
    store.re_refer(first)  # a second re-referral changes nothing
    store.commit()
    assert _indexed(store, DecisionQuery(has_re_referral=True)) == {first}
    store.conn.close()
    assert _search_index_problems(tmp_path / "facets.db") == []


def _service_store(tmp_path: Path) -> tuple[Context, int, int]:
    """Two approved closures of the North team through the service (due for disposal)."""
    ctx = Context(tmp_path / "closure.db", clock=Clock(SIGNED), retention=SHORT)
    team = add_team(ctx)
    decided = []
    for reference in ("CR-9101", "CR-9102"):
        decision_id = sign(ctx, team.worker, prepare(ctx, team.worker, young(reference)))
        approve(ctx, team.manager, decision_id)
        decided.append(decision_id)
    return ctx, decided[0], decided[1]


def _matching(path: Path, expression: str) -> set[int]:
    conn = sqlite3.connect(path)
    try:
        return {
            row[0]
            for row in conn.execute(
                "SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH ?", [expression]
            )
        }
    finally:
        conn.close()


NORTH_APPROVED = f'facets : ("t{b"North".hex().upper()}" AND "s{b"approved".hex().upper()}")'
"""The index's own words for "team North, approved" (hex of the text, as SQLite's hex())."""


def test_a_disposal_takes_the_facets_out_of_the_index(tmp_path: Path) -> None:
    ctx, first, second = _service_store(tmp_path)
    assert _matching(ctx.db_path, NORTH_APPROVED) == {first, second}

    later = Context(ctx.db_path, clock=Clock(TODAY), retention=SHORT)
    retention.dispose(later, SYSTEM, TODAY.date())

    assert _matching(ctx.db_path, NORTH_APPROVED) == set()
    conn = sqlite3.connect(ctx.db_path)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab (main, decisions_fts, 'col')")
        left = conn.execute("SELECT count(*) FROM temp.terms WHERE col = 'facets'").fetchone()
    finally:
        conn.close()
    assert left == (0,)  # nothing at all: no facet word of a disposed decision stays
    assert _search_index_problems(ctx.db_path) == []


def test_verify_reports_a_facet_that_does_not_match_the_decision(tmp_path: Path) -> None:
    ctx, first, _ = _service_store(tmp_path)
    assert _search_index_problems(ctx.db_path) == []
    returned = "s" + b"returned".hex().upper()
    tamper(
        ctx.db_path,
        "INSERT INTO decisions_fts (decisions_fts, rowid, case_reference, search_text, facets) "
        f"SELECT 'delete', id, case_reference, search_text, facets FROM decisions_search "
        f"WHERE id = {first}",
        "INSERT INTO decisions_fts (rowid, case_reference, search_text, facets) "
        f"SELECT id, case_reference, search_text, replace(facets, 's' || hex('approved'), "
        f"'{returned}') FROM decisions_search WHERE id = {first}",
    )
    problems = _search_index_problems(ctx.db_path)
    assert len(problems) == 1
    assert "team, status, dates and other filters" in problems[0]


def test_verify_reports_facets_left_stale_by_a_dropped_safeguard(tmp_path: Path) -> None:
    """With the trigger that keeps the facets dropped, an outcome leaves the decision filed as
    submitted: `verify` says so even once the trigger is back."""
    ctx, _, _ = _service_store(tmp_path)
    store = Synthetic(ctx.db_path)
    later = store.decision(
        team="North", reason="RC1", exceptions=0, signed_at="2025-06-01T09:00:00+00:00", text="x"
    )
    store.commit()
    store.conn.close()
    tamper(
        ctx.db_path,
        "DROP TRIGGER decisions_fts_outcome",
        "INSERT INTO outcomes (decision_id, outcome, decided_by, decided_at, hash_seen, reasons, "
        f"sealed, outcome_hash) VALUES ({later}, 'returned', 'TM-0', '2025-06-02', '', '', '', "
        f"'{_hash('stale')}')",
    )
    assert any("filters it holds" in p for p in _search_index_problems(ctx.db_path))


# Bounded: the work of a search does not grow with the decisions matching its words -----------


def _steps(conn: sqlite3.Connection, run: Callable[[], object]) -> int:
    """SQLite virtual machine steps taken by `run` (each row a query visits costs some)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn.set_progress_handler(count, 1)
    try:
        run()
    finally:
        conn.set_progress_handler(None, 1)
    return steps


def _many_matches(path: Path, matching: int) -> Synthetic:
    """`matching` decisions with the word 'police'; five of the team 'Rare', the oldest."""
    store = Synthetic(path)
    start = dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC)
    for n in range(matching):
        store.decision(
            team="North" if n >= 5 else "South",
            reason="RC1",
            exceptions=0,
            signed_at=(start + dt.timedelta(minutes=7 * n)).isoformat(),
            text="police attendance youth",
            outcome="approved" if n % 2 else None,
        )
    store.commit()
    return store


@pytest.mark.parametrize(
    "query",
    [
        DecisionQuery(text="police", team="South"),
        DecisionQuery(text="police attendance", team="South", status="submitted"),
        DecisionQuery(text="polic", signed_to="2024-01-01"),
        DecisionQuery(text="police", has_exceptions=True),
    ],
    ids=["team", "two words, team and status", "a date range", "no match"],
)
def test_a_filtered_search_visits_no_more_rows_with_ten_times_the_matches(
    tmp_path: Path, query: DecisionQuery
) -> None:
    """Ten times the decisions matching the words, the same few matching the filter: walking
    every match (as before m008) takes ~10x the steps. What grows instead is the number of
    the index's segments (logarithmic: FTS5 merges them as it goes), so the steps are compared
    as written and again once each index is merged into one (as after a disposal)."""
    small, large = (_many_matches(tmp_path / f"{n}.db", n) for n in (300, 3000))
    for store in (small, large):
        assert [row["id"] for row in list_decisions(store.db, query)] == brute_force(
            small.rows, query
        )[: query.limit]

    def steps() -> list[int]:
        return [
            _steps(
                store.conn,
                lambda store=store: (
                    list_decisions(store.db, query),
                    count_decisions(store.db, query),
                ),
            )
            for store in (small, large)
        ]

    as_written = steps()
    assert as_written[1] < 2.5 * as_written[0], as_written
    for store in (small, large):
        store.conn.execute("INSERT INTO decisions_fts (decisions_fts) VALUES ('optimize')")
        store.commit()
    merged = steps()
    assert merged[1] < 1.3 * merged[0], merged


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    team=st.one_of(st.sampled_from(TEAMS), st.text(max_size=30)),
    reason=st.one_of(st.none(), st.sampled_from(REASONS), st.text(max_size=30)),
    status=st.one_of(st.none(), st.text(max_size=20)),
    text=st.text(max_size=40),
)
def test_hostile_filters_and_words_are_only_ever_values(
    shared: Synthetic, team: str, reason: str | None, status: str | None, text: str
) -> None:
    """Quotes, FTS5 operators, column names and any character in a filter or the words: never
    an error, never a decision outside the filter."""
    query = DecisionQuery(team=team, closure_reason=reason, status=status, text=text or "police")
    listed = list_decisions(shared.db, query)
    assert all(row["team"] == team for row in listed)
    assert not reason or all(row["closure_reason"] == reason for row in listed)
    assert not status or all(row["status"] == status for row in listed)
    assert count_decisions(shared.db, query) >= len(listed)
