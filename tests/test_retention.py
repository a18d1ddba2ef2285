"""Retention and disposal (issue 11, item 17; decision #54).

Each decision seals a retention class and a disposal date; `closure-readiness dispose` turns a
case's records past their date into a tombstone that `verify` still passes, and that nobody can
change afterwards without `verify` saying so. The disposed content is gone from the file itself,
not merely unlinked.

Disposal and its tombstone are tested on SQLite and on PostgreSQL (where the disposed content
is gone from every row the database holds; the dead row versions are the server's VACUUM's to
reclaim: storage.disposal).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from app_support import DemoDatabase, all_text, app_test
from cli_support import invoke
from closure_readiness.core.location import PostgresURL
from closure_readiness.core.location import Store as Location
from closure_readiness.core.retention import (
    DEFAULT_POLICY,
    RetentionClass,
    RetentionFileProblem,
    RetentionPolicy,
    read_policy,
    sealed_words,
)
from closure_readiness.core.seal import SealedDecisionDoc
from closure_readiness.core.vocabulary import Involvement
from closure_readiness.service import auditing, decisions, retention, reviews
from closure_readiness.service.context import SYSTEM, Context, InvalidInput, NotFound
from closure_readiness.storage.database import read_only, reading
from closure_readiness.storage.integrity import verify
from closure_readiness.storage.queries import DecisionQuery
from tamper_support import raw, tamper
from workflow_fixtures import (
    Clock,
    Team,
    _review,
    approve,
    copy_context,
    insert_v1_decision,
    prepare,
    ready_document,
    refused_errors,
    sign,
)

pytestmark = [pytest.mark.usefixtures("clean_cli_settings"), pytest.mark.both_engines]

SHORT = RetentionPolicy(
    classes={i: RetentionClass(keep_until_age=18, years_after_closure=0) for i in Involvement}
)
"""Kept until the 18th birthday only: a young person born in January 2008 falls due on
1 February 2026, before today in every run of these tests."""
SIGNED = dt.datetime(2025, 5, 30, 9, tzinfo=dt.UTC)
TODAY = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
DUE = dt.date(2026, 2, 1)
PHRASE = "Zephyrine-quokka-7731 spoke about the youth club"
"""Free text written into the review, looked for in the raw file after disposal."""


def young(reference: str, *, born: str = "2008-01") -> object:
    document = ready_document()
    document["case"]["birth_month"] = born
    document["answers"]["change"]["notes"] = PHRASE
    if born == "2008-01":  # 17 at closure: the transition caution needs a rationale
        document["rationales"] = {"diversion.W002": "Transition worker allocated from June."}
    return _review(document, reference)


@dataclasses.dataclass
class Store:
    ctx: Context
    team: Team
    approved: tuple[int, int]
    """(review id, decision id) of an approved closure of CR-9001, due."""
    returned_then_withdrawn: tuple[int, int]
    """(review id, decision id) of CR-9002: signed, returned with a reason, then withdrawn."""

    def at(self, when: dt.datetime) -> Context:
        return dataclasses.replace(self.ctx, clock=Clock(when))


@pytest.fixture(scope="module")
def built(staffed: tuple[Context, Team], tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The store below, made once per engine (each test changes a copy of it)."""
    ctx = dataclasses.replace(
        copy_context(staffed[0], tmp_path_factory.mktemp("built")),
        clock=Clock(SIGNED),
        retention=SHORT,
    )
    team = staffed[1]
    review_id = prepare(ctx, team.worker, young("CR-9001"))
    decision_id = sign(ctx, team.worker, review_id)
    approve(ctx, team.manager, decision_id)
    other = prepare(ctx, team.worker, young("CR-9002"))
    other_decision = sign(ctx, team.worker, other)
    decisions.return_review(
        ctx, team.manager, other_decision, overall="Quokka-return-reason needs more evidence"
    )
    reviews.withdraw(ctx, team.worker, other, reason="Withdrawn-because-moved-away")
    return Store(ctx, team, (review_id, decision_id), (other, other_decision))


@pytest.fixture
def store(built: Store, tmp_path: Path) -> Store:
    return dataclasses.replace(built, ctx=copy_context(built.ctx, tmp_path))


