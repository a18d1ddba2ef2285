"""The store under load: a sign-off on a database of 100k decisions, and verifying all of them.

The sign-off (a review with 30 evidence items: checks re-run, seal, findings, status, audit
event, commit with synchronous=FULL) is compared with a raw sqlite3 transaction writing the same
rows to the same database, once on connections kept open (the service's kept by storage) and
once with none kept (then closing the only connection checkpoints the WAL). `verify` is
compared with reading every decision row.

Building 100k decisions through the service takes too long, so `build_store` writes them with
executemany. The staff are added through the service. Two template reviews are taken through
the real service (started, saved, signed off, then countersigned or returned) and everything
it stored is kept as templates: every row of every table and every audit event, with
placeholders for the case reference, team, people, times, ids and the hashes worked out from
them. Filled for each review, the rows and events are exactly what the service would have
written (tests/test_bench.py compares the two byte for byte), and the events are chained in
time order, so `verify` passes on the store. The database is cached under bench/results/ by a
key naming this builder's version, the schema and a digest of the templates (a change to what
the service writes builds the store again) and the size; the benchmark works on a copy.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import heapq
import itertools
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bench.checks_bench import BASE, review_with_evidence
from bench.harness import Measurement, compare, median_ms
from closure_readiness.checks import evaluate
from closure_readiness.core.canonical import canonical_json
from closure_readiness.core.review import Review
from closure_readiness.core.seal import seal_hash
from closure_readiness.service import auditing, reviews, staff
from closure_readiness.service.context import SYSTEM, Context, Principal, Role
from closure_readiness.service.decisions import countersign, return_review
from closure_readiness.storage import versions
from closure_readiness.storage.audit import event_hash
from closure_readiness.storage.database import ensure_migrated, reading, release
from closure_readiness.storage.integrity import verify
from closure_readiness.storage.schema import GENESIS_HASH

BUILDER_VERSION = "3"
"""Bump when the builder changes what it writes. The schema, and a digest of what the real
service writes for the template reviews, are part of the cache key too."""
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
STARTED_BEFORE, SAVED_BEFORE = dt.timedelta(hours=3), dt.timedelta(hours=1)
DECIDED_AFTER = dt.timedelta(days=1)
BENCH_TEAM, BENCH_WORKER = TEAMS[0], "SW-00-0"

# Placeholders the template reviews go through the service with, replaced for every stored
# review: who, which case and team, when, the row ids, and the hashes worked out from them.
_REF, _TEAM = "CR-TEMPLATE-X9", "Template Team"
_WORKER, _WORKER_NAME = "SWTEMPLATE", "Synthetic template caseworker"
_MANAGER, _MANAGER_NAME = "TMTEMPLATE", "Synthetic template manager"
_STARTED, _SAVED, _SIGNED, _DECIDED = (
    dt.datetime(2031, 1, 2, hour, 7, 11, tzinfo=dt.UTC).isoformat() for hour in (1, 2, 3, 4)
)
_REVIEW_ID, _DECISION_ID = "@REVIEW_ID@", "@DECISION_ID@"
_SEAL_HASH, _OUTCOME_HASH = "@SEAL_HASH@", "@OUTCOME_HASH@"
_AS_OF = "@AS_OF@"
"""A view's `as_of_event`, the newest event its read saw: the event just before its own in the
chain (filled in as the chain is written, `_Chain.append`)."""
_PLACEHOLDERS = (
    *(_REF, _TEAM, _WORKER, _WORKER_NAME, _MANAGER, _MANAGER_NAME),
    *(_STARTED, _SAVED, _SIGNED, _DECIDED, _REVIEW_ID, _DECISION_ID),
    *(_SEAL_HASH, _OUTCOME_HASH, _AS_OF),
)
_SPLIT = re.compile(
    "("
    + "|".join(re.escape(p) for p in sorted(_PLACEHOLDERS, key=len, reverse=True))
    + r"|@V\d+_HASH@)"
)


def _version_hash(version: int) -> str:
    """The placeholder of a saved version's content hash."""
    return f"@V{version}_HASH@"


