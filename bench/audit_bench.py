"""The auditor's reads at 100k decisions: the filtered list, full-text search, the learning
figures, each through the service (audit event included) against the bare SQL it runs; and
readers opening decisions at once (1, 8, 32 threads) against raw sqlite3 doing the same work."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import hashlib
import multiprocessing
import random
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bench.harness import Measurement, compare, median_ms
from bench.store_bench import FULL_DECISIONS, QUICK_DECISIONS, TEAMS, cached_store
from closure_readiness.core.words import start_of_day_utc
from closure_readiness.service import auditing, decisions
from closure_readiness.service.context import Context, Principal, Role
from closure_readiness.storage import queries
from closure_readiness.storage.database import ensure_migrated
from closure_readiness.storage.queries import TEXT_COLUMNS, DecisionQuery, fts_expression

AUDITOR = Principal("AU-BENCH", "Benchmark auditor", Role.AUDITOR, "")
SEARCH_WORDS = ("attendance", "police", "boxing", "college", "missing", "youth", "aunt", "CR")
SEARCH_PHRASES = ("police attendance", "college boxing", "youth missing aunt", "attendance pol")
"""Several words: every one required, the last a prefix (as the search box does)."""
FILTERED_SEARCHES = {
    "a common word, one team, returned": DecisionQuery(
        text="attendance", team=TEAMS[1], status="returned"
    ),
    "a common word, signed in one week": DecisionQuery(
        text="police", signed_from="2023-06-05", signed_to="2023-06-11"
    ),
    "two words, one team, one week": DecisionQuery(
        text="police attendance", team=TEAMS[0], signed_from="2023-06-05", signed_to="2023-06-11"
    ),
    "a common word, with exceptions (none)": DecisionQuery(text="police", has_exceptions=True),
    "two words, one team, returned": DecisionQuery(
        text="police attendance", team=TEAMS[5], status="returned"
    ),
}
"""A common word and a selective filter: before m008 the list walked every text match,
newest first, joining each to its row until a page was full (never, when few match)."""


def _with_auditor(path: Path) -> Context:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT OR IGNORE INTO staff (id, issuer, subject, display_name, role, team, "
            "active, created_at) VALUES (?, 'bench', 'auditor', ?, 'auditor', '', 1, "
            "'2026-01-01T00:00:00+00:00')",
            [AUDITOR.staff_id, AUDITOR.display_name],
        )
    conn.close()
    return Context(path)


def run(repeat: int, *, quick: bool = False) -> list[Measurement]:
    size = QUICK_DECISIONS if quick else FULL_DECISIONS
    folder = Path(tempfile.mkdtemp(prefix="closure-bench-audit-"))
    try:
        path = folder / "store.db"
        shutil.copyfile(cached_store(size), path)
        ctx = _with_auditor(path)
        rows = _reads(ctx, path, size, repeat) + bench_concurrent_readers(ctx, path, size, repeat)
        return rows + _search_growth(folder, max(5, repeat // 4))
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # a copy of the store: gigabytes at 100k


def _reads(ctx: Context, path: Path, size: int, repeat: int) -> list[Measurement]:
    raw = sqlite3.connect(path)
    rounds = max(5, repeat // 4)
    filtered = DecisionQuery(team=TEAMS[1], status="approved", has_exceptions=False, limit=50)

    def bare_list() -> object:
        return raw.execute(
            "SELECT d.id, d.case_reference FROM decisions d LEFT JOIN outcomes o "
            "ON o.decision_id = d.id WHERE d.team = ? AND o.outcome = 'approved' "
            "AND d.exceptions = 0 ORDER BY d.signed_at DESC LIMIT 50",
            [TEAMS[1]],
        ).fetchall()

    rows = [
        compare(
            f"auditor's filtered list, {size:,} decisions (service call)",
            lambda: auditing.list_decisions(ctx, AUDITOR, filtered),
            "bare SQL of the same page",
            bare_list,
            repeat=rounds,
            target=None,
            limit_ms=50,
        )
    ]
    per_word = {
        word: median_ms(
            functools.partial(auditing.list_decisions, ctx, AUDITOR, DecisionQuery(text=word)),
            repeat=rounds,
            warmup=1,
        )
        for word in SEARCH_WORDS
    }
    worst_word = max(per_word, key=lambda w: per_word[w])

    def bare_search() -> object:
        return raw.execute(
            "SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH ? "
            "ORDER BY rowid DESC LIMIT 50",
            [fts_expression("attendance")],
        ).fetchall()

    floor = median_ms(bare_search, repeat=rounds)
    rows.append(
        Measurement(
            name=f"full-text search, median of {len(SEARCH_WORDS)} words (service call)",
            subject_ms=statistics.median(per_word.values()),
            floor_name="bare FTS match, newest 50",
            floor_ms=floor,
            target=None,
            limit_ms=100,
        )
    )
    rows.append(
        Measurement(
            name=f"full-text search, worst single word ('{worst_word}')",
            subject_ms=per_word[worst_word],
            floor_name="bare FTS match, newest 50",
            floor_ms=floor,
            target=None,
            limit_ms=500,
        )
    )

    rows += _search_rows(ctx, raw, rounds)

    def learning_first_time() -> object:
        auditing.clear_learning_cache()
        return auditing.learning(ctx, AUDITOR)

    rows.append(
        compare(
            f"learning figures, {size:,} decisions, first computation",
            learning_first_time,
            "bare SQL: closures per month",
            lambda: raw.execute(
                "SELECT substr(decided_at, 1, 7), count(*) FROM outcomes "
                "WHERE outcome = 'approved' GROUP BY 1"
            ).fetchall(),
            repeat=max(5, rounds // 2),
            target=None,
            limit_ms=300,
        )
    )
    rows.append(
        compare(
            f"learning figures, {size:,} decisions, data unchanged since (cached)",
            lambda: auditing.learning(ctx, AUDITOR),
            "bare SQL: closures per month",
            lambda: raw.execute(
                "SELECT substr(decided_at, 1, 7), count(*) FROM outcomes "
                "WHERE outcome = 'approved' GROUP BY 1"
            ).fetchall(),
            repeat=max(5, rounds // 2),
            target=None,
            limit_ms=300,
        )
    )
    raw.close()
    return rows


# Searching with words and filters ------------------------------------------------------------


def _bare_fts(raw: sqlite3.Connection, text: str) -> Callable[[], object]:
    """The floor of a search: the same words matched by raw sqlite3, no filter, newest 50
    (the index alone: the least any search of these words can do)."""
    expression = f"{TEXT_COLUMNS} : ({fts_expression(text)})"
    return lambda: raw.execute(
        "SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH ? ORDER BY rowid DESC LIMIT 50",
        [expression],
    ).fetchall()


def _before_m008(raw: sqlite3.Connection, query: DecisionQuery) -> Callable[[], object]:
    """The page and the capped count as the list ran them before m008 (raw SQL): every text
    match joined to its decision and outcome, the filters checked row by row."""
    clauses: list[str] = ["decisions_fts MATCH ?"]
    params: list[Any] = [f"{TEXT_COLUMNS} : ({fts_expression(query.text or '')})"]
    if query.team is not None:
        clauses.append("d.team = ?")
        params.append(query.team)
    if query.status == "submitted":
        clauses.append("o.decision_id IS NULL")
    elif query.status:
        clauses.append("o.outcome = ?")
        params.append(query.status)
    if query.signed_from:
        clauses.append("d.signed_at >= ?")
        params.append(start_of_day_utc(query.signed_from))
    if query.signed_to:
        following = dt.date.fromisoformat(query.signed_to) + dt.timedelta(days=1)
        clauses.append("d.signed_at < ?")
        params.append(start_of_day_utc(following))
    if query.has_exceptions is not None:
        clauses.append("d.exceptions > 0" if query.has_exceptions else "d.exceptions = 0")
    clauses.append("d.disposed_on IS NULL")
    source = (
        "decisions d JOIN decisions_fts ON decisions_fts.rowid = d.id "
        "LEFT JOIN outcomes o ON o.decision_id = d.id WHERE " + " AND ".join(clauses)
    )

    def run() -> object:
        page = raw.execute(
            f"SELECT d.id, d.team, d.signed_at, coalesce(o.outcome, 'submitted') FROM {source} "
            "ORDER BY decisions_fts.rowid DESC LIMIT 50",
            params,
        ).fetchall()
        count = raw.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {source} LIMIT 1001)", params
        ).fetchone()
        return page, count

    return run


def _search_rows(ctx: Context, raw: sqlite3.Connection, rounds: int) -> list[Measurement]:
    """Several words, and words with a selective filter: the worst of each through the service
    (audit event included), and the list's own queries (page and capped count) now and as
    they ran before m008, each against the bare match of the same words (the floor)."""
    db = Database(raw)

    def now(query: DecisionQuery) -> Callable[[], object]:
        return lambda: (
            queries.list_decisions(db, query),
            queries.count_decisions(db, query),
        )

    def timed(action: Callable[[], object]) -> float:
        return median_ms(action, repeat=rounds, warmup=1)

    phrases = {text: timed(now(DecisionQuery(text=text))) for text in SEARCH_PHRASES}
    worst_phrase = max(phrases, key=lambda text: phrases[text])
    rows = [
        Measurement(
            name=f"search, several words: worst of {len(SEARCH_PHRASES)} ('{worst_phrase}'), "
            "page and count",
            subject_ms=phrases[worst_phrase],
            floor_name="bare FTS match of the same words, newest 50",
            floor_ms=timed(_bare_fts(raw, worst_phrase)),
            target=None,
        )
    ]
    service = {
        name: timed(functools.partial(auditing.list_decisions, ctx, AUDITOR, query))
        for name, query in FILTERED_SEARCHES.items()
    }
    worst = max(service, key=lambda name: service[name])
    rows.append(
        Measurement(
            name=f"search, words and a selective filter: worst ('{worst}'), service call",
            subject_ms=service[worst],
            floor_name="bare FTS match of the same words, newest 50",
            floor_ms=timed(_bare_fts(raw, FILTERED_SEARCHES[worst].text or "")),
            target=None,
            limit_ms=100,
        )
    )
    for name, query in FILTERED_SEARCHES.items():
        floor = _bare_fts(raw, query.text or "")
        rows.append(
            compare(
                f"search, {name}: page and count",
                now(query),
                "bare FTS match of the words",
                floor,
                repeat=rounds,
                target=None,
            )
        )
        rows.append(
            compare(
                f"search, {name}: page and count before m008",
                _before_m008(raw, query),
                "bare FTS match of the words",
                floor,
                repeat=rounds,
                target=None,
            )
        )
    return rows


GROWTH_SIZES = (2_000, 20_000)
RARE_TEAM = "Rare Team"


def _synthetic_store(path: Path, decisions: int) -> None:
    """`decisions` decisions (rows of the real size: a ~24 KB seal, ~3 KB of words), every one
    with the word 'police', the 5 oldest in RARE_TEAM: written straight in, triggers on."""
    ensure_migrated(path)
    conn = sqlite3.connect(path)
    filler = " ".join(f"word{n % 500}" for n in range(400))
    sealed, words = "x" * 24_000, f"police attendance {filler}"
    start = dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC)
    with conn:
        for n in range(1, decisions + 1):
            at = (start + dt.timedelta(minutes=5 * n)).isoformat()
            team = RARE_TEAM if n <= 5 else TEAMS[0]
            conn.execute(
                "INSERT INTO reviews (id, case_reference, team, worker_id, status, version, "
                "content, content_hash, proposed_closure_on, created_at, updated_at) "
                "VALUES (?, ?, ?, 'SW-1', 'draft', 1, '{}', '', '2025-01-01', ?, ?)",
                [n, f"CR-S{n:06d}", team, at, at],
            )
            conn.execute(
                "INSERT INTO decisions (id, review_id, case_reference, team, closure_reason, "
                "signed_by, signed_at, as_of, checks_version, sign_off_possible, exceptions, "
                "cautions, sealed, content_hash, search_text) VALUES "
                "(?, ?, ?, ?, 'RC1', 'SW-1', ?, ?, '2.0.0', 1, 0, 0, ?, ?, ?)",
                [n, n, f"CR-S{n:06d}", team, at, at[:10], sealed, _digest(n), words],
            )
    conn.close()


def _digest(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def _page_and_count(db: Database, query: DecisionQuery) -> Callable[[], object]:
    def search() -> object:
        return queries.list_decisions(db, query), queries.count_decisions(db, query)

    return search


def _search_growth(folder: Path, rounds: int) -> list[Measurement]:
    """A common word and a filter matching the same 5 decisions, with 10x more decisions
    matching the word: the list now, and as before m008, at each size against the bare
    match of the word (synthetic stores of real-sized rows)."""
    rows = []
    query = DecisionQuery(text="police", team=RARE_TEAM)
    for size in GROWTH_SIZES:
        path = folder / f"growth-{size}.db"
        _synthetic_store(path, size)
        raw = sqlite3.connect(path)
        db = Database(raw)
        floor = _bare_fts(raw, "police")
        rows.append(
            compare(
                f"search, a common word and a team of 5 decisions, {size:,} matching the word: "
                "page and count",
                _page_and_count(db, query),
                "bare FTS match of the word",
                floor,
                repeat=rounds,
                target=None,
            )
        )
        rows.append(
            compare(
                f"search, a common word and a team of 5 decisions, {size:,} matching the word: "
                "before m008",
                _before_m008(raw, query),
                "bare FTS match of the word",
                floor,
                repeat=rounds,
                target=None,
            )
        )
        raw.close()
    return rows


def search_only(store: Path, repeat: int = 20) -> list[Measurement]:
    """The search rows alone, on a copy of `store` (migrated first), and the growth rows."""
    folder = Path(tempfile.mkdtemp(prefix="closure-bench-search-"))
    try:
        path = folder / "store.db"
        shutil.copyfile(store, path)
        ctx = _with_auditor(path)
        raw = sqlite3.connect(path)
        try:
            rows = _search_rows(ctx, raw, max(5, repeat // 4))
        finally:
            raw.close()
        path.unlink()
        return rows + _search_growth(folder, max(5, repeat // 4))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Readers opening decisions at once -----------------------------------------------------------

READER_COUNTS = (1, 8, 32)


def _concurrently(
    readers: int, views: int, open_one: Callable[[int], object], ids: list[int]
) -> tuple[list[float], int, float]:
    """`readers` threads sharing `views` openings of random decisions, started together:
    every opening's time (ms), how many failed, and the wall time (s)."""
    samples: list[float] = []
    failures = 0
    lock = threading.Lock()
    start = threading.Barrier(readers + 1)
    share = [views // readers + (1 if i < views % readers else 0) for i in range(readers)]

    def reader(seed: int, count: int) -> None:
        nonlocal failures
        pick = random.Random(seed)
        start.wait()
        for _ in range(count):
            began = time.perf_counter_ns()
            try:
                open_one(pick.choice(ids))
            except Exception:  # "database is locked" and the like: counted, not fatal
                with lock:
                    failures += 1
                continue
            with lock:
                samples.append((time.perf_counter_ns() - began) / 1e6)

    threads = [threading.Thread(target=reader, args=(i, n)) for i, n in enumerate(share)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return samples, failures, time.perf_counter() - began


class _RawViewer:
    """The floor: the same work done the simplest way with raw sqlite3, on one connection per
    thread. Read the decision, its outcome and the audit trail of its review in a read
    transaction; then append one hash-chained audit row in a short write (BEGIN IMMEDIATE,
    synchronous=FULL, as the product writes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA synchronous = FULL")
            self.local.conn = conn
        return conn

    def __call__(self, decision_id: int) -> object:
        conn = self._conn()
        conn.execute("BEGIN")
        row = conn.execute("SELECT * FROM decisions WHERE id = ?", [decision_id]).fetchone()
        conn.execute("SELECT * FROM outcomes WHERE decision_id = ?", [decision_id]).fetchone()
        trail = conn.execute(
            "SELECT * FROM audit_events WHERE review_id = ? ORDER BY seq", [row[1]]
        ).fetchall()
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        seq, prev = conn.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        at = dt.datetime.now(dt.UTC).isoformat()
        body = f"{seq + 1}|{at}|{AUDITOR.staff_id}|decision_viewed|{row[1]}|{decision_id}|{{}}"
        digest = hashlib.sha256((prev + body).encode()).hexdigest()
        conn.execute(
            "INSERT INTO audit_events (seq, at, actor, action, review_id, decision_id, detail, "
            "prev_hash, hash) VALUES (?, ?, ?, 'decision_viewed', ?, ?, '{}', ?, ?)",
            [seq + 1, at, AUDITOR.staff_id, row[1], decision_id, prev, digest],
        )
        conn.execute("COMMIT")
        return trail


def bench_concurrent_readers(ctx: Context, path: Path, size: int, repeat: int) -> list[Measurement]:
    """1, 8 and 32 auditors opening decisions at once, each opening timed, against the floor
    with as many threads: the sealed decision alone (read, audited: the floor's work) and the
    whole decision view (the seal and chain checked, the trail read, the checks run again).
    Openings that fail ("database is locked") are counted in the row's name."""
    ids = _decision_ids(path)
    views = max(64, repeat)
    opens: dict[str, Callable[[int], object]] = {
        "the sealed decision": functools.partial(decisions.get_decision, ctx, AUDITOR),
        "the whole decision view": functools.partial(auditing.decision_detail, ctx, AUDITOR),
    }
    rows = []
    for what, open_one in opens.items():
        for readers in READER_COUNTS:
            floor_ms, floor_failed, floor_s = _concurrently(readers, views, _RawViewer(path), ids)
            subject_ms, failed, subject_s = _concurrently(readers, views, open_one, ids)
            name = (
                f"{readers} reader{'s' if readers > 1 else ''} at once opening {what}, "
                f"{size:,} decisions, per view ({failed} failed; "
                f"{len(subject_ms) / subject_s:.0f}/s, floor {len(floor_ms) / floor_s:.0f}/s)"
            )
            rows.append(_readers_row(name, subject_ms, floor_ms, floor_failed))
    for what in opens:
        rows.append(_in_processes(path, size, what, views))
    rows.append(_writer_beside_readers(path, size, opens["the whole decision view"], ids))
    return rows


PROCESSES, THREADS_EACH = 2, 4
"""Several server processes on one host (issue 12, item 9): each with its own readers."""


def _open_in_child(path: str, what: str, views: int, start: Any) -> tuple[list[float], int, float]:
    """In a child process: THREADS_EACH readers opening `what` (or the floor's raw work), once
    every process is ready (`start`, a barrier shared by them)."""
    ctx = Context(Path(path))
    ids = _decision_ids(Path(path))
    if what == "floor":
        open_one: Callable[[int], object] = _RawViewer(Path(path))
    elif what == "the sealed decision":
        open_one = functools.partial(decisions.get_decision, ctx, AUDITOR)
    else:
        open_one = functools.partial(auditing.decision_detail, ctx, AUDITOR)
    open_one(ids[0])  # imports and the first connection, before the clock starts
    start.wait()
    return _concurrently(THREADS_EACH, views, open_one, ids)


def _in_processes(path: Path, size: int, what: str, views: int) -> Measurement:
    """PROCESSES processes of THREADS_EACH readers at once, then the floor the same way."""
    spawn = multiprocessing.get_context("spawn")
    results = {}
    for kind in ("floor", what):
        with (
            spawn.Manager() as manager,
            concurrent.futures.ProcessPoolExecutor(PROCESSES, mp_context=spawn) as pool,
        ):
            start = manager.Barrier(PROCESSES)
            futures = [
                pool.submit(_open_in_child, str(path), kind, views, start) for _ in range(PROCESSES)
            ]
            runs = [future.result() for future in futures]
        samples = [ms for run in runs for ms in run[0]]
        rate = sum(len(run[0]) / run[2] for run in runs)
        results[kind] = (samples, sum(run[1] for run in runs), rate)
    (floor_ms, floor_failed, floor_rate), (subject_ms, failed, rate) = results.values()
    name = (
        f"{PROCESSES} processes x {THREADS_EACH} readers opening {what}, {size:,} "
        f"decisions, per view ({failed} failed; {rate:.0f}/s, floor {floor_rate:.0f}/s)"
    )
    return _readers_row(name, subject_ms, floor_ms, floor_failed)


def _readers_row(
    name: str, subject_ms: list[float], floor_ms: list[float], floor_failed: int
) -> Measurement:
    """A concurrent readers' row: medians and p90s against the raw sqlite3 floor."""
    return Measurement(
        name=name,
        subject_ms=statistics.median(subject_ms) if subject_ms else float("nan"),
        floor_name=f"raw sqlite3 read, then audit row ({floor_failed} failed)",
        floor_ms=statistics.median(floor_ms) if floor_ms else float("nan"),
        target=None,
        subject_p90_ms=_p90(subject_ms),
        floor_p90_ms=_p90(floor_ms),
    )


WRITES = 40


def _write_in_child(path: str) -> list[float]:
    """In another process (a sign-off from a second server process, or the command line): take
    the write lock and commit, WRITES times, 20 ms apart, each timed (the wait for the lock)."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA synchronous = FULL")
    samples = []
    for _ in range(WRITES):
        began = time.perf_counter_ns()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("COMMIT")
        samples.append((time.perf_counter_ns() - began) / 1e6)
        time.sleep(0.02)
    conn.close()
    return samples


def _writer_beside_readers(
    path: Path, size: int, open_one: Callable[[int], object], ids: list[int]
) -> Measurement:
    """How long a writer in another process waits for the write lock while 8 readers open
    decision views, against the same writer beside 8 floor readers (raw reads, short writes)."""
    spawn = multiprocessing.get_context("spawn")
    waits = []
    for reader in (_RawViewer(path), open_one):
        done = threading.Event()

        def read_until_done(
            seed: int, reader: Callable[[int], object] = reader, done: threading.Event = done
        ) -> None:
            pick = random.Random(seed)
            while not done.is_set():
                reader(pick.choice(ids))

        threads = [threading.Thread(target=read_until_done, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
            waits.append(pool.submit(_write_in_child, str(path)).result())
        done.set()
        for thread in threads:
            thread.join()
    floor_ms, subject_ms = waits
    return Measurement(
        name=f"a writer in another process, beside 8 readers opening decision views, {size:,}",
        subject_ms=statistics.median(subject_ms),
        floor_name="beside 8 raw sqlite3 readers",
        floor_ms=statistics.median(floor_ms),
        target=None,
        subject_p90_ms=_p90(subject_ms),
        floor_p90_ms=_p90(floor_ms),
    )


def _decision_ids(path: Path) -> list[int]:
    raw = sqlite3.connect(path)
    try:
        rows = raw.execute("SELECT id FROM decisions WHERE disposed_on IS NULL").fetchall()
    finally:
        raw.close()
    return [row[0] for row in rows]


def _p90(samples: list[float]) -> float | None:
    return statistics.quantiles(samples, n=10)[-1] if len(samples) >= 10 else None


if __name__ == "__main__":  # python -m bench.audit_bench [STORE]: the search rows alone
    import sys

    from bench.harness import table

    store = Path(sys.argv[1]) if len(sys.argv) > 1 else cached_store(QUICK_DECISIONS)
    print(table(search_only(store)))
