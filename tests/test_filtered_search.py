"""Search with words and a filter is bounded (issue 12, item 6): the search index holds each
decision's facets (team, status, closure reason, exceptions, re-referral, the day it was
signed) beside its words, so the index intersects them itself and a page stops at its limit.

The lists are the same as a brute-force filter over every row; the facets follow an outcome
and a re-referral, leave with a disposal, and `verify` reports one that does not match; and the
work done per search does not grow with the number of decisions matching the words.

On PostgreSQL (issue 12, item 10) the lists and counts are the same, on the same decisions;
the filters are SQL there, and the words are matched in their GIN index alone, never worked
out again from a row's text (`queries._postgres_plan`). The facets, their index and their
checks are SQLite's own: those tests run on SQLite, and what they guard is seen from outside
(the rows listed) on both engines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from closure_readiness.core.location import PostgresURL, Store
from closure_readiness.core.words import start_of_day_utc
from closure_readiness.service import retention
from closure_readiness.service.context import SYSTEM, Context
from closure_readiness.storage import queries
from closure_readiness.storage.database import Db, ensure_migrated, read_only, reading
from closure_readiness.storage.integrity import verify
from closure_readiness.storage.queries import DecisionQuery, count_decisions, list_decisions
from closure_readiness.storage.schema_postgres import STORED_WORDS
from tamper_support import tamper
from test_retention import SHORT, SIGNED, TODAY, young
from workflow_fixtures import Clock, add_team, approve, make_postgres_context, prepare, sign

pytestmark = pytest.mark.both_engines

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


class _PostgresRows:
    """A psycopg connection taking this module's SQLite-spelt SQL (`?` placeholders), in one
    transaction until `commit()`, as sqlite3's."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url)

    def execute(self, sql: str, params: Any = ()) -> Any:
        from closure_readiness.storage.postgres import translate

        return self.conn.execute(translate(sql), params)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


class Synthetic:
    """Decisions written straight into a migrated store (the triggers in place): staff, a
    review per decision, its outcome, and reviews that re-refer an earlier one. An SQLite
    file or a PostgreSQL database."""

    def __init__(self, store: Store) -> None:
        ensure_migrated(store)
        self.store = store
        self.conn: Any = (
            _PostgresRows(store.url) if isinstance(store, PostgresURL) else sqlite3.connect(store)
        )
        self.db = None if isinstance(store, PostgresURL) else Database(self.conn)
        """SQLite: the same connection through sqlite-utils (its facets' tests read it)."""
        newest = [
            self.conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            for table in ("reviews", "decisions")
        ]
        self.next_id = 1 + max(newest)
        self.rows: dict[int, dict[str, Any]] = {}
        """Every decision as the reference filter sees it."""

    @contextmanager
    def reading(self) -> Iterator[Db]:
        """The store as the service reads it: SQLite through this connection, PostgreSQL in
        a read transaction of its own (as `storage.database.reading` gives one)."""
        if self.db is not None:
            yield self.db
            return
        with reading(self.store) as db:
            yield db

    def listed(self, query: DecisionQuery) -> list[int]:
        with self.reading() as db:
            return [row["id"] for row in list_decisions(db, query)]

    def counted(self, query: DecisionQuery, cap: int = queries.COUNT_CAP) -> int:
        with self.reading() as db:
            return count_decisions(db, query, cap=cap)

    def staff(self, team: str, index: int) -> tuple[str, str]:
        worker, manager = f"SW-{index}", f"TM-{index}"
        for who, role in ((worker, "caseworker"), (manager, "team_manager")):
            self.conn.execute(
                "INSERT INTO staff (id, issuer, subject, display_name, role, team, active, "
                "created_at) VALUES (?, 'test', ?, ?, ?, ?, 1, '2023-01-01') "
                "ON CONFLICT DO NOTHING",
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


def _filled(store: Synthetic) -> Synthetic:
    """400 decisions over 16 months, signed at any hour (many near midnight, where a day in
    England is not the UTC day), some re-referred: the same on either engine."""
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


def new_store(engine: str, folder: Path, request: pytest.FixtureRequest) -> Store:
    """A new, empty store: a file in `folder`, or a database in the test run's cluster."""
    if engine == "postgresql":
        return make_postgres_context(request.getfixturevalue("postgres_cluster")).db_path
    return folder / "search.db"


@pytest.fixture(scope="module")
def sqlite_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthetic]:
    """The 400 decisions in SQLite (its facets' own tests read them too)."""
    store = _filled(Synthetic(tmp_path_factory.mktemp("filtered-search") / "search.db"))
    yield store
    store.conn.close()


