"""Shared set-up for workflow tests: a real database, a team of staff, reviews in each state.

Everything is synthetic: invented staff ids, invented case references. Helpers drive the
service layer exactly as the app does, against a real database (no mocks): an SQLite file,
or a database in the test run's PostgreSQL cluster.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from closure_readiness.core.canonical import canonical_json
from closure_readiness.core.location import PostgresURL
from closure_readiness.core.review import Review
from closure_readiness.core.seal import search_words
from closure_readiness.service import decisions, reviews, staff
from closure_readiness.service.context import SYSTEM, Context, Principal, Role
from closure_readiness.storage import audit, repositories
from closure_readiness.storage.database import ensure_migrated, release, writing
from closure_readiness.storage.integrity import sha256_text

if TYPE_CHECKING:
    from bench.postgres_cluster import Cluster

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_EXAMPLE = REPO_ROOT / "examples" / "ready-three-agencies-sustained-change.json"
ISSUER = "https://sign-in.test.invalid"

CLOSURE_DAY = dt.date(2025, 5, 30)
"""The proposed closure date of the ready example."""
NOW = dt.datetime(2025, 5, 30, 9, tzinfo=dt.UTC)
"""Sign-off morning for the ready example."""

NORTH = "North"
SOUTH = "South"


class Clock:
    """A clock a test moves by hand (the service reads it through Context.now)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def make_context(tmp_path: Path, now: dt.datetime = NOW, *, name: str = "closure.db") -> Context:
    """A Context on a fresh database file in tmp_path, with a movable Clock at `now`."""
    return Context(tmp_path / name, clock=Clock(now))


def clock_of(ctx: Context) -> Clock:
    """The movable clock of a context made by make_context."""
    assert isinstance(ctx.clock, Clock)
    return ctx.clock


def make_postgres_context(cluster: Cluster, now: dt.datetime = NOW) -> Context:
    """A Context on a new, empty database in the test run's PostgreSQL cluster."""
    url = PostgresURL(cluster.create_database(f"t{uuid.uuid4().hex[:16]}"))
    return Context(url, clock=Clock(now))


def make_engine_context(
    engine: str, folder: Path, request: pytest.FixtureRequest, now: dt.datetime = NOW
) -> Context:
    """A Context on a new, empty database of `engine` ("sqlite" or "postgresql"): a file in
    `folder`, or a database in the test run's cluster (for fixtures that build their own)."""
    if engine == "postgresql":
        return make_postgres_context(request.getfixturevalue("postgres_cluster"), now)
    return make_context(folder, now)


def copy_postgres_database(url: str) -> str:
    """A new database in the same cluster, made from the one at `url` as its template."""
    import psycopg
    from psycopg import sql

    server, source = url.rsplit("/", 1)
    name = f"t{uuid.uuid4().hex[:16]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source)
            )
        )
    return f"{server}/{name}"


def drop_postgres_database(url: str) -> None:
    """Remove a database made for one run (a run of the workflow machine makes one each)."""
    import psycopg
    from psycopg import sql

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def copy_context(ctx: Context, folder: Path) -> Context:
    """A context on an independent copy of ctx's database, with its own clock at the same time.

    Building a database once and copying it for each test saves many fsync'd commits. Copy
    only while nothing holds the source open (then its WAL has been checkpointed away). On
    PostgreSQL the copy is a new database made from the first as its template (which no
    connection may hold open either: the connections kept idle are closed first).
    """
    if isinstance(ctx.db_path, PostgresURL):
        release(ctx.db_path)
        url = copy_postgres_database(ctx.db_path.url)
        return dataclasses.replace(ctx, db_path=PostgresURL(url), clock=Clock(clock_of(ctx).now))
    for path in ctx.db_path.parent.glob(ctx.db_path.name + "*"):
        shutil.copy(path, folder / path.name)
    copy = dataclasses.replace(
        ctx, db_path=folder / ctx.db_path.name, clock=Clock(clock_of(ctx).now)
    )
    ensure_migrated(copy.db_path)  # now, before a test holds a raw transaction open on it
    return copy