_LEFT_OVER = re.compile(r"TEMPLATE|[Tt]emplate|2031-01-02|@[A-Z_]+@")
"""What a template text must not hold once split: a placeholder written another way (a date
alone, say) would otherwise be stored unfilled."""

_PARTNER_AGENCIES = {"school", "police", "health", "voluntary", "youth_justice", "housing"}
RETURN_REASON = "Confirm the support plan."
# The tables a review's life writes to, in an order their references allow.
_TABLES = (
    "reviews",
    "review_versions",
    "evidence",
    "decisions",
    "decision_findings",
    "outcomes",
    "exception_requests",
)
_EVENT_COLUMNS = ("at", "actor", "action", "review_id", "decision_id", "detail")
_ID_SLOTS = {"reviews.id": _REVIEW_ID, "decisions.id": _DECISION_ID}
_ID_SLOTS |= {"review_id": _REVIEW_ID, "decision_id": _DECISION_ID}


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
class _Text:
    """A stored text split at its placeholders: even parts are literal, odd parts are keys."""

    parts: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> _Text:
        parts = tuple(_SPLIT.split(text))
        left = [m.group() for part in parts[::2] if (m := _LEFT_OVER.search(part))]
        assert not left, f"a template text holds {left[0]!r} outside a placeholder"
        return cls(parts)

    def fill(self, values: dict[str, Any]) -> str:
        if len(self.parts) == 1:
            return self.parts[0]
        return "".join(
            part if n % 2 == 0 else str(values[part]) for n, part in enumerate(self.parts)
        )


@dataclass(frozen=True)
class _Slot:
    """A whole value that is a placeholder (a row id), filled with the value itself."""

    key: str


_Cell = _Text | _Slot | int | float | None


def _fill(cell: _Cell, values: dict[str, Any]) -> Any:
    if isinstance(cell, _Text):
        return cell.fill(values)
    if isinstance(cell, _Slot):
        return values[cell.key]
    return cell