def intact(ctx: Context) -> list[str]:
    with read_only(ctx.db_path) as db:
        return verify(db).problems


def raw_bytes(path: Location) -> bytes:
    """The file and its journals, byte for byte; on PostgreSQL, every row of every table as
    text (what any reader of the database can see)."""
    if isinstance(path, PostgresURL):
        with raw(path) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                ).fetchall()
            ]
            rows = [
                str(row[0])
                for table in tables
                for row in conn.execute(f"SELECT t::text FROM {table} t").fetchall()
            ]
        return "\n".join(rows).encode()
    data = path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            data += extra.read_bytes()
    return data


# The schedule --------------------------------------------------------------------------------


def test_the_default_schedule_keeps_until_the_25th_birthday_and_six_years_after_closure() -> None:
    in_need = DEFAULT_POLICY.class_for(Involvement.CHILD_IN_NEED)
    assert in_need.dispose_on(birth_month="2009-06", closed_on=dt.date(2025, 5, 30)) == dt.date(
        2034, 7, 1
    )  # after the 25th birthday (the month's last day), later than closure + 6 years
    assert in_need.dispose_on(birth_month="2000-01", closed_on=dt.date(2025, 5, 30)) == dt.date(
        2031, 5, 31
    )  # six years after closure, later than the 25th birthday
    protection = DEFAULT_POLICY.class_for(Involvement.CHILD_PROTECTION)
    assert protection.dispose_on(birth_month="2009-06", closed_on=dt.date(2025, 5, 30)) == dt.date(
        2060, 5, 31
    )
    leap = RetentionClass(keep_until_age=18, years_after_closure=1)
    assert leap.dispose_on(birth_month="2000-01", closed_on=dt.date(2024, 2, 29)) == dt.date(
        2025, 3, 1
    )
    assert "25th birthday" in in_need.describe()
    assert "at least 6 years after the case closed" in in_need.describe()


def test_a_schedule_file_is_read_strictly_with_plain_messages(tmp_path: Path) -> None:
    path = tmp_path / "retention.toml"
    lines = [f"[{i.value}]\nkeep_until_age = 25\nyears_after_closure = 7\n" for i in Involvement]
    path.write_text("".join(lines))
    assert read_policy(path).class_for(Involvement.YOUTH_JUSTICE).years_after_closure == 7

    path.write_text("[child_in_need]\nkeep_until_age = true\nyears_after_closure = 7\n")
    with pytest.raises(RetentionFileProblem, match=r"child_in_need\.keep_until_age"):
        read_policy(path)
    path.write_text("".join(lines[:2]))
    with pytest.raises(RetentionFileProblem, match="no retention class for: Child protection"):
        read_policy(path)
    path.write_text("".join(lines) + "[adoption]\nkeep_until_age = 100\n")
    with pytest.raises(RetentionFileProblem, match="does not have: adoption"):
        read_policy(path)
    path.write_text("[child_in_need\n")
    with pytest.raises(RetentionFileProblem, match="not TOML"):
        read_policy(path)


def test_each_decision_seals_its_retention_class_and_disposal_date(store: Store) -> None:
    with reading(store.ctx.db_path) as db:
        (sealed,) = db.execute(
            "SELECT sealed FROM decisions WHERE id = ?", [store.approved[1]]
        ).fetchone()
    document = SealedDecisionDoc.model_validate_json(sealed)
    assert document.retention is not None
    assert document.retention.involvement == "child_in_need"
    assert document.retention.keep_until_age == 18
    assert document.retention.dispose_on == DUE.isoformat()
    assert document.text() == sealed  # the field is part of the seal


# Disposal ------------------------------------------------------------------------------------