@contextmanager
def private_copy(ctx: Context, folder: Path) -> Iterator[Context]:
    """copy_context for one test. On PostgreSQL the copy is dropped afterwards: a database
    left per test fills the cluster's disk (12 MB each), and removing hundreds of them with
    the cluster at the end of the run takes minutes."""
    copy = copy_context(ctx, folder)
    try:
        yield copy
    finally:
        forget(copy)


def forget(ctx: Context) -> None:
    """Drop ctx's PostgreSQL database, its idle connections closed first (a file: nothing,
    the test's folder goes with it)."""
    if isinstance(ctx.db_path, PostgresURL):
        release(ctx.db_path)
        drop_postgres_database(ctx.db_path.url)


@contextmanager
def held_open(ctx: Context) -> Iterator[sqlite3.Connection]:
    """A connection held open while a test runs.

    Each use case opens and closes its own connection; when that is the last connection,
    SQLite checkpoints the WAL and syncs the file on close. Holding one open avoids that work
    on every call, which keeps the tests fast on a busy disk. The connection is plain sqlite3,
    usable for reading rows directly; it never holds a transaction open between statements.
    Open it on a database that already exists (copy_context makes one), not on a new path.
    """
    if isinstance(ctx.db_path, PostgresURL):  # a server: nothing to hold open
        yield None  # type: ignore[misc]
        return
    conn = sqlite3.connect(ctx.db_path)
    try:
        yield conn
    finally:
        conn.close()


class _RawPostgres:
    """A plain psycopg connection taking the tests' SQLite-spelt SQL (`?` placeholders), with
    sqlite3's `execute(...).fetchall()` shape; each statement commits on its own."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: Any = ()) -> Any:
        from closure_readiness.storage.postgres import translate

        return self.conn.execute(translate(sql), params)  # type: ignore[arg-type]

    def executescript(self, script: str) -> None:
        self.conn.execute(script)  # type: ignore[arg-type]

    def commit(self) -> None:
        """Each statement is committed already."""

    def rollback(self) -> None:
        """Nothing is left open to roll back: each statement is committed already."""

    def close(self) -> None:
        self.conn.close()


def refused_errors() -> tuple[type[BaseException], ...]:
    """What a raw connection raises when a constraint or a trigger refuses a change."""
    import psycopg

    return (sqlite3.IntegrityError, psycopg.errors.IntegrityError)


@contextmanager
def raw_connection(ctx: Context | Path | PostgresURL) -> Iterator[Any]:
    """A plain connection to ctx's database (or to a location), around the service layer (a
    tamperer's, or a test reading rows directly): sqlite3's on SQLite, a psycopg one on
    PostgreSQL. SQL is written as for SQLite (`?` placeholders). Statements commit as
    sqlite3's do (call commit()) on SQLite, and one by one on PostgreSQL."""
    where = ctx.db_path if isinstance(ctx, Context) else ctx
    conn: Any = (
        _RawPostgres(where.url) if isinstance(where, PostgresURL) else sqlite3.connect(where)
    )
    try:
        yield conn
    finally:
        conn.close()