@dataclass(frozen=True)
class Template:
    """One review's life through the real service (started, saved, then signed off and decided
    as `kind` says): every row and audit event it wrote, with placeholders to fill for each
    stored review. Filled, it is exactly what the service would have written for that review."""

    kind: str
    tables: dict[str, tuple[tuple[str, ...], tuple[tuple[_Cell, ...], ...]]]
    """Each table's columns and rows (reviews stored as they ended)."""
    events: tuple[tuple[_Cell, ...], ...]
    """(at, actor, action, review_id, decision_id, detail) in the order they were written."""
    versions: tuple[_Text, ...]
    """The review as stored at each version (the first when started, then each save), whole,
    as canonical JSON (what each version's hash hashes)."""
    sealed: _Text | None
    outcome: _Text | None

    @property
    def saved_hash(self) -> str:
        """The placeholder of the last saved version's hash."""
        return _version_hash(len(self.versions))

    def values(self, **placeholders: Any) -> dict[str, Any]:
        """The placeholders' values, with the hashes worked out from them (in the order one
        depends on the other: each version's hash, the seal, then the outcome sealing that)."""
        values = dict(placeholders)
        values[_AS_OF] = _AS_OF  # left for the chain to fill
        for version, text in enumerate(self.versions, start=1):
            values[_version_hash(version)] = seal_hash(text.fill(values))
        if self.sealed is not None:
            values[_SEAL_HASH] = seal_hash(self.sealed.fill(values))
        if self.outcome is not None:
            values[_OUTCOME_HASH] = seal_hash(self.outcome.fill(values))
        return values

    def rows(self, values: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
        return {
            table: [tuple(_fill(cell, values) for cell in row) for row in rows]
            for table, (_, rows) in self.tables.items()
        }

    def filled_events(self, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [tuple(_fill(cell, values) for cell in event) for event in self.events]


@functools.cache
def _templates() -> dict[tuple[int, str], Template]:
    """The two template reviews taken through the real service to each kind of end: "draft"
    (saved), "submitted" (signed off), "approved" and "returned". Read only (cached)."""
    ready = Review.model_validate_json(BASE.read_text(encoding="utf-8"))
    reviews_ = (signable_review_with_evidence(30), ready)
    return {
        (n, kind): template
        for n, review in enumerate(reviews_)
        for kind, template in _lifecycle(review).items()
    }


class _Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.fromisoformat(_STARTED)

    def __call__(self) -> dt.datetime:
        return self.now


def _lifecycle(review: Review) -> dict[str, Template]:
    """One review's life through the real service, as people live it, capturing what it
    stored after each stage: started, then saved a step at a time (`_editing_history`); signed
    off; then the manager opens it, countersigns (or, on a copy, returns) and the page shows it
    again; then an auditor opens it and exports its record. 20-51 audit events a review (37 a
    decision in the bulk store), where one save and no views made 3.8."""
    review = review.model_copy(
        update={
            "case": review.case.model_copy(
                update={"case_reference": _REF, "team": _TEAM, "allocated_worker": _WORKER}
            )
        }
    )
    captured: dict[str, Template] = {}
    with tempfile.TemporaryDirectory() as folder:
        path, copy = Path(folder) / "template.db", Path(folder) / "returned.db"
        clock = _Clock()
        ctx = Context(path, clock=clock)
        people = [
            staff.add_staff(
                ctx,
                SYSTEM,
                staff_id=staff_id,
                issuer=ISSUER,
                subject=staff_id.lower(),
                display_name=name,
                role=role,
                team=_TEAM,
            ).principal()
            for staff_id, name, role in (
                (_WORKER, _WORKER_NAME, Role.CASEWORKER),
                (_MANAGER, _MANAGER_NAME, Role.TEAM_MANAGER),
            )
        ]
        worker, manager = people
        auditor = _template_auditor(ctx)
        review_id = reviews.start_review(ctx, worker, review.case)
        clock.now = dt.datetime.fromisoformat(_SAVED)
        version = 1
        for step in _editing_history(review):
            version = reviews.save_review(ctx, worker, review_id, step, expected_version=version)
        captured["draft"] = _capture(path, "draft")
        seen = reviews.get_review(ctx, worker, review_id).content_hash
        clock.now = dt.datetime.fromisoformat(_SIGNED)
        decision_id = reviews.sign_off(ctx, worker, review_id, seen_hash=seen, attested=True)
        captured["submitted"] = _capture(path, "submitted")
        _backup(path, copy)
        clock.now = dt.datetime.fromisoformat(_DECIDED)
        decide(ctx, manager, auditor, decision_id, "approved")
        captured["approved"] = _capture(path, "approved")
        decide(Context(copy, clock=clock), manager, auditor, decision_id, "returned")
        captured["returned"] = _capture(copy, "returned")
        release(path)
        release(copy)
    return captured


def decide(
    ctx: Context, manager: Principal, auditor: Principal, decision_id: int, kind: str
) -> None:
    """The decision's life after sign-off, through the service: the manager opens it, then
    countersigns (`kind` "approved") or returns it, and the page opens it again; an auditor
    then opens it and exports its record. Each view and export is an audit event."""
    seen = auditing.decision_detail(ctx, manager, decision_id).decision.content_hash
    if kind == "returned":
        return_review(ctx, manager, decision_id, overall=RETURN_REASON)
    else:
        countersign(ctx, manager, decision_id, hash_seen=seen)
    auditing.decision_detail(ctx, manager, decision_id)
    auditing.decision_detail(ctx, auditor, decision_id)
    auditing.decision_record_pdf(ctx, auditor, decision_id)


def _template_auditor(ctx: Context) -> Principal:
    """The bulk store's auditor, added to the template's store (its events name them)."""
    return _add_person(ctx, next(p for p in staff_list() if p.role is Role.AUDITOR))


def _backup(source: Path, target: Path) -> None:
    conn, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        conn.backup(copy)
    finally:
        copy.close()
        conn.close()


def _capture(path: Path, kind: str) -> Template:
    """Everything the template review's life stored so far, its values made placeholders."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        assert [tuple(r) for r in conn.execute("SELECT id FROM reviews")] == [(1,)], (
            "one review, the first"
        )
        raw = {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in _TABLES
        }
        columns = {
            table: tuple(c[1] for c in conn.execute(f"PRAGMA table_info({table})"))
            for table in _TABLES
        }
        events = conn.execute(
            f"SELECT seq, {', '.join(_EVENT_COLUMNS)} FROM audit_events "
            "WHERE action NOT IN ('staff_added', 'staff_changed') ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()
    assert not raw["exception_requests"], "the template reviews need no exceptions"
    # Each version's whole content (a saved version may be kept as a delta against the one
    # before it; the first version is always whole). Its hash becomes a placeholder, worked out
    # again for each review.
    ordered = sorted((dict(row) for row in raw["review_versions"]), key=lambda r: r["version"])
    assert [row["version"] for row in ordered] == list(range(1, len(ordered) + 1))
    wholes = []
    for each in versions.rebuilt(ordered):
        assert each.document is not None
        assert each.matches, f"version {each.row['version']} rebuilds to its hash"
        wholes.append(canonical_json(each.document))
    hashes = {row["content_hash"]: _version_hash(row["version"]) for row in ordered}
    assert len(hashes) == len(ordered), "every saved version differs from the one before"
    texts: dict[str, str] = {}
    for table, key, hash_column, placeholder in (
        ("decisions", "review_id", "content_hash", _SEAL_HASH),
        ("outcomes", "decision_id", "outcome_hash", _OUTCOME_HASH),
    ):
        for row in raw[table]:
            assert seal_hash(row["sealed"]) == row[hash_column]
            hashes[row[hash_column]] = placeholder
            # The row ids inside a sealed text: its only number fields that differ per review.
            texts[table] = _with_id(row["sealed"], key, _ID_SLOTS[key])

    def text(value: str) -> _Text:
        for digest, placeholder in hashes.items():
            value = value.replace(digest, placeholder)
        return _Text.of(value)

    def cell(table: str, column: str, value: Any) -> _Cell:
        if table in texts and column == "sealed":
            value = texts[table]
        if isinstance(value, str):
            return text(value)
        slot = _ID_SLOTS.get(f"{table}.{column}", _ID_SLOTS.get(column))
        if slot is not None and value is not None:
            assert value == 1, f"{table}.{column}: the template's rows are the first"
            return _Slot(slot)
        assert value is None or isinstance(value, int | float)
        return value

    # The review as saved last is the review row's content.
    (review_row,) = raw["reviews"]
    assert canonical_json(json.loads(review_row["content"])) == wholes[-1]
    return Template(
        kind=kind,
        tables={
            table: (
                columns[table],
                tuple(tuple(cell(table, c, row[c]) for c in columns[table]) for row in raw[table]),
            )
            for table in _TABLES
        },
        events=tuple(
            tuple(cell("audit_events", c, _as_of(event, c)) for c in _EVENT_COLUMNS)
            for event in events
        ),
        versions=tuple(text(whole) for whole in wholes),
        sealed=text(texts["decisions"]) if "decisions" in texts else None,
        outcome=text(texts["outcomes"]) if "outcomes" in texts else None,
    )


_AS_OF_FIELD = re.compile(r'"as_of_event":(\d+)')


def _as_of(event: sqlite3.Row, column: str) -> Any:
    """A view's detail with the newest event it saw made a placeholder: the event before its
    own, as it is whenever no one else wrote between the read and its audit write."""
    value = event[column]
    if column != "detail" or not isinstance(value, str):
        return value
    found = _AS_OF_FIELD.findall(value)
    assert found in ([], [str(event["seq"] - 1)]), "a view saw the event just before its own"
    return _AS_OF_FIELD.sub(f'"as_of_event":{_AS_OF}', value)


def _with_id(text: str, key: str, placeholder: str) -> str:
    field = f'"{key}":1,'
    assert text.count(field) == 1, f"the sealed text holds {key} once"
    return text.replace(field, f'"{key}":{placeholder},')


def _templates_key(templates: dict[tuple[int, str], Template]) -> str:
    """A digest of what the service writes for the templates: if the service changes a sealed
    document or an event's payload, the cached stores are built again."""
    return hashlib.sha256(repr(sorted(templates.items())).encode()).hexdigest()[:10]


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


@dataclass(frozen=True)
class Person:
    staff_id: str
    name: str
    role: Role
    team: str


def staff_list() -> list[Person]:
    """The synthetic staff of the bulk store: caseworkers and managers in each team, an auditor."""
    people = []
    for t, team in enumerate(TEAMS):
        for w in range(WORKERS_PER_TEAM):
            staff_id = f"SW-{t:02d}-{w}"
            people.append(
                Person(staff_id, f"Synthetic caseworker {staff_id}", Role.CASEWORKER, team)
            )
        for m in range(MANAGERS_PER_TEAM):
            staff_id = f"TM-{t:02d}-{m}"
            people.append(
                Person(staff_id, f"Synthetic manager {staff_id}", Role.TEAM_MANAGER, team)
            )
    people.append(Person("AU-1", "Synthetic auditor", Role.AUDITOR, ""))
    return people


def _add_staff(path: Path) -> dict[str, str]:
    """The staff, added through the service (their rows and events are its own); their names."""
    ctx = Context(path, clock=lambda: FIRST_SIGN_OFF - dt.timedelta(days=30))
    for person in staff_list():
        _add_person(ctx, person)
    return {person.staff_id: person.name for person in staff_list()}


def _add_person(ctx: Context, person: Person) -> Principal:
    """One of the bulk store's staff, added through the service."""
    return staff.add_staff(
        ctx,
        SYSTEM,
        staff_id=person.staff_id,
        issuer=ISSUER,
        subject=person.staff_id.lower(),
        display_name=person.name,
        role=person.role,
        team=person.team,
    ).principal()


class _Chain:
    """Audit events with a correct hash chain, continuing the stored chain, written in batches
    in the order of their times (as the service, writing each when it happens, would have)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        head = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        last = head.fetchone()
        self.seq: int = last[0] if last else 0
        self.prev_hash: str = last[1] if last else GENESIS_HASH
        self.waiting: list[tuple[Any, ...]] = []
        self.order = itertools.count()
        self.rows: list[tuple[Any, ...]] = []

    def add(self, events: list[tuple[Any, ...]]) -> None:
        """Events to write once no earlier one can come (times in one ISO form sort as text)."""
        for event in events:
            heapq.heappush(self.waiting, (event[0], next(self.order), event))

    def release(self, before: str | None = None) -> None:
        """Chain every waiting event earlier than `before` (all of them if None)."""
        while self.waiting and (before is None or self.waiting[0][0] < before):
            self.append(*heapq.heappop(self.waiting)[2])

    def append(
        self,
        at: str,
        actor: str,
        action: str,
        review_id: int | None,
        decision_id: int | None,
        detail: str,
    ) -> None:
        self.seq += 1
        if _AS_OF in detail:
            detail = detail.replace(_AS_OF, str(self.seq - 1))
        digest = event_hash(
            prev_hash=self.prev_hash,
            seq=self.seq,
            at=at,
            actor=actor,
            action=action,
            review_id=review_id,
            decision_id=decision_id,
            detail=detail,
        )
        self.rows.append(
            (self.seq, at, actor, action, review_id, decision_id, detail, self.prev_hash, digest)
        )
        self.prev_hash = digest

    def flush(self, conn: sqlite3.Connection) -> None:
        conn.executemany("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self.rows)
        self.rows.clear()


def _times(i: int) -> dict[str, str]:
    signed = FIRST_SIGN_OFF + i * BETWEEN_SIGN_OFFS
    return {
        _STARTED: (signed - STARTED_BEFORE).isoformat(),
        _SAVED: (signed - SAVED_BEFORE).isoformat(),
        _SIGNED: signed.isoformat(),
        _DECIDED: (signed + DECIDED_AFTER).isoformat(),
    }


def _kind(i: int) -> str:
    """70% approved, 10% returned, 20% waiting for countersignature."""
    kind = i % 10
    return "approved" if kind < 7 else "returned" if kind < 8 else "submitted"


def build_store(
    path: Path, decisions: int, *, templates: dict[tuple[int, str], Template] | None = None
) -> None:
    """A store holding `decisions` signed-off reviews: 70% approved, 10% returned, 20% waiting;
    every row and audit event as the service would have written it."""
    templates = templates or _templates()
    ensure_migrated(path)
    names = _add_staff(path)
    release(path)  # no connection kept: the journal mode changes below
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # A throwaway file until it is renamed into the cache: no journal needed while building.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")
        writer = _Writer(conn)
        for start in range(1, decisions + 1, BATCH):
            ids = range(start, min(start + BATCH, decisions + 1))
            for i in ids:
                t = i % len(TEAMS)
                worker = f"SW-{t:02d}-{(i // len(TEAMS)) % WORKERS_PER_TEAM}"
                manager = f"TM-{t:02d}-{i % MANAGERS_PER_TEAM}"
                template = templates[(i % 2, _kind(i))]
                values = template.values(
                    **_people(worker, manager, TEAMS[t], names),
                    **_times(i),
                    **{_REF: f"CR-B{i:07d}", _REVIEW_ID: i, _DECISION_ID: i},
                )
                writer.stage(template, values)
            # Every event of a later review comes after that review was started.
            writer.write(before=_times(ids.stop)[_STARTED])
        writer.write()
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()


def _people(worker: str, manager: str, team: str, names: dict[str, str]) -> dict[str, str]:
    return {
        _WORKER: worker,
        _WORKER_NAME: names[worker],
        _MANAGER: manager,
        _MANAGER_NAME: names[manager],
        _TEAM: team,
    }


class _Writer:
    """Reviews' rows staged and written a batch at a time, their events chained in time order."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.chain = _Chain(conn)
        self.rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in _TABLES}
        self.columns: dict[str, tuple[str, ...]] = {}
        self.statuses: list[tuple[Any, ...]] = []

    def stage(self, template: Template, values: dict[str, Any]) -> None:
        for table, rows in template.rows(values).items():
            columns = self.columns.setdefault(table, template.tables[table][0])
            if table == "reviews":
                # Stored as a draft first: the workflow triggers check the change of status.
                status, updated = columns.index("status"), columns.index("updated_at")
                for row in rows:
                    if row[status] != "draft":
                        self.statuses.append((row[status], row[updated], row[columns.index("id")]))
                    self.rows[table].append((*row[:status], "draft", *row[status + 1 :]))
            else:
                self.rows[table] += rows
        self.chain.add(template.filled_events(values))

    def write(self, *, before: str | None = None) -> None:
        """Write the staged rows, then every event earlier than `before` (all if None)."""
        for table, rows in self.rows.items():
            if rows:
                columns = self.columns[table]
                self.conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    rows,
                )
                rows.clear()
        # Status after the decisions and outcomes: the workflow triggers check each change.
        self.conn.executemany(
            "UPDATE reviews SET status = ?, updated_at = ? WHERE id = ?", self.statuses
        )
        self.statuses.clear()
        self.chain.release(before)
        self.chain.flush(self.conn)