def test_dispose_leaves_a_tombstone_that_verify_passes(store: Store) -> None:
    before = auditing.learning(store.ctx, store.team.auditor).gaps_at_first_sign_off

    run = retention.dispose(store.at(TODAY), SYSTEM, TODAY.date())

    assert [d.review_id for d in run.disposed] == [
        store.approved[0],
        store.returned_then_withdrawn[0],
    ]
    assert intact(store.ctx) == []
    with reading(store.ctx.db_path) as db:
        review = db.execute(
            "SELECT content, case_reference, status, disposed_on FROM reviews WHERE id = ?",
            [store.approved[0]],
        ).fetchone()
        decision = db.execute(
            "SELECT sealed, case_reference, search_text, team, content_hash, disposed_on "
            "FROM decisions WHERE id = ?",
            [store.approved[1]],
        ).fetchone()
        evidence = db.execute("SELECT count(*) FROM evidence").fetchone()[0]
        versions = db.execute("SELECT DISTINCT content FROM review_versions").fetchall()
        reasons = db.execute("SELECT DISTINCT reasons, sealed FROM outcomes").fetchall()
        details = [row[0] for row in db.execute("SELECT detail FROM audit_events")]
    assert review == ("", "", "approved", TODAY.date().isoformat())
    assert decision[:3] == ("", "", "")
    assert decision[3] == "North"
    assert len(decision[4]) == 64
    assert evidence == 0
    assert versions == [("",)]
    assert reasons == [("", "")]
    assert not [d for d in details if "CR-9001" in d or "Withdrawn-because" in d]
    # What the learning figures count stays.
    assert auditing.learning(store.ctx, store.team.auditor).gaps_at_first_sign_off == before


def test_the_disposed_content_is_gone_from_the_file_itself(store: Store) -> None:
    assert b"CR-9001" in raw_bytes(store.ctx.db_path)
    assert PHRASE.encode() in raw_bytes(store.ctx.db_path)

    retention.dispose(store.at(TODAY), SYSTEM, TODAY.date())

    data = raw_bytes(store.ctx.db_path)
    for gone in ("CR-9001", "CR-9002", "Zephyrine", "Quokka-return-reason", "Withdrawn-because"):
        assert gone.encode() not in data, gone
        assert gone.lower().encode() not in data, gone  # the search index holds terms folded


def test_a_disposed_decision_is_gone_from_search_lists_and_pages(store: Store) -> None:
    auditor = store.team.auditor
    retention.dispose(store.at(TODAY), SYSTEM, TODAY.date())

    listed = auditing.list_decisions(store.ctx, auditor, DecisionQuery())
    assert listed.rows == []
    found = auditing.list_decisions(store.ctx, auditor, DecisionQuery(text="CR-9001"))
    assert found.rows == []
    with pytest.raises(NotFound, match="disposed of on 30/11/2026"):
        decisions.get_decision(store.ctx, auditor, store.approved[1])
    with pytest.raises(NotFound, match="disposed of on 30/11/2026"):
        auditing.decision_detail(store.ctx, auditor, store.approved[1])
    assert intact(store.ctx) == []


def test_nothing_is_disposed_of_before_its_date_while_held_or_while_the_case_is_open(
    store: Store,
) -> None:
    ctx = store.ctx
    review_id = prepare(ctx, store.team.worker, young("CR-9003", born="2009-06"))
    approve(ctx, store.team.manager, sign(ctx, store.team.worker, review_id))
    reopened = prepare(ctx, store.team.worker, young("CR-9004"))
    approve(ctx, store.team.manager, sign(ctx, store.team.worker, reopened))
    prepare(ctx, store.team.worker, young("CR-9004"))  # a new review of the same case, open

    early = retention.dispose(store.at(TODAY), SYSTEM, dt.date(2026, 1, 31))
    assert early.disposed == []
    run = retention.dispose(store.at(TODAY), SYSTEM, TODAY.date(), frozenset({"CR-9002"}))

    assert [d.case_reference for d in run.disposed] == ["CR-9001"]
    assert [d.case_reference for d in run.held] == ["CR-9002"]
    assert run.not_yet_due == 1  # CR-9003: 18 in June 2027
    assert run.open_cases == 1  # CR-9004
    assert intact(ctx) == []
    with pytest.raises(InvalidInput, match="after today"):
        retention.dispose(store.at(TODAY), SYSTEM, dt.date(2026, 12, 1))


def test_a_decision_that_does_not_match_its_seal_is_not_disposed_of(store: Store) -> None:
    tamper(
        store.ctx.db_path,
        "DROP TRIGGER decisions_no_update",
        f"UPDATE decisions SET closure_reason = 'RC9' WHERE id = {store.approved[1]}",
    )

    run = retention.dispose(store.at(TODAY), SYSTEM, TODAY.date())

    assert [due.review_id for due, _ in run.refused] == [store.approved[0]]
    with reading(store.ctx.db_path) as db:
        assert db.execute(
            "SELECT case_reference FROM reviews WHERE id = ?", [store.approved[0]]
        ).fetchone() == ("CR-9001",)