def rows_as_dicts(cursor: Any) -> list[dict[str, Any]]:
    """A raw cursor's rows as dicts by column name, on either engine."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def busy_errors() -> tuple[type[BaseException], ...]:
    """What a write raises when it waited the busy timeout out for the write lock."""
    from closure_readiness.storage.postgres import BUSY_ERRORS

    return (sqlite3.OperationalError, *BUSY_ERRORS)


@contextmanager
def write_lock_held(ctx: Context) -> Iterator[None]:
    """Another connection holding the write lock until the block ends (then committing):
    SQLite's `BEGIN IMMEDIATE`, or PostgreSQL's advisory lock every writer takes first."""
    if isinstance(ctx.db_path, PostgresURL):
        import psycopg

        from closure_readiness.storage.postgres import WRITE_LOCK

        with psycopg.connect(ctx.db_path.url, autocommit=True) as server:
            server.execute("BEGIN")
            server.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            try:
                yield
            finally:
                server.execute("COMMIT")
        return
    conn = sqlite3.connect(ctx.db_path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("COMMIT")
    finally:
        conn.close()


def at(ctx: Context, when: dt.datetime) -> Context:
    """The same database and thresholds, read at another moment."""
    return dataclasses.replace(ctx, clock=Clock(when))


@dataclass(frozen=True)
class Team:
    """The staff of the tests: two teams and an auditor."""

    worker: Principal
    """Caseworker in North: prepares most reviews."""
    colleague: Principal
    """Second caseworker in North."""
    manager: Principal
    """Team manager of North."""
    south_manager: Principal
    south_worker: Principal
    auditor: Principal

    def everyone(self) -> list[Principal]:
        return [
            self.worker,
            self.colleague,
            self.manager,
            self.south_manager,
            self.south_worker,
            self.auditor,
        ]


_ACCOUNTS = (
    ("worker", "SW-N1", "North caseworker one", Role.CASEWORKER, NORTH),
    ("colleague", "SW-N2", "North caseworker two", Role.CASEWORKER, NORTH),
    ("manager", "TM-N1", "North team manager", Role.TEAM_MANAGER, NORTH),
    ("south_manager", "TM-S1", "South team manager", Role.TEAM_MANAGER, SOUTH),
    ("south_worker", "SW-S1", "South caseworker", Role.CASEWORKER, SOUTH),
    ("auditor", "AU-1", "Auditor", Role.AUDITOR, ""),
)


def subject_of(staff_id: str) -> str:
    return f"subject-{staff_id.lower()}"


def add_team(ctx: Context) -> Team:
    """Add the test staff through the admin use case; returns their principals."""
    people: dict[str, Principal] = {}
    for label, staff_id, name, role, team in _ACCOUNTS:
        member = staff.add_staff(
            ctx,
            SYSTEM,
            staff_id=staff_id,
            issuer=ISSUER,
            subject=subject_of(staff_id),
            display_name=name,
            role=role,
            team=team,
        )
        people[label] = member.principal()
    return Team(**people)


def disable(ctx: Context, who: Principal) -> None:
    staff.update_staff(ctx, SYSTEM, who.staff_id, active=False)


# Review content -------------------------------------------------------------------------------


def ready_document() -> dict[str, Any]:
    """The ready example as a plain document (a fresh copy each call)."""
    document: dict[str, Any] = json.loads(READY_EXAMPLE.read_text(encoding="utf-8"))
    return document


def _review(document: dict[str, Any], reference: str | None) -> Review:
    if reference is not None:
        document["case"]["case_reference"] = reference
    return Review.model_validate(document)


def ready_review(reference: str | None = None) -> Review:
    """The complete review that passes every check."""
    return _review(ready_document(), reference)


def blocked_review(reference: str | None = None) -> Review:
    """The ready review with its change citations removed: change.E001, a hard blocker."""
    document = ready_document()
    document["answers"]["change"]["cited"] = []
    return _review(document, reference)


def caution_review(reference: str | None = None, *, rationale: str | None = None) -> Review:
    """No contacts given for later: caution exit.W002, open unless a rationale is written."""
    document = ready_document()
    document["answers"]["exit"]["contacts_given"] = False
    if rationale is not None:
        document["rationales"] = {"exit.W002": rationale}
    return _review(document, reference)


def unnotified_review(reference: str | None = None, *, missing: str = "voluntary") -> Review:
    """One involved agency not told of the closure: exit.E003, an overridable blocker."""
    document = ready_document()
    document["answers"]["exit"]["notified"] = [
        agency for agency in document["answers"]["exit"]["notified"] if agency != missing
    ]
    return _review(document, reference)


# Driving the workflow -------------------------------------------------------------------------


def prepare(ctx: Context, worker: Principal, review: Review) -> int:
    """Start a review for the review's case and save its content; returns the review id."""
    review_id = reviews.start_review(ctx, worker, review.case)
    record = reviews.get_review(ctx, worker, review_id)
    reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
    return review_id


