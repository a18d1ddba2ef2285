"""The store under load: a sign-off on a database of 100k decisions, and verifying all of them.

The sign-off (a review with 30 evidence items: checks re-run, seal, findings, status, audit
event, commit with synchronous=FULL) is compared with a raw sqlite3 transaction writing rows of
the same size to the same database, once with another connection open and once alone (then
closing the only connection checkpoints the WAL). `verify` is compared with reading every
decision row.

Building 100k decisions through the service takes too long, so `build_store` writes them with
executemany: sealed texts made by the real service for two template reviews, given a new case
reference, team, worker, review id and time each, with correct seals and a correct audit chain
(`verify` passes on it). The database is cached under bench/results/ by a key naming this
builder's version, the schema and the size; the benchmark works on a copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.checks_bench import BASE, review_with_evidence
from bench.harness import Measurement, compare, median_ms
from closure_readiness.checks import evaluate
from closure_readiness.checks.runner import CHECKS_VERSION
from closure_readiness.core.canonical import canonical_json
from closure_readiness.core.review import Review
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import SYSTEM, Context, Principal, Role
from closure_readiness.storage.audit import event_hash
from closure_readiness.storage.database import ensure_migrated, reading
from closure_readiness.storage.integrity import sha256_text, verify
from closure_readiness.storage.schema import GENESIS_HASH

BUILDER_VERSION = "1"
"""Bump when the builder changes what it writes; the schema is part of the cache key anyway."""
RESULTS = Path(__file__).resolve().parent / "results"
FULL_DECISIONS = 100_000
QUICK_DECISIONS = 10_000
BATCH = 2_000
TEAMS = (
    "North Adolescent Team",
    "South Adolescent Team",
    "East Adolescent Team",
    "West Adolescent Team",
    "Central Adolescent Team",
    "Leaving Care Team",
)
WORKERS_PER_TEAM = 8
MANAGERS_PER_TEAM = 2
ISSUER = "http://127.0.0.1:9400"
FIRST_SIGN_OFF = dt.datetime(2023, 6, 1, 9, tzinfo=dt.UTC)
BETWEEN_SIGN_OFFS = dt.timedelta(minutes=9)
BENCH_TEAM, BENCH_WORKER = TEAMS[0], "SW-00-0"

# Placeholders the template reviews are signed off with, replaced for every stored decision.
_REF, _TEAM, _WORKER = "CR-TEMPLATE-X9", "Template Team", "SWTEMPLATE"
_SIGNED_AT = "2025-05-30T10:00:00+00:00"
_PARTNER_AGENCIES = {"school", "police", "health", "voluntary", "youth_justice", "housing"}


def signable_review_with_evidence(count: int = 30) -> Review:
    """`review_with_evidence(count)` made ready to sign: every agency consulted and notified,
    and a rationale for each open caution (the checks benchmark's review is not)."""
    document = json.loads(review_with_evidence(count))
    agencies = sorted({item["agency"] for item in document["evidence"]} & _PARTNER_AGENCIES)
    exit_, sharing = document["answers"]["exit"], document["answers"]["sharing"]
    exit_["notified"] = sorted(set(exit_["notified"]) | set(agencies))
    sharing["consulted"] = sorted(set(sharing["consulted"]) | set(agencies))
    review = Review.model_validate(document)
    report = evaluate(review, as_of=review.case.proposed_closure_on)
    document["rationales"] = {
        finding.check_id: "Isolated concerns, each followed up; the change has held since."
        for finding in report.open_cautions
    }
    review = Review.model_validate(document)
    assert evaluate(review, as_of=review.case.proposed_closure_on).sign_off_possible
    return review


@dataclass(frozen=True)
class Template:
    """One real sign-off, as text with placeholders to fill for each stored decision."""

    content: str
    """The review as stored in `reviews.content`."""
    canonical: str
    """The same review as canonical JSON (what `content_hash` hashes)."""
    sealed: str
    search_text: str
    findings: list[tuple[Any, ...]]
    exceptions: int
    cautions: int
    closure_reason: str
    as_of: str

    def fill(self, text: str, *, reference: str, team: str, worker: str, signed_at: str) -> str:
        return (
            text.replace(_REF, reference)
            .replace(_TEAM, team)
            .replace(_WORKER, worker)
            .replace(_SIGNED_AT, signed_at)
        )


def _templates() -> list[Template]:
    """Sign off the two template reviews with the real service and keep what it stored."""
    ready = Review.model_validate_json(BASE.read_text(encoding="utf-8"))
    return [_template(review) for review in (signable_review_with_evidence(30), ready)]


def _template(review: Review) -> Template:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "template.db"
        ctx = Context(path, clock=lambda: dt.datetime.fromisoformat(_SIGNED_AT))
        worker = staff.add_staff(
            ctx,
            SYSTEM,
            staff_id=_WORKER,
            issuer=ISSUER,
            subject="template",
            display_name="Template worker",
            role=Role.CASEWORKER,
            team=_TEAM,
        ).principal()
        review = review.model_copy(
            update={"case": review.case.model_copy(update={"case_reference": _REF})}
        )
        review_id = reviews.start_review(ctx, worker, review.case)
        reviews.save_review(ctx, worker, review_id, review, expected_version=1)
        seen = reviews.get_review(ctx, worker, review_id).content_hash
        decision_id = reviews.sign_off(ctx, worker, review_id, seen_hash=seen, attested=True)
        with reading(path) as db:
            decision = db.execute(
                "SELECT sealed, search_text, exceptions, cautions, closure_reason, as_of "
                "FROM decisions WHERE id = ?",
                [decision_id],
            ).fetchone()
            content = db.execute("SELECT content FROM reviews WHERE id = ?", [review_id]).fetchone()
            findings = db.execute(
                "SELECT finding_key, check_id, level, resolution, resolved_by "
                "FROM decision_findings WHERE decision_id = ? ORDER BY finding_key",
                [decision_id],
            ).fetchall()
    # The review id is the only sealed field not filled as text: make it a placeholder too.
    sealed = decision[0].replace(
        f'"review_id":{review_id},"signed_at"', '"review_id":"@ID@","signed_at"', 1
    )
    assert '"@ID@"' in sealed
    return Template(
        content=content[0],
        canonical=canonical_json(json.loads(content[0])),
        sealed=sealed,
        search_text=decision[1],
        findings=[tuple(row) for row in findings],
        exceptions=decision[2],
        cautions=decision[3],
        closure_reason=decision[4],
        as_of=decision[5],
    )


def _schema_key() -> str:
    """A digest of the schema the migrations create: a schema change invalidates the cache."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schema.db"
        ensure_migrated(path)
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '_sqlite_%' "
                "ORDER BY type, name"
            ).fetchall()
            # Migration names too: a renamed migration would be applied again to a cached store.
            rows += conn.execute("SELECT name, name, name FROM _sqlite_migrations").fetchall()
        finally:
            conn.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:10]


def _staff_rows() -> Iterator[tuple[Any, ...]]:
    created = (FIRST_SIGN_OFF - dt.timedelta(days=30)).isoformat()
    for t, team in enumerate(TEAMS):
        for w in range(WORKERS_PER_TEAM):
            staff_id = f"SW-{t:02d}-{w}"
            name = f"Synthetic caseworker {staff_id}"
            yield (staff_id, ISSUER, staff_id.lower(), name, "caseworker", team, created)
        for m in range(MANAGERS_PER_TEAM):
            staff_id = f"TM-{t:02d}-{m}"
            name = f"Synthetic manager {staff_id}"
            yield (staff_id, ISSUER, staff_id.lower(), name, "team_manager", team, created)
    yield ("AU-1", ISSUER, "au-1", "Synthetic auditor", "auditor", "", created)


class _Chain:
    """Audit events with a correct hash chain, appended in memory and written in batches."""

    def __init__(self) -> None:
        self.seq, self.prev_hash = 0, GENESIS_HASH
        self.rows: list[tuple[Any, ...]] = []

    def append(
        self,
        at: str,
        actor: str,
        action: str,
        review_id: int | None,
        decision_id: int | None,
        detail: dict[str, Any],
    ) -> None:
        self.seq += 1
        text = canonical_json(detail)
        digest = event_hash(
            prev_hash=self.prev_hash,
            seq=self.seq,
            at=at,
            actor=actor,
            action=action,
            review_id=review_id,
            decision_id=decision_id,
            detail=text,
        )
        self.rows.append(
            (self.seq, at, actor, action, review_id, decision_id, text, self.prev_hash, digest)
        )
        self.prev_hash = digest

    def flush(self, conn: sqlite3.Connection) -> None:
        conn.executemany("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self.rows)
        self.rows.clear()


def build_store(path: Path, decisions: int) -> None:
    """A store holding `decisions` signed-off reviews: 70% approved, 10% returned, 20% waiting."""
    templates = _templates()
    ensure_migrated(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # A throwaway file until it is renamed into the cache: no journal needed while building.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO staff (id, issuer, subject, display_name, role, team, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            _staff_rows(),
        )
        chain = _Chain()
        for start in range(1, decisions + 1, BATCH):
            _insert_batch(conn, chain, templates, range(start, min(start + BATCH, decisions + 1)))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


def _insert_batch(
    conn: sqlite3.Connection, chain: _Chain, templates: list[Template], ids: range
) -> None:
    review_rows, decision_rows, finding_rows, outcome_rows, statuses = [], [], [], [], []
    for i in ids:
        template = templates[i % len(templates)]
        t = i % len(TEAMS)
        team = TEAMS[t]
        worker = f"SW-{t:02d}-{(i // len(TEAMS)) % WORKERS_PER_TEAM}"
        manager = f"TM-{t:02d}-{i % MANAGERS_PER_TEAM}"
        reference = f"CR-B{i:07d}"
        signed = FIRST_SIGN_OFF + i * BETWEEN_SIGN_OFFS
        started, saved = signed - dt.timedelta(hours=3), signed - dt.timedelta(hours=1)
        signed_at = signed.isoformat()
        fill = {"reference": reference, "team": team, "worker": worker, "signed_at": signed_at}
        content = template.fill(template.content, **fill)
        review_hash = sha256_text(template.fill(template.canonical, **fill))
        sealed = template.fill(template.sealed, **fill).replace('"@ID@"', str(i), 1)
        digest = sha256_text(sealed)
        review_rows.append(
            (
                *(i, reference, team, worker, content, review_hash, template.as_of),
                *(started.isoformat(), saved.isoformat()),
            )
        )
        decision_rows.append(
            (
                *(i, i, reference, team, template.closure_reason, worker, signed_at),
                *(template.as_of, CHECKS_VERSION, template.exceptions, template.cautions),
                *(sealed, digest, template.fill(template.search_text, **fill)),
            )
        )
        finding_rows += [(i, *finding) for finding in template.findings]
        chain.append(
            started.isoformat(),
            worker,
            "review_started",
            i,
            None,
            {"case_reference": reference, "re_referral_of": None},
        )
        chain.append(
            saved.isoformat(),
            worker,
            "review_saved",
            i,
            None,
            {"version": 2, "content_hash": review_hash},
        )
        chain.append(
            signed_at,
            worker,
            "signed_off",
            i,
            i,
            {"content_hash": digest, "checks_version": CHECKS_VERSION},
        )
        kind = i % 10
        if kind < 8:
            outcome = "approved" if kind < 7 else "returned"
            decided_at = (signed + dt.timedelta(days=1)).isoformat()
            reasons: dict[str, Any] = {}
            if outcome == "returned":
                reasons = {"overall": "Confirm the support plan.", "findings": {}, "themes": {}}
            fields = {
                "format": "closure-readiness/outcome@1",
                "decision_id": i,
                "outcome": outcome,
                "decided_by": manager,
                "decided_at": decided_at,
                "hash_seen": digest,
                "reasons": reasons,
            }
            outcome_sealed = canonical_json(fields)
            outcome_hash = sha256_text(outcome_sealed)
            outcome_rows.append(
                (
                    *(i, outcome, manager, decided_at, digest, canonical_json(reasons)),
                    *(outcome_sealed, outcome_hash),
                )
            )
            chain.append(
                decided_at,
                manager,
                "decided",
                None,
                i,
                {"outcome": outcome, "outcome_hash": outcome_hash},
            )
            statuses.append((outcome, decided_at, i))
        else:
            statuses.append(("submitted", signed_at, i))
    conn.executemany(
        "INSERT INTO reviews (id, case_reference, team, worker_id, status, version, content, "
        "content_hash, proposed_closure_on, created_at, updated_at) VALUES "
        "(?, ?, ?, ?, 'draft', 2, ?, ?, ?, ?, ?)",
        review_rows,
    )
    conn.executemany(
        "INSERT INTO decisions (id, review_id, case_reference, team, closure_reason, signed_by, "
        "signed_at, as_of, checks_version, sign_off_possible, exceptions, cautions, sealed, "
        "content_hash, search_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
        decision_rows,
    )
    conn.executemany("INSERT INTO decision_findings VALUES (?, ?, ?, ?, ?, ?)", finding_rows)
    conn.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?)", outcome_rows)
    # Status after the decisions and outcomes: the workflow triggers check each change.
    conn.executemany("UPDATE reviews SET status = ?, updated_at = ? WHERE id = ?", statuses)
    chain.flush(conn)


def cached_store(decisions: int) -> Path:
    """The cached store of this size, built first if this builder and schema have none."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"store-v{BUILDER_VERSION}-{_schema_key()}-{decisions}.db"
    if path.exists():
        _checkpoint(path)
        return path
    for stale in RESULTS.glob(f"store-v*-{decisions}.db*"):
        if not stale.name.startswith(path.name):
            stale.unlink()  # an older builder's or schema's store: gigabytes nobody will read
    # A name of its own, so that two benchmarks building at once cannot share a half-built file.
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".building", dir=RESULTS)
    os.close(handle)
    building = Path(name)
    try:
        started = time.perf_counter()
        build_store(building, decisions)
        os.replace(building, path)
    finally:
        for leftover in (building, Path(f"{building}-wal"), Path(f"{building}-shm")):
            leftover.unlink(missing_ok=True)
    print(f"Built {path.name} ({decisions:,} decisions) in {time.perf_counter() - started:.0f} s")
    return path