# After disposal, the tombstone holds -----------------------------------------------------------


TAMPERS = {
    "content put back": (
        "DROP TRIGGER reviews_final",
        "UPDATE reviews SET case_reference = 'CR-9001' WHERE disposed_on IS NOT NULL "
        "AND id = (SELECT min(id) FROM reviews)",
    ),
    "a kept column changed": (
        "DROP TRIGGER decisions_no_update",
        "UPDATE decisions SET team = 'South' WHERE id = (SELECT min(id) FROM decisions)",
    ),
    "a finding changed": (
        "DROP TRIGGER decision_findings_no_update",
        "UPDATE decision_findings SET resolution = 'met' WHERE (decision_id, finding_key) = "
        "(SELECT decision_id, finding_key FROM decision_findings "
        "ORDER BY decision_id, finding_key LIMIT 1)",
    ),
    "a redacted event changed": (
        'UPDATE audit_events SET detail = \'{"reason":"rewritten"}\' '
        "WHERE seq = (SELECT min(seq) FROM audit_events WHERE action = 'review_withdrawn')",
    ),
    "the disposal event removed": (
        "DROP TRIGGER audit_events_no_delete",
        "DELETE FROM audit_events WHERE action = 'review_disposed'",
    ),
}


@pytest.mark.parametrize("name", TAMPERS)
def test_verify_catches_a_change_to_a_tombstone(store: Store, name: str) -> None:
    retention.dispose(store.at(TODAY), SYSTEM, TODAY.date())
    assert intact(store.ctx) == []

    tamper(store.ctx.db_path, *TAMPERS[name])

    problems = intact(store.ctx)
    assert problems
    assert not [p for p in problems if p.startswith("database safeguard")]


def test_nothing_can_be_marked_disposed_of_without_a_disposal_in_the_audit_trail(
    store: Store,
) -> None:
    with pytest.raises(refused_errors(), match="cannot be changed"):
        tamper(
            store.ctx.db_path,
            "UPDATE decisions SET sealed = '', case_reference = '', search_text = '', "
            f"disposed_on = '2026-11-30' WHERE id = {store.approved[1]}",
        )
    with pytest.raises(refused_errors(), match="cannot be changed"):
        tamper(
            store.ctx.db_path,
            f"UPDATE audit_events SET detail = '{{}}' WHERE review_id = {store.approved[0]}",
        )
    out_of_the_index = (  # SQLite's FTS5 index; PostgreSQL's follows the row
        []
        if isinstance(store.ctx.db_path, PostgresURL)
        else [
            "INSERT INTO decisions_fts (decisions_fts, rowid, case_reference, search_text) "
            f"SELECT 'delete', id, case_reference, search_text FROM decisions WHERE id = "
            f"{store.approved[1]}"
        ]
    )
    tamper(
        store.ctx.db_path,
        "DROP TRIGGER decisions_no_update",
        *out_of_the_index,
        "UPDATE decisions SET sealed = '', case_reference = '', search_text = '', "
        f"disposed_on = '2026-11-30' WHERE id = {store.approved[1]}",
    )
    problems = intact(store.ctx)
    assert any(
        "marked as disposed of, but the audit trail records no disposal" in p for p in problems
    )


# The command ---------------------------------------------------------------------------------