def prepare_ready(ctx: Context, worker: Principal, reference: str | None = None) -> int:
    """A draft saved with the ready content; returns its id."""
    return prepare(ctx, worker, ready_review(reference))


def sign(ctx: Context, worker: Principal, review_id: int) -> int:
    """Sign off the review as it stands now (attested, with the current hash)."""
    record = reviews.get_review(ctx, worker, review_id)
    return reviews.sign_off(ctx, worker, review_id, seen_hash=record.content_hash, attested=True)


def submit(ctx: Context, worker: Principal, reference: str | None = None) -> tuple[int, int]:
    """A ready review, signed off and waiting for the manager: (review id, decision id)."""
    review_id = prepare_ready(ctx, worker, reference)
    return review_id, sign(ctx, worker, review_id)


def approve(ctx: Context, manager: Principal, decision_id: int) -> None:
    """Countersign the decision as the manager sees it."""
    sealed = decisions.get_decision(ctx, manager, decision_id)
    decisions.countersign(ctx, manager, decision_id, hash_seen=sealed.content_hash)


def finding_key(ctx: Context, who: Principal, review_id: int, check_id: str) -> str:
    """The key of the open blocker of `check_id` on the review as stored."""
    record = reviews.get_review(ctx, who, review_id)
    return next(f.key for f in record.report.open_blockers if f.check_id == check_id)


def late_seen_alone_review(reference: str | None = None, *, weeks: int = 5) -> Review:
    """Last seen alone `weeks` weeks before closure: exit.E004, an overridable blocker whose
    finding reads the date (its facts), so an exception lapses when that date changes."""
    document = ready_document()
    seen = CLOSURE_DAY - dt.timedelta(weeks=weeks)
    document["answers"]["exit"]["seen_alone_on"] = seen.isoformat()
    return _review(document, reference)


def grant(
    ctx: Context, worker: Principal, manager: Principal, review_id: int, check_id: str
) -> str:
    """The worker asks for an exception to the open blocker of `check_id`; the manager grants
    it. Returns the finding key."""
    key = finding_key(ctx, worker, review_id, check_id)
    request_id = reviews.request_exception(
        ctx, worker, review_id, finding_key=key, reason="Asked for in supervision."
    )
    decisions.decide_exception(ctx, manager, request_id, grant=True, reason="Agreed for now.")
    return key


# A decision sealed under checks 1.0.0 ---------------------------------------------------------


def v1_sealed_report(as_of: dt.date = CLOSURE_DAY) -> dict[str, Any]:
    """The report checks 1.0.0 sealed for the ready review: 44 checks, every one passed, in the
    1.0.0 shape (no route, no rests_on, no exception notices, thresholds before 2.0.0)."""
    results = [
        {
            "id": check_id,
            "title": title,
            "theme": check_id.split(".")[0],
            "level": {"E": "blocker", "W": "caution", "I": "note"}[check_id.split(".")[1][0]],
            "overridable": check_id in V1_OVERRIDABLE,
            "passed": True,
            "crashed": False,
            "findings": [],
        }
        for check_id, title in V1_CHECKS
    ]
    return {
        "checks_version": "1.0.0",
        "as_of": as_of.isoformat(),
        "thresholds": dict(V1_THRESHOLDS),
        "results": results,
        "sign_off_possible": True,
    }