def cached_store(decisions: int) -> Path:
    """The cached store of this size, built first if this builder, schema and service output
    (the templates) have none."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    templates = _templates()
    key = f"{_schema_key()}{_templates_key(templates)}"
    path = RESULTS / f"store-v{BUILDER_VERSION}-{key}-{decisions}.db"
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
        build_store(building, decisions, templates=templates)
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


@dataclass(frozen=True)
class _Draft:
    """A review ready to sign, stored as the service would have stored it when started and
    saved (preparing it is not what is timed)."""

    review_id: int
    content_hash: str
    placeholders: dict[str, Any]
    """Its placeholders' values (the hashes are worked out from them by each template)."""


DRAFTS_AFTER = (DECIDED_AFTER + STARTED_BEFORE) // BETWEEN_SIGN_OFFS + 1


def _drafts(templates: dict[tuple[int, str], Template], first_id: int, count: int) -> list[_Draft]:
    names = {person.staff_id: person.name for person in staff_list()}
    manager = next(p.staff_id for p in staff_list() if p.role is Role.TEAM_MANAGER)
    drafts = []
    for review_id in range(first_id, first_id + count):
        placeholders = {
            **_people(BENCH_WORKER, manager, BENCH_TEAM, names),
            # Started after the bulk store's last decision (a day after its sign-off).
            **_times(review_id + DRAFTS_AFTER),
            **{_REF: f"CR-S{review_id:07d}", _REVIEW_ID: review_id, _DECISION_ID: review_id},
        }
        values = templates[(0, "draft")].values(**placeholders)
        drafts.append(_Draft(review_id, values[templates[(0, "draft")].saved_hash], placeholders))
    return drafts