def test_the_dispose_command_uses_the_councils_schedule_and_verify_passes_after(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(store.ctx.db_path)
    schedule = tmp_path / "retention.toml"
    schedule.write_text(
        "".join(f"[{i.value}]\nkeep_until_age = 18\nyears_after_closure = 0\n" for i in Involvement)
    )
    monkeypatch.setenv("CLOSURE_RETENTION_FILE", str(schedule))
    today = dt.date.today().isoformat()

    dry = invoke("dispose", "--db", db, "--as-of", today, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "due: review 1 (case CR-9001, 1 decision), disposal date 01/02/2026" in dry.output
    assert "2 reviews due for disposal" in dry.output
    held = invoke("dispose", "--db", db, "--as-of", today, "--hold", "cr-9002")
    assert held.exit_code == 0, held.output
    assert "1 review disposed of" in held.output
    assert "1 held" in held.output
    future = invoke("dispose", "--db", db, "--as-of", "2999-01-01")
    assert future.exit_code == 2
    assert "after today" in future.output

    verified = invoke("verify", "--db", db)
    assert verified.exit_code == 0, verified.output
    assert ": intact." in verified.output


def test_a_bad_schedule_file_is_one_line(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule = tmp_path / "retention.toml"
    schedule.write_text("[child_in_need]\nkeep_until_age = 'old'\n")
    monkeypatch.setenv("CLOSURE_RETENTION_FILE", str(schedule))
    result = invoke("dispose", "--db", str(store.ctx.db_path), "--as-of", "2026-01-01")
    assert result.exit_code == 2
    assert "the retention schedule is not valid" in result.output
    assert "Traceback" not in result.output


def test_without_a_council_schedule_the_defaults_are_sealed(
    store: Store,
) -> None:
    ctx = dataclasses.replace(store.ctx, retention=DEFAULT_POLICY)
    review_id = prepare(ctx, store.team.worker, young("CR-9005"))
    decision_id = sign(ctx, store.team.worker, review_id)
    with reading(ctx.db_path) as db:
        (sealed,) = db.execute(
            "SELECT sealed FROM decisions WHERE id = ?", [decision_id]
        ).fetchone()
    document = json.loads(sealed)
    assert document["retention"]["dispose_on"] == "2033-02-01"  # after the 25th birthday
    assert document["retention"]["keep_until_age"] == 25


# What the auditor sees --------------------------------------------------------------------------


def test_the_decision_page_and_the_record_show_the_sealed_retention(demo: DemoDatabase) -> None:
    ctx, auditor = demo.context(), demo.principal("auditor")
    decision_id = auditing.list_decisions(ctx, auditor, DecisionQuery()).rows[0]["id"]
    sealed = decisions.get_decision(ctx, auditor, decision_id)
    assert sealed.retention.startswith("Kept until ")

    at = app_test("auditor", page="decision", query={"decision": str(decision_id)})

    assert not at.exception
    shown = all_text(at)
    assert sealed.retention in shown
    assert "25th birthday, and at least 6 years after the case closed" in shown
    pdf = auditing.decision_record_pdf(ctx, auditor, decision_id)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Retention" in text
    assert "at least 6 years after the case closed" in " ".join(text.split())


def test_a_decision_sealed_before_retention_says_what_decides_instead() -> None:
    assert "Not sealed (signed off before retention was recorded)" in sealed_words(None)
    assert sealed_words({"involvement": "child_in_need", "keep_until_age": 25}).startswith(
        "Not sealed"
    )


def test_run_refuses_to_start_with_a_schedule_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule = tmp_path / "retention.toml"
    schedule.write_text("[child_in_need]\nkeep_until_age = 25\n")
    monkeypatch.setenv("CLOSURE_RETENTION_FILE", str(schedule))

    result = invoke("run", "--port", "1")

    assert result.exit_code == 2
    assert "the retention schedule is not valid" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_date_not_sealed_is_worked_out_from_the_schedule(store: Store) -> None:
    """A decision sealed before retention was recorded (checks 1.0.0), and a review withdrawn
    before any sign-off: their dates come from the schedule in force."""
    ctx, worker = store.ctx, store.team.worker
    old = prepare(ctx, worker, young("CR-9006", born="2009-06"))
    insert_v1_decision(ctx, worker, old)  # born 06/2009: 18 on 30/06/2027
    unsigned = prepare(ctx, worker, young("CR-9007"))  # born 01/2008: 18 on 31/01/2026
    reviews.withdraw(ctx, worker, unsigned, reason="Opened for the wrong case.")
    reviews.withdraw(ctx, worker, old, reason="Opened twice.")

    before = retention.plan(store.at(TODAY), dt.date(2027, 6, 30))
    after = retention.plan(store.at(TODAY), dt.date(2027, 7, 1))

    assert "CR-9007" in {d.case_reference for d in before.due}
    assert "CR-9006" not in {d.case_reference for d in before.due}
    (due,) = [d for d in after.due if d.case_reference == "CR-9006"]
    assert due.dispose_on == dt.date(2027, 7, 1)