def insert_v1_decision(
    ctx: Context, worker: Principal, review_id: int, *, signed_at: dt.datetime = NOW
) -> int:
    """Sign off `review_id` as checks 1.0.0 did: the review sealed as schema version 1 JSON with
    the 1.0.0 report, written by the same statements the 1.0.0 sign-off ran. Returns the id."""
    row = reviews.get_review(ctx, worker, review_id)
    document = copy.deepcopy(V1_READY_SEALED_REVIEW)
    document["case"].update(
        case_reference=row.case_reference, team=row.team, allocated_worker=worker.staff_id
    )
    report = v1_sealed_report()
    sealed_fields = {
        "format": reviews.DECISION_FORMAT,
        "review_id": review_id,
        "case_reference": row.case_reference,
        "team": row.team,
        "closure_reason": document["case"]["closure_reason"],
        "signed_by": worker.staff_id,
        "signed_at": signed_at.isoformat(),
        "as_of": report["as_of"],
        "checks_version": "1.0.0",
        "thresholds": report["thresholds"],
        "review": document,
        "report": report,
        "attestation": reviews.ATTESTATION,
    }
    sealed = canonical_json(sealed_fields)
    digest = sha256_text(sealed)
    with writing(ctx.db_path) as db:
        decision_id = repositories.insert_decision(
            db,
            {
                **{k: sealed_fields[k] for k in ("review_id", "case_reference", "team")},
                "closure_reason": sealed_fields["closure_reason"],
                "signed_by": worker.staff_id,
                "signed_at": sealed_fields["signed_at"],
                "as_of": sealed_fields["as_of"],
                "checks_version": "1.0.0",
                "sign_off_possible": 1,
                "exceptions": 0,
                "cautions": 0,
                "sealed": sealed,
                "content_hash": digest,
                "search_text": search_words(document),
            },
        )
        repositories.set_review_status(db, review_id, "submitted", signed_at.isoformat())
        audit.append(
            db,
            at=signed_at,
            actor=worker.staff_id,
            action="signed_off",
            review_id=review_id,
            decision_id=decision_id,
            detail={"content_hash": digest, "checks_version": "1.0.0"},
        )
    return decision_id


V1_THRESHOLDS = {
    "recent_evidence_weeks": 12,
    "default_maintenance_weeks": 12,
    "circumstance_horizon_weeks": 26,
    "child_seen_alone_weeks": 4,
    "rit_recompleted_weeks": 4,
    "re_referral_window_months": 12,
    "onward_first_contact_gap_weeks": 4,
    "minutes_circulated_working_days": 10,
    "transition_age": 17,
}
"""The thresholds of checks 1.0.0 (transfer_meeting_working_days came with 2.0.0)."""