def _checkpoint(path: Path) -> None:
    """Fold any WAL left by a reader into the file, so a plain file copy is the whole store."""
    if Path(f"{path}-wal").exists():
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()


def _working_copy(store: Path, folder: Path) -> Path:
    work = folder / "work.db"
    shutil.copyfile(store, work)
    with work.open("rb+") as file:
        os.fsync(file.fileno())  # or the first timed commits pay for writing the copy out
    return work


# The sign-off benchmark ------------------------------------------------------------------------


def _draft_rows(template: Review, first_id: int, count: int, worker: str) -> list[dict[str, Any]]:
    """Draft reviews ready to sign, inserted directly (preparing them is not what we time)."""
    from closure_readiness.core.canonical import content_hash

    rows = []
    for offset in range(count):
        review_id = first_id + offset
        case = template.case.model_copy(
            update={
                "case_reference": f"CR-S{review_id:07d}",
                "allocated_worker": worker,
                "team": BENCH_TEAM,
            }
        )
        review = template.model_copy(update={"case": case})
        rows.append(
            {
                "id": review_id,
                "case_reference": case.case_reference,
                "content": review.model_dump_json(),
                "content_hash": content_hash(review),
            }
        )
    return rows


def _insert_drafts(path: Path, rows: list[dict[str, Any]], worker: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO reviews (id, case_reference, team, worker_id, status, version, content, "
            "content_hash, proposed_closure_on, created_at, updated_at) VALUES "
            f"(:id, :case_reference, '{BENCH_TEAM}', '{worker}', 'draft', 1, :content, "
            ":content_hash, '2025-05-30', '2025-05-29T09:00:00+00:00', "
            "'2025-05-29T09:00:00+00:00')",
            rows,
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


class _RawSignOff:
    """The floor: BEGIN IMMEDIATE, a decision row of the same size, a review status update, an
    audit event extending the chain, COMMIT, on a connection with WAL and synchronous=FULL.

    Kept open (the least SQLite can do), or opened and closed around each transaction as the
    service does: then closing the only connection checkpoints the WAL into the file."""

    def __init__(
        self, path: Path, drafts: list[dict[str, Any]], template: Template, *, keep_open: bool
    ) -> None:
        self.path = path
        self.conn = self._connect() if keep_open else None
        self.rows = []
        for draft in drafts:
            fill = {
                "reference": draft["case_reference"],
                "team": BENCH_TEAM,
                "worker": BENCH_WORKER,
                "signed_at": _SIGNED_AT,
            }
            sealed = template.fill(template.sealed, **fill).replace('"@ID@"', str(draft["id"]))
            search = template.fill(template.search_text, **fill)
            digest = sha256_text(sealed)
            self.rows.append((draft["id"], draft["case_reference"], sealed, digest, search))
        self.rows.reverse()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def __call__(self) -> None:
        conn = self.conn or self._connect()
        try:
            self._transaction(conn)
        finally:
            if conn is not self.conn:
                conn.close()

    def _transaction(self, conn: sqlite3.Connection) -> None:
        review_id, reference, sealed, digest, search = self.rows.pop()
        at = _SIGNED_AT
        conn.execute("BEGIN IMMEDIATE")
        cursor = conn.execute(
            "INSERT INTO decisions (review_id, case_reference, team, closure_reason, signed_by, "
            "signed_at, as_of, checks_version, sign_off_possible, exceptions, cautions, sealed, "
            "content_hash, search_text) VALUES (?, ?, ?, 'RC7', ?, ?, '2025-05-30', ?, 1, 0, 1, "
            "?, ?, ?)",
            [
                *(review_id, reference, BENCH_TEAM, BENCH_WORKER, at, CHECKS_VERSION),
                *(sealed, digest, search),
            ],
        )
        conn.execute(
            "UPDATE reviews SET status = 'submitted', updated_at = ? WHERE id = ?", [at, review_id]
        )
        seq, prev_hash = conn.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        detail = canonical_json({"content_hash": digest, "checks_version": CHECKS_VERSION})
        event = {
            "seq": seq + 1,
            "at": at,
            "actor": BENCH_WORKER,
            "action": "signed_off",
            "review_id": review_id,
            "decision_id": cursor.lastrowid,
            "detail": detail,
        }
        conn.execute(
            "INSERT INTO audit_events VALUES (:seq, :at, :actor, :action, :review_id, "
            ":decision_id, :detail, :prev_hash, :hash)",
            {**event, "prev_hash": prev_hash, "hash": event_hash(prev_hash=prev_hash, **event)},
        )
        conn.execute("COMMIT")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class _ServiceSignOff:
    """The subject: `reviews.sign_off` on the next prepared draft."""

    def __init__(self, path: Path, drafts: list[dict[str, Any]]) -> None:
        self.ctx = Context(path)
        self.worker = Principal(BENCH_WORKER, "Synthetic caseworker", Role.CASEWORKER, BENCH_TEAM)
        self.drafts = list(reversed(drafts))

    def __call__(self) -> None:
        draft = self.drafts.pop()
        reviews.sign_off(
            self.ctx, self.worker, draft["id"], seen_hash=draft["content_hash"], attested=True
        )


def _calls(repeat: int) -> int:
    """How many times `compare` calls each side: 5 rounds of 3 warm-ups and repeat // 5."""
    return 5 * (3 + max(1, repeat // 5))


def bench_sign_off(store: Path, decisions: int, repeat: int) -> list[Measurement]:
    """Two situations: another connection open (a busy server: the service's connections then
    close cheaply) against the least SQLite can do; and nothing else open (one person at
    work: closing the only connection checkpoints the WAL) against the same transaction on
    its own connection, which pays that checkpoint too."""
    review = signable_review_with_evidence(30)
    assert len(review.evidence) == 30
    template = _templates()[0]
    calls = _calls(repeat)
    measurements = []
    with tempfile.TemporaryDirectory(dir=RESULTS) as folder:
        work = _working_copy(store, Path(folder))
        drafts = _draft_rows(review, decisions + 1, 4 * calls, BENCH_WORKER)
        _insert_drafts(work, drafts, BENCH_WORKER)
        ensure_migrated(work)
        batches = [drafts[n * calls : (n + 1) * calls] for n in range(4)]
        for keep_open, (subject_drafts, floor_drafts) in (
            (True, batches[0:2]),
            (False, batches[2:4]),
        ):
            subject = _ServiceSignOff(work, subject_drafts)
            floor = _RawSignOff(work, floor_drafts, template, keep_open=keep_open)
            try:
                measurements.append(
                    compare(
                        f"sign-off, 30 evidence items, {decisions:,} decisions stored"
                        if keep_open
                        else "the same, no other connection open (each close checkpoints)",
                        subject,
                        "raw sqlite3 transaction, same rows"
                        if keep_open
                        else "the same raw transaction on its own connection",
                        floor,
                        repeat=repeat,
                        target=3.0 if keep_open else None,
                    )
                )
            finally:
                floor.close()
            assert not subject.drafts, "every prepared draft is signed once"
            assert not floor.rows, "every prepared draft is signed once"
        with reading(work) as db:
            signed = db.execute("SELECT count(*) FROM decisions").fetchone()[0]
            report = verify(db) if decisions <= QUICK_DECISIONS else None
        assert signed == decisions + 4 * calls
        assert report is None or report.intact, report.problems[:5]
    return measurements


# The verify benchmark --------------------------------------------------------------------------


def _read_every_decision(store: Path) -> Callable[[], object]:
    def read() -> int:
        conn = sqlite3.connect(store)
        try:
            rows = 0
            for _ in conn.execute("SELECT * FROM decisions ORDER BY id"):
                rows += 1
            return rows
        finally:
            conn.close()

    return read


def bench_verify(store: Path, decisions: int, rounds: int) -> Measurement:
    """`verify` is slow at this size: a few interleaved runs each, not `compare`'s hundreds."""
    outcome: dict[str, Any] = {}

    def run_verify() -> None:
        with reading(store) as db:
            outcome["report"] = verify(db)

    floor = _read_every_decision(store)
    floor()  # warm the page cache for both
    floor_runs, subject_runs = [], []
    for _ in range(rounds):
        floor_runs.append(median_ms(floor, repeat=1, warmup=0))
        subject_runs.append(median_ms(run_verify, repeat=1, warmup=0))
    report = outcome["report"]
    assert report.intact, report.problems[:5]
    assert report.decisions_checked == decisions
    subject_ms = sorted(subject_runs)[len(subject_runs) // 2]
    rate = decisions / (subject_ms / 1000)
    return Measurement(
        name=f"verify {decisions:,} decisions ({rate:,.0f} decisions/s)",
        subject_ms=subject_ms,
        floor_name="SELECT * of every decision row",
        floor_ms=sorted(floor_runs)[len(floor_runs) // 2],
        target=None,
    )


def run(repeat: int, *, quick: bool = False) -> list[Measurement]:
    decisions = QUICK_DECISIONS if quick else FULL_DECISIONS
    store = cached_store(decisions)
    return [
        *bench_sign_off(store, decisions, repeat),
        bench_verify(store, decisions, rounds=1 if quick else 3),
    ]