def _insert_drafts(path: Path, template: Template, drafts: list[_Draft]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        writer = _Writer(conn)
        for draft in drafts:
            writer.stage(template, template.values(**draft.placeholders))
        writer.write()
        conn.execute("COMMIT")
    finally:
        conn.close()


def _editing_history(review: Review) -> list[Review]:
    """The review as a worker builds it up, each step saved: the incidents, then the evidence
    register an item at a time, then each answer, then the rationales (a state no worker could
    save is left out). Its last step is the review."""
    final = review.model_dump(mode="json")
    current = Review(case=review.case).model_dump(mode="json")
    states = [{**current, "incidents": final["incidents"]}]
    for count in range(1, len(final["evidence"]) + 1):
        states.append({**states[-1], "evidence": final["evidence"][:count]})
    for name, answer in final["answers"].items():
        states.append({**states[-1], "answers": {**states[-1]["answers"], name: answer}})
    states.append({**states[-1], "rationales": final["rationales"]})
    steps = []
    for state in states:
        try:
            steps.append(Review.model_validate(state))
        except ValidationError:
            continue
    assert steps[-1] == review, "the history ends with the review signed"
    return steps


def _drafts_with_history(path: Path, first_id: int, count: int) -> list[_Draft]:
    """Drafts made by the service as a worker makes them: started, then saved a step at a time
    (`_editing_history`: about 45 saved versions and audit events each), each through the
    service rather than filled from a template, for the sign-off to work on."""
    names = {person.staff_id: person.name for person in staff_list()}
    manager = next(p.staff_id for p in staff_list() if p.role is Role.TEAM_MANAGER)
    worker = Principal(BENCH_WORKER, "Synthetic caseworker", Role.CASEWORKER, BENCH_TEAM)
    review = signable_review_with_evidence(30)
    clock = _Clock()
    clock.now = dt.datetime.fromisoformat(_times(first_id + DRAFTS_AFTER)[_STARTED])
    ctx = Context(path, clock=clock)
    drafts = []
    for review_id in range(first_id, first_id + count):
        reference = f"CR-S{review_id:07d}"
        case = review.case.model_copy(
            update={
                "case_reference": reference,
                "team": BENCH_TEAM,
                "allocated_worker": BENCH_WORKER,
            }
        )
        mine = review.model_copy(update={"case": case})
        assert reviews.start_review(ctx, worker, mine.case) == review_id
        version = 1
        for step in _editing_history(mine):
            clock.now += dt.timedelta(minutes=1)
            version = reviews.save_review(ctx, worker, review_id, step, expected_version=version)
        with reading(path) as db:
            (digest,) = db.execute(
                "SELECT content_hash FROM reviews WHERE id = ?", [review_id]
            ).fetchone()
        placeholders = {
            **_people(BENCH_WORKER, manager, BENCH_TEAM, names),
            **_times(review_id + DRAFTS_AFTER),
            **{_REF: reference, _REVIEW_ID: review_id, _DECISION_ID: review_id},
        }
        drafts.append(_Draft(review_id, digest, placeholders))
    reviews.forget_evaluations()  # the sign-off finds nothing parsed or checked in advance
    release(path)
    return drafts


class _RawSignOff:
    """The floor: BEGIN IMMEDIATE, the decision row and its findings as the service writes
    them, a review status update, an audit event extending the chain, COMMIT, on a connection
    with WAL and synchronous=FULL.

    Kept open (the least SQLite can do), or opened and closed around each transaction: then
    closing the only connection checkpoints the WAL into the file."""

    def __init__(
        self, path: Path, drafts: list[_Draft], template: Template, *, keep_open: bool
    ) -> None:
        self.path = path
        self.conn = self._connect() if keep_open else None
        decision_columns = template.tables["decisions"][0]
        finding_columns = template.tables["decision_findings"][0]
        # The decision id is the one SQLite gives the row: left out, and filled in after.
        self.decision_sql = (
            f"INSERT INTO decisions ({', '.join(decision_columns[1:])}) "
            f"VALUES ({', '.join('?' * (len(decision_columns) - 1))})"
        )
        self.finding_sql = (
            f"INSERT INTO decision_findings ({', '.join(finding_columns)}) "
            f"VALUES ({', '.join('?' * len(finding_columns))})"
        )
        assert decision_columns[0] == "id"
        assert finding_columns[0] == "decision_id"
        self.rows = []
        for draft in drafts:
            values = template.values(**draft.placeholders)
            rows = template.rows(values)
            (event,) = [e for e in template.filled_events(values) if e[2] == "signed_off"]
            self.rows.append((draft.review_id, rows, event))
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
        review_id, rows, (at, actor, action, _, _, detail) = self.rows.pop()
        conn.execute("BEGIN IMMEDIATE")
        cursor = conn.execute(self.decision_sql, rows["decisions"][0][1:])
        decision_id = cursor.lastrowid
        conn.executemany(
            self.finding_sql, [(decision_id, *row[1:]) for row in rows["decision_findings"]]
        )
        conn.execute(
            "UPDATE reviews SET status = 'submitted', updated_at = ? WHERE id = ?", [at, review_id]
        )
        seq, prev_hash = conn.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        event = {
            "seq": seq + 1,
            "at": at,
            "actor": actor,
            "action": action,
            "review_id": review_id,
            "decision_id": decision_id,
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
    """The subject: `reviews.sign_off` on the next prepared draft.

    On the connection storage keeps for the database (`keep`), as the server works; or with
    none kept (the pool emptied before and after: a connection opened for the sign-off and
    closed after it, which then checkpoints the WAL, as every unit of work did before the
    pool)."""

    def __init__(self, path: Path, drafts: list[_Draft], *, keep: bool = True) -> None:
        self.ctx = Context(path)
        self.worker = Principal(BENCH_WORKER, "Synthetic caseworker", Role.CASEWORKER, BENCH_TEAM)
        self.drafts = list(reversed(drafts))
        self.keep = keep

    def __call__(self) -> None:
        draft = self.drafts.pop()
        if not self.keep:
            release(self.ctx.db_path)
        reviews.sign_off(
            self.ctx, self.worker, draft.review_id, seen_hash=draft.content_hash, attested=True
        )
        if not self.keep:
            release(self.ctx.db_path)


def _calls(repeat: int) -> int:
    """How many times `compare` calls each side: 5 rounds of 3 warm-ups and repeat // 5."""
    return 5 * (3 + max(1, repeat // 5))


def bench_sign_off(
    store: Path, decisions: int, repeat: int, *, history: bool = True
) -> list[Measurement]:
    """Two situations: the server at work (the service on the connection storage keeps for
    the database) against the least SQLite can do (the same rows on a connection kept open);
    and no connection kept (the service opening one for the sign-off and closing it, which,
    as the only connection, checkpoints the WAL) against the same transaction on its own
    connection, which pays that checkpoint too."""
    templates = _templates()
    assert len(templates[(0, "draft")].tables["evidence"][1]) == 30, "30 evidence items"
    calls = _calls(repeat)
    measurements = []
    with tempfile.TemporaryDirectory(dir=RESULTS) as folder:
        work = _working_copy(store, Path(folder))
        ensure_migrated(work)
        if history:
            # The headline row's service drafts with their editing histories (made by the
            # service, so slow); the others from the template (the floor's transaction reads
            # no history, and the store holds the edited drafts' histories for both).
            edited = _drafts_with_history(work, decisions + 1, calls)
            plain = _drafts(templates, decisions + 1 + calls, 3 * calls)
            _insert_drafts(work, templates[(0, "draft")], plain)
            batches = [edited, *(plain[n * calls : (n + 1) * calls] for n in range(3))]
        else:
            drafts = _drafts(templates, decisions + 1, 4 * calls)
            _insert_drafts(work, templates[(0, "draft")], drafts)
            batches = [drafts[n * calls : (n + 1) * calls] for n in range(4)]
        for keep_open, (subject_drafts, floor_drafts) in (
            (True, batches[0:2]),
            (False, batches[2:4]),
        ):
            subject = _ServiceSignOff(work, subject_drafts, keep=keep_open)
            floor = _RawSignOff(
                work, floor_drafts, templates[(0, "submitted")], keep_open=keep_open
            )
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
        release(work)
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