# The ready review as checks 1.0.0 sealed it: review.model_dump(mode="json") of schema version 1.
V1_READY_SEALED_REVIEW: dict[str, Any] = {
    "schema_version": 1,
    "case": {
        "case_reference": "CR-2025-0412",
        "birth_month": "2009-06",
        "involvement": "child_in_need",
        "opened_on": "2024-06-03",
        "proposed_closure_on": "2025-05-30",
        "plan_reviews_held": 4,
        "closure_reason": "RC7",
        "exploitation_concern": True,
        "risk_at_opening": "significant",
        "risk_now": "emerging",
        "allocated_worker": "SW-014",
        "team": "North Adolescent Team",
        "involved_agencies": ["school", "police", "voluntary"],
        "previous_closures": [],
    },
    "incidents": [
        {
            "id": "I1",
            "kind": "missing_episode",
            "occurred_on": "2024-09-14",
            "summary": "Missing overnight, found out of area.",
            "record_ref": "CASE-NOTE-2291",
        },
        {
            "id": "I2",
            "kind": "police_intelligence",
            "occurred_on": "2024-11-20",
            "summary": "Seen with older males linked to a drug line.",
            "record_ref": "POL-INT-0087",
        },
    ],
    "evidence": [
        {
            "id": "E1",
            "agency": "school",
            "kind": "record",
            "observed_on": "2025-01-10",
            "direction": "shows_change",
            "shows": "Attendance up from 61% to 94% over the autumn and spring terms.",
            "record_ref": "EDU-ATT-25-01",
        },
        {
            "id": "E2",
            "agency": "police",
            "kind": "record",
            "observed_on": "2025-03-28",
            "direction": "shows_change",
            "shows": "No missing episodes or intelligence reports since November.",
            "record_ref": "POL-CHK-0331",
        },
        {
            "id": "E3",
            "agency": "voluntary",
            "kind": "observed",
            "observed_on": "2025-05-16",
            "direction": "shows_change",
            "shows": "Youth worker sees steady attendance at boxing club and new peer group.",
            "record_ref": "YW-OBS-0516",
        },
        {
            "id": "E4",
            "agency": "young_person",
            "kind": "young_person_account",
            "observed_on": "2025-05-20",
            "direction": "shows_change",
            "shows": "Says he stopped going to the park after his friend was stabbed and wants "
            "to finish college.",
            "record_ref": "CASE-NOTE-3104",
        },
        {
            "id": "E5",
            "agency": "childrens_social_care",
            "kind": "attendance",
            "observed_on": "2025-05-01",
            "direction": "neutral",
            "shows": "Attended all planned sessions since January.",
            "record_ref": "CASE-NOTE-3050",
        },
    ],
    "answers": {
        "change": {
            "cited": ["E1", "E2", "E3"],
            "notes": "Three agencies independently report change.",
        },
        "pace": {"cited": ["E1"], "notes": "", "maintenance_weeks": 16},
        "cause": {
            "cited": ["E4"],
            "notes": "",
            "causes": [
                {"kind": "own_decision", "ends_on": None, "plan_for_end": ""},
                {"kind": "new_education_place", "ends_on": None, "plan_for_end": ""},
            ],
            "network_status": "disrupted",
        },
        "sustain": {
            "cited": [],
            "notes": "",
            "protective_factors": [
                {"description": "College place from September", "continues_after_closure": True},
                {"description": "Boxing club with youth worker", "continues_after_closure": True},
            ],
            "safety_network": [
                {
                    "role": "Maternal aunt",
                    "agreed_action": "Weekly contact; calls the duty team if he goes missing.",
                }
            ],
        },
        "support": {
            "cited": [],
            "notes": "",
            "needs": [
                {
                    "need": "Positive activities and mentoring",
                    "status": "accepted",
                    "service": "Detached youth work",
                    "named_contact": "Senior youth worker",
                    "first_contact_on": "2025-06-06",
                    "consent_to_share": True,
                }
            ],
        },
        "exit": {
            "cited": [],
            "notes": "",
            "lead_agency": "voluntary",
            "lead_role": "Senior youth worker",
            "triggers": [
                {
                    "trigger": "Any missing episode",
                    "who_acts": "Parent reports to police and the front door",
                },
                {
                    "trigger": "School attendance below 85%",
                    "who_acts": "School designated safeguarding lead refers",
                },
            ],
            "notified": ["school", "police", "voluntary"],
            "seen_alone_on": "2025-05-23",
            "views_recorded_when_seen_alone": True,
            "young_person_view": "Happy for social care to close as long as youth work continues.",
            "parent_view": "Agrees with closure; knows whom to call.",
            "disagreement": False,
            "disagreement_response": "",
            "contacts_given": True,
        },
        "curiosity": {
            "cited": [],
            "notes": "",
            "network_mapped_on": "2025-02-12",
            "engagement": "sporadic",
            "engagement_reasons": "Early sessions clashed with peers' pressure to be out; moved "
            "sessions to the youth centre.",
            "last_direct_contact_on": "2025-05-23",
        },
        "family": {
            "cited": [],
            "notes": "",
            "factors": {
                "domestic_abuse": {"status": "not_present", "response": ""},
                "parental_mental_health": {
                    "status": "present",
                    "response": "Mother referred to talking therapies (accepted).",
                },
                "substance_misuse": {"status": "not_present", "response": ""},
                "child_to_parent_violence": {"status": "not_present", "response": ""},
                "family_criminality": {"status": "not_present", "response": ""},
            },
            "male_carer": "not_applicable",
            "siblings_considered": True,
        },
        "sharing": {
            "cited": [],
            "notes": "",
            "consulted": ["school", "police", "voluntary"],
            "history_reviewed": True,
            "final_meeting_on": "2025-05-12",
            "minutes_circulated_on": "2025-05-19",
            "all_relevant_invited": True,
        },
        "diversion": {
            "cited": [],
            "notes": "",
            "pending_charges": False,
            "police_told_of_exploitation": False,
            "transition_plan": False,
            "diversionary_offer": "Boxing club and mentoring",
        },
        "exploit": {
            "cited": [],
            "notes": "",
            "rit_completed_on": "2025-05-14",
            "mace_status": "closed",
            "nrm_status": "referred",
            "nrm_reason": "",
            "vemt_consulted_on": "2025-03-03",
        },
        "mh": {
            "cited": [],
            "notes": "",
            "wellbeing_need": False,
            "camhs": "not_referred",
            "alternative_support": "",
            "alternative_shared": False,
        },
    },
    "rationales": {},
    "exceptions": [],
}