@pytest.fixture(scope="module")
def shared(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Synthetic]:
    """The 400 decisions on each engine, made once per module."""
    if engine == "sqlite":
        yield request.getfixturevalue("sqlite_shared")
        return
    store = _filled(Synthetic(new_store(engine, tmp_path_factory.mktemp("unused"), request)))
    yield store
    store.conn.close()


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
    assert shared.listed(query) == expected[query.offset : query.offset + query.limit]
    assert shared.counted(query, cap=25) == min(len(expected), 26)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=query_strategy)
def test_the_index_alone_finds_the_filtered_decisions(
    sqlite_shared: Synthetic, query: DecisionQuery
) -> None:
    """The facets themselves are right, not merely re-checked in SQL: the index's own matches
    are exactly the decisions matching the filters, but for the first and last day of a date
    range (whose times are left to SQL) and an empty range (nothing asked of the index).
    SQLite's own: PostgreSQL's filters are SQL (the brute-force test covers both)."""
    shared = sqlite_shared
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
    assert store.db is not None
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


def test_a_filtered_search_follows_an_outcome_and_a_re_referral(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """What the facets keep, seen in the lists on either engine: a search filtered by status
    or re-referral finds a decision once its outcome or its re-referral is written, and the
    list says so (re-referred as 0 or 1 on both engines, as the pages and exports show it)."""
    store = Synthetic(new_store(engine, tmp_path, request))
    first = store.decision(
        team="North",
        reason="RC1",
        exceptions=0,
        signed_at="2025-03-03T10:00:00+00:00",
        text="police youth",
    )
    second = store.decision(
        team="North",
        reason="RC1",
        exceptions=1,
        signed_at="2025-03-04T10:00:00+00:00",
        text="police college",
    )
    store.commit()

    def found(**filters: Any) -> set[int]:
        return set(store.listed(DecisionQuery(text="polic", **filters)))

    assert found(status="submitted") == {first, second}
    assert found(has_re_referral=False) == {first, second}
    assert found(has_re_referral=True) == set()

    store.outcome(first, "approved")
    store.outcome(second, "returned")
    store.re_refer(first)
    store.commit()
    assert found(status="submitted") == set()
    assert found(status="approved") == {first}
    assert found(status="returned", has_exceptions=True) == {second}
    assert found(has_re_referral=True) == {first}
    assert found(has_re_referral=False) == {second}
    store.re_refer(first)  # a second re-referral changes nothing
    store.commit()
    assert found(has_re_referral=True) == {first}
    assert store.counted(DecisionQuery(text="police", has_re_referral=True)) == 1
    with store.reading() as db:
        listed = list_decisions(db, DecisionQuery(text="police"))
    assert [(row["id"], row["status"], row["re_referred"]) for row in listed] == [
        (second, "returned", 0),
        (first, "approved", 1),
    ]
    assert all(type(row["re_referred"]) is int for row in listed)
    store.conn.close()


def _service_store(store: Store) -> tuple[Context, int, int]:
    """Two approved closures of the North team through the service (due for disposal)."""
    ctx = Context(store, clock=Clock(SIGNED), retention=SHORT)
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


def test_a_disposed_decision_is_found_by_no_search(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """What taking the facets out of the index guards, seen in the lists on either engine:
    once disposed of, a decision is listed and counted by no search, by its case reference,
    by its words or by its filters."""
    ctx, first, second = _service_store(new_store(engine, tmp_path, request))
    searches = [
        DecisionQuery(text="CR-9101"),
        DecisionQuery(text="CR 9102", team="North", status="approved"),
        DecisionQuery(text="Zephyrine quokka", team="North"),
        DecisionQuery(text="youth club", has_exceptions=False, has_re_referral=False),
        DecisionQuery(team="North", status="approved", signed_from="2025-05-30"),
    ]
    with reading(ctx.db_path) as db:
        before = [[row["id"] for row in list_decisions(db, query)] for query in searches]
    assert before == [[first], [second], [second, first], [second, first], [second, first]]

    later = Context(ctx.db_path, clock=Clock(TODAY), retention=SHORT)
    retention.dispose(later, SYSTEM, TODAY.date())

    with reading(ctx.db_path) as db:
        assert [list_decisions(db, query) for query in searches] == [[]] * len(searches)
        assert [count_decisions(db, query) for query in searches] == [0] * len(searches)


def test_a_disposal_takes_the_facets_out_of_the_index(tmp_path: Path) -> None:
    ctx, first, second = _service_store(tmp_path / "closure.db")
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
    ctx, first, _ = _service_store(tmp_path / "closure.db")
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
    ctx, _, _ = _service_store(tmp_path / "closure.db")
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


FILTERED_SEARCHES = [
    DecisionQuery(text="police", team="South"),
    DecisionQuery(text="police attendance", team="South", status="submitted"),
    DecisionQuery(text="polic", signed_to="2024-01-01"),
    DecisionQuery(text="police", has_exceptions=True),
]
"""Common words, a filter few decisions pass."""


@pytest.mark.parametrize(
    "query",
    FILTERED_SEARCHES,
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


# On PostgreSQL: the stored words, read where they are, and the page where it ends ------------

POSTGRES_SEARCHES = [
    DecisionQuery(text="police", team="South"),
    DecisionQuery(text="police attendance", team="South", status="submitted"),
    DecisionQuery(text="polic", signed_to="2024-01-01"),
    DecisionQuery(text="police", has_exceptions=True),
    DecisionQuery(text="police", status="approved"),
    DecisionQuery(text="youth", has_re_referral=False, closure_reason="RC1"),
    DecisionQuery(text="attendance"),
]


class _Explained:
    """A PostgreSQL connection that also records the plan of every query it runs, as the
    query ran (EXPLAIN ANALYZE, in the same transaction and settings)."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.plans: list[str] = []

    def _explain(self, sql: str, params: Any) -> None:
        if sql.startswith(("SELECT", "WITH")):
            rows = self.db.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params)
            self.plans.append("\n".join(row[0] for row in rows.fetchall()))

    def execute(self, sql: str, params: Any = None) -> Any:
        self._explain(sql, params)
        return self.db.execute(sql, params)

    def query(self, sql: str, params: Any = None) -> Iterator[dict[str, Any]]:
        self._explain(sql, params)
        return self.db.query(sql, params)


@pytest.fixture(scope="module")
def many_on_postgres(request: pytest.FixtureRequest) -> Iterator[Synthetic]:
    """1,000 decisions with the same words in PostgreSQL, five of the team South (the
    oldest), analysed: the planner sees what it would in a live database."""
    store = _many_matches(new_store("postgresql", Path(), request), 1000)
    store.conn.execute("ANALYZE")
    store.commit()
    yield store
    store.conn.close()


@pytest.mark.parametrize(
    "query",
    POSTGRES_SEARCHES,
    ids=[
        "team",
        "two words, team and status",
        "a date range",
        "no match",
        "status",
        "re-referral and reason",
        "words alone",
    ],
)
def test_postgresql_never_works_out_a_decisions_words_again(
    many_on_postgres: Synthetic, query: DecisionQuery
) -> None:
    """A decision's words are stored beside it (p010): no plan works them out again from its
    text (~1 ms a decision), whichever way in the planner takes (decision #81)."""
    store = many_on_postgres
    with reading(store.store) as db:
        explained = _Explained(db)
        listed = [row["id"] for row in list_decisions(explained, query)]  # type: ignore[arg-type]
        counted = count_decisions(explained, query)  # type: ignore[arg-type]
    expected = brute_force(store.rows, query)
    assert (listed, counted) == (expected[: query.limit], len(expected))
    assert len(explained.plans) == 2
    for plan in explained.plans:
        assert "to_tsvector" not in plan, plan


def test_the_stored_words_cannot_be_written(many_on_postgres: Synthetic) -> None:
    """The server generates them from the row's own text: a decision's words cannot be made
    to differ from it (nothing else keeps them, so `verify` has nothing to compare)."""
    from psycopg.errors import GeneratedAlways

    conn = many_on_postgres.conn
    try:
        with pytest.raises(GeneratedAlways):
            conn.execute(f"UPDATE decisions SET {STORED_WORDS} = to_tsvector('forged')")
    finally:
        conn.conn.rollback()


def test_a_database_made_before_p010_has_its_decisions_words_stored_by_the_migration(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decisions written under p009 alone (words in an index on an expression) are found
    alike once p010 has stored their words, and nothing is left to migrate."""
    from closure_readiness.storage import postgres, schema_postgres

    url = new_store("postgresql", Path(), request)
    assert isinstance(url, PostgresURL)
    with monkeypatch.context() as before:
        before.setattr(schema_postgres, "MIGRATIONS", [schema_postgres.p009_schema])
        store = _filled(Synthetic(url))
    store.conn.close()
    postgres._migrated.discard(url.url)
    ensure_migrated(url)
    with reading(url) as db:
        assert schema_postgres.pending(db) == []  # type: ignore[arg-type]
        for query in (DecisionQuery(text="police"), DecisionQuery(text="youth", team="North")):
            found = [row["id"] for row in list_decisions(db, query)]
            assert found == brute_force(store.rows, query)[: query.limit], query
            assert found


def _rows_read(plan: str) -> int:
    """The decisions and reviews a plan read (EXPLAIN ANALYZE): those each scan returned, and
    those it turned away."""
    read = 0
    scanning = False
    for line in plan.splitlines():
        scan = re.search(
            r"Scan.* on (decisions|reviews)(?: \w+)? \(actual rows=(\d+) loops=(\d+)", line
        )
        if scan:
            read += int(scan.group(2)) * int(scan.group(3))
            scanning = True
        elif scanning and (
            removed := re.search(r"Rows Removed by (?:Filter|Index Recheck): (\d+)", line)
        ):
            read += int(removed.group(1))
        elif "->" in line:
            scanning = False
    return read


@pytest.mark.parametrize(
    "query",
    FILTERED_SEARCHES,
    ids=["team", "two words, team and status", "a date range", "no match"],
)
def test_a_filtered_search_on_postgresql_reads_no_more_rows_with_ten_times_the_matches(
    postgres_growth: tuple[Synthetic, Synthetic], query: DecisionQuery
) -> None:
    """Ten times the decisions matching the words, the same few matching the filter: the
    words' index alone would read every match, and working each one's words out again ~1 ms
    each. A list's page and its capped count read about the same rows at both sizes: the
    planner walks a filter's index, or the decisions newest first, and stops."""
    read = []
    for store in postgres_growth:
        with reading(store.store) as db:
            explained = _Explained(db)
            listed = list_decisions(explained, query)  # type: ignore[arg-type]
            counted = count_decisions(explained, query)  # type: ignore[arg-type]
        expected = brute_force(store.rows, query)
        assert ([row["id"] for row in listed], counted) == (
            expected[: query.limit],
            min(len(expected), queries.COUNT_CAP + 1),
        )
        read.append(sum(_rows_read(plan) for plan in explained.plans))
    assert read[1] <= 1.3 * read[0] + 10, (read, explained.plans)


@pytest.fixture(scope="module")
def postgres_growth(request: pytest.FixtureRequest) -> Iterator[tuple[Synthetic, Synthetic]]:
    """300 and 3,000 decisions with the same words in PostgreSQL, analysed."""
    stores = tuple(_many_matches(new_store("postgresql", Path(), request), n) for n in (300, 3000))
    for store in stores:
        store.conn.execute("ANALYZE")
        store.commit()
    yield stores  # type: ignore[misc]
    for store in stores:
        store.conn.close()


# Words: the same decisions found on both engines ---------------------------------------------


def test_search_words_become_quoted_lexemes_never_operators() -> None:
    assert queries.tsquery_expression("Police  YOUTH") == "'Police' & 'YOUTH':*"
    assert queries.tsquery_expression("'&|!():*\\ <-> police") == "'police':*"
    assert queries.tsquery_expression("x' | 'y") == "'x' & 'y':*"
    assert queries.tsquery_expression("don't") == "'don' & 't':*"
    assert queries.tsquery_expression("&|!") is None
    assert queries.tsquery_expression(" ".join(f"w{n}" for n in range(20))) == (
        " & ".join(f"'w{n}'" for n in range(11)) + " & 'w11':*"
    )


SPELLINGS = {
    "CR-2025-0412 seen": ["2025 0412", "CR-2025-0412", "cr 2025", "0412"],
    "Mail police@example.com today": ["example", "police example com", "example.com"],
    "Record at www.agency.test.org/a/b.pdf": ["agency", "test org", "b pdf", "www.agency"],
    "Path /tmp/x.db and v1.2.3": ["tmp", "x db", "v1", "v1 2 3"],
    "Attendance 3.5 days, up 61% to 94%": ["3 5", "61", "94"],
    "Read <b>bold</b> &amp; more": ["bold", "amp"],
    "Mother's partner_name": ["mother", "partner", "name", "partner_name"],
}
"""Text as caseworkers write it, and words that find it: FTS5 splits at every punctuation
mark; PostgreSQL's parser would keep a hyphenated number, an address, a path or a decimal
whole (`schema_postgres.SEARCH_WORDS` puts a space for each mark first)."""


def test_words_are_split_at_punctuation_alike_on_both_engines(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = Synthetic(new_store(engine, tmp_path, request))
    made = {
        text: store.decision(
            team="North",
            reason="RC1",
            exceptions=0,
            signed_at=f"2025-03-0{n}T10:00:00+00:00",
            text=text,
        )
        for n, text in enumerate(SPELLINGS, start=1)
    }
    store.commit()
    found = {
        (text, words): store.listed(DecisionQuery(text=words))
        for text, spellings in SPELLINGS.items()
        for words in spellings
    }
    assert found == {(text, words): [made[text]] for text, words in found}
    assert store.listed(DecisionQuery(text="police com")) == [made["Mail police@example.com today"]]
    store.conn.close()


def test_accents_are_folded_on_sqlite_only(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """FTS5's tokenizer folds diacritics; PostgreSQL's 'simple' configuration does not (no
    extension is asked of the server: `queries.tsquery_expression`). Typed as written, with
    any case, a word is found on both."""
    store = Synthetic(new_store(engine, tmp_path, request))
    accented = store.decision(
        team="North",
        reason="RC1",
        exceptions=0,
        signed_at="2025-03-03T10:00:00+00:00",
        text="Équipe naïve",
    )
    store.commit()
    assert store.listed(DecisionQuery(text="Équipe")) == [accented]
    assert store.listed(DecisionQuery(text="ÉQUIPE naï")) == [accented]
    folded = store.listed(DecisionQuery(text="equipe naive"))
    assert folded == ([accented] if engine == "sqlite" else [])
    store.conn.close()


def test_the_teams_are_listed_in_the_same_order_on_both_engines(shared: Synthetic) -> None:
    """Byte order of their UTF-8 (SQLite's BINARY, PostgreSQL's "C"): "" first, "Équipe"
    after every ASCII name."""
    with shared.reading() as db:
        listed = queries.teams(db)
    assert listed == sorted({row["team"] for row in shared.rows.values()}, key=str.encode)
    assert (listed[0], listed[-1]) == ("", "Équipe Nord")


HOSTILE_WORDS = [
    "'&|!():*\\",
    "'; DROP TABLE decisions; --",
    "police' | '1",
    "police:* | !youth",
    "police & !police",
    "<-> police <2> youth",
    "\\' police",
    '" OR 1=1 --',
    "%s %(x)s ? :name $1",
]


@pytest.mark.parametrize("words", HOSTILE_WORDS, ids=repr)
def test_hostile_words_are_only_ever_words(shared: Synthetic, words: str) -> None:
    """Operators of either engine's query language, quotes and SQL in the words: the words
    the text holds are looked for, all of them, and nothing else happens."""
    query = DecisionQuery(text=words, limit=500)
    expected = brute_force(shared.rows, query)
    assert shared.listed(query) == expected
    assert shared.counted(query) == len(expected)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    team=st.one_of(st.sampled_from(TEAMS), st.text(max_size=30)),
    reason=st.one_of(st.none(), st.sampled_from(REASONS), st.text(max_size=30)),
    status=st.one_of(st.none(), st.text(max_size=20)),
    text=st.text(max_size=40),
)
@example(team="North\x00", reason="RC1", status=None, text="police")
@example(team="North", reason=None, status="approved\x00", text="'&|!():*\\")
@example(team="'; DROP TABLE decisions; --", reason=None, status=None, text="police:* | !x")
def test_hostile_filters_and_words_are_only_ever_values(
    shared: Synthetic, team: str, reason: str | None, status: str | None, text: str
) -> None:
    """Quotes, FTS5 and tsquery operators, column names and any character (NUL too, which
    PostgreSQL's text cannot hold) in a filter or the words: never an error, never a decision
    outside the filter."""
    query = DecisionQuery(team=team, closure_reason=reason, status=status, text=text or "police")
    with shared.reading() as db:
        listed = list_decisions(db, query)
        counted = count_decisions(db, query)
    assert all(row["team"] == team for row in listed)
    assert not reason or all(row["closure_reason"] == reason for row in listed)
    assert not status or all(row["status"] == status for row in listed)
    assert counted >= len(listed)