V1_CHECKS: list[tuple[str, str]] = [
    ("change.E001", "No evidence of change cited"),
    ("change.E002", "Change rests only on accounts, opinion or attendance"),
    ("change.E003", "Change not triangulated"),
    ("change.E004", "Evidence of change is stale"),
    ("change.E005", "Incident after the evidence of change"),
    ("change.W001", "Concern recorded during the claimed change"),
    ("pace.E001", "Change not sustained long enough"),
    ("pace.W001", "Closing at the first child protection review"),
    ("pace.W002", "Large fall in risk with no cause"),
    ("cause.E001", "No cause of the risk reduction recorded"),
    ("cause.E002", "Circumstance ends soon with no plan"),
    ("cause.W001", "Young person's own account not recorded"),
    ("cause.W002", "Exploiting network still active"),
    ("sustain.E001", "No protective factor continues after closure"),
    ("sustain.W001", "No trusted adult with an agreed action"),
    ("sustain.W002", "An earlier closure was followed by re-referral"),
    ("support.E001", "Remaining need without a referral"),
    ("support.W001", "Long wait for first onward contact"),
    ("support.W002", "Consent to share not recorded"),
    ("exit.E001", "No lead professional after closure"),
    ("exit.E002", "No re-referral triggers with owners"),
    ("exit.E003", "Involved agency not notified of closure"),
    ("exit.E004", "Child not seen alone recently"),
    ("exit.W001", "Views on closure not recorded"),
    ("exit.W002", "No contacts for when worries return"),
    ("curiosity.E001", "Peers and network not mapped"),
    ("curiosity.W001", "Reasons for poor engagement not explored"),
    ("curiosity.W002", "No recent direct contact"),
    ("family.E001", "Family need present with nothing planned"),
    ("family.W001", "Family factors not assessed"),
    ("family.W002", "Father or male carer not included"),
    ("family.W003", "Other children not considered"),
    ("sharing.E001", "Involved agency not consulted on closure"),
    ("sharing.W001", "History not reviewed"),
    ("sharing.W002", "Final meeting minutes late or professionals missing"),
    ("diversion.W001", "Pending charges without exploitation context"),
    ("diversion.W002", "No transition plan at 17 or over"),
    ("diversion.I001", "No diversionary or positive activity offered"),
    ("exploit.E001", "Risk indicator tool not re-completed"),
    ("exploit.E002", "Still open to MACE"),
    ("exploit.E003", "No National Referral Mechanism decision"),
    ("exploit.W001", "No VEMT consultation"),
    ("mh.E001", "No alternative to CAMHS offered"),
    ("mh.W001", "Alternative support not shared"),
]
V1_OVERRIDABLE: frozenset[str] = frozenset(
    {
        "pace.E001",
        "exploit.E001",
        "exit.E002",
        "change.E003",
        "exit.E004",
        "family.E001",
        "sustain.E001",
        "exploit.E002",
        "exploit.E003",
        "mh.E001",
        "change.E005",
        "curiosity.E001",
        "support.E001",
        "sharing.E001",
        "change.E004",
        "exit.E003",
        "cause.E002",
    }
)
