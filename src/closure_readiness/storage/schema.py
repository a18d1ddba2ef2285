"""The schema, as named sqlite-utils migrations. Never edit an applied migration: add one.

Triggers are the last guard of the workflow: even with the service bypassed, the database
refuses changes to sealed decisions and audit events, an approval by the person who signed,
an approval of content other than what was sealed, and a broken audit chain.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("closure_readiness")

GENESIS_HASH = "0" * 64


def run_script(db: Database, script: str) -> None:
    """Run each statement of a script inside the current transaction.

    sqlite3's executescript() commits first, which would break the migration's transaction.
    """
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.execute(statement)
            statement = ""
    if statement.strip(" \n;"):
        raise ValueError(f"incomplete SQL statement: {statement[:80]}")


def _refuse_changes(table: str, key: str, what: str) -> str:
    """UPDATE, DELETE and INSERT OR REPLACE refused: rows of this table are insert-only."""
    return f"""
    CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
    BEGIN SELECT RAISE(ABORT, '{what} cannot be changed'); END;
    CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
    BEGIN SELECT RAISE(ABORT, '{what} cannot be deleted'); END;
    CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}
    WHEN EXISTS (SELECT 1 FROM {table} WHERE {key} = NEW.{key})
    BEGIN SELECT RAISE(ABORT, '{what} cannot be replaced'); END;
    """


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE staff (
            id TEXT PRIMARY KEY,
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            display_name TEXT NOT NULL,
            role TEXT NOT NULL
                CHECK (role IN ('caseworker', 'team_manager', 'auditor', 'admin')),
            team TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            created_at TEXT NOT NULL,
            UNIQUE (issuer, subject)
        );
        CREATE INDEX staff_team ON staff (team, role);

        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            case_reference TEXT NOT NULL,
            team TEXT NOT NULL,
            worker_id TEXT NOT NULL REFERENCES staff (id),
            status TEXT NOT NULL
                CHECK (status IN ('draft', 'submitted', 'returned', 'approved', 'withdrawn')),
            version INTEGER NOT NULL CHECK (version >= 1),
            content TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            proposed_closure_on TEXT NOT NULL,
            re_referral_of INTEGER REFERENCES reviews (id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX reviews_worker ON reviews (worker_id, status, updated_at);
        CREATE INDEX reviews_team ON reviews (team, status, updated_at);
        CREATE INDEX reviews_case ON reviews (case_reference, created_at);
        CREATE INDEX reviews_re_referral ON reviews (re_referral_of);
        CREATE UNIQUE INDEX reviews_one_open_per_case ON reviews (case_reference)
            WHERE status IN ('draft', 'submitted', 'returned');

        CREATE TABLE review_versions (
            review_id INTEGER NOT NULL REFERENCES reviews (id),
            version INTEGER NOT NULL,
            content TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            saved_by TEXT NOT NULL REFERENCES staff (id),
            saved_at TEXT NOT NULL,
            PRIMARY KEY (review_id, version)
        );

        CREATE TABLE evidence (
            review_id INTEGER NOT NULL REFERENCES reviews (id),
            evidence_id TEXT NOT NULL,
            agency TEXT NOT NULL,
            kind TEXT NOT NULL,
            observed_on TEXT NOT NULL,
            direction TEXT NOT NULL,
            shows TEXT NOT NULL,
            record_ref TEXT NOT NULL,
            PRIMARY KEY (review_id, evidence_id)
        );
        CREATE INDEX evidence_agency ON evidence (agency, observed_on);

        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            review_id INTEGER NOT NULL REFERENCES reviews (id),
            case_reference TEXT NOT NULL,
            team TEXT NOT NULL,
            closure_reason TEXT NOT NULL,
            signed_by TEXT NOT NULL REFERENCES staff (id),
            signed_at TEXT NOT NULL,
            as_of TEXT NOT NULL,
            checks_version TEXT NOT NULL,
            sign_off_possible INTEGER NOT NULL CHECK (sign_off_possible = 1),
            exceptions INTEGER NOT NULL,
            cautions INTEGER NOT NULL,
            sealed TEXT NOT NULL,
            content_hash TEXT NOT NULL UNIQUE CHECK (length(content_hash) = 64),
            search_text TEXT NOT NULL
        );
        CREATE INDEX decisions_signed_at ON decisions (signed_at);
        CREATE INDEX decisions_team ON decisions (team, signed_at);
        CREATE INDEX decisions_reason ON decisions (closure_reason, signed_at);
        CREATE INDEX decisions_review ON decisions (review_id);
        CREATE INDEX decisions_case ON decisions (case_reference);
        CREATE INDEX decisions_signed_by ON decisions (signed_by);

        CREATE TABLE decision_findings (
            decision_id INTEGER NOT NULL REFERENCES decisions (id),
            finding_key TEXT NOT NULL,
            check_id TEXT NOT NULL,
            level TEXT NOT NULL,
            resolution TEXT NOT NULL,
            resolved_by TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (decision_id, finding_key)
        );
        CREATE INDEX decision_findings_check ON decision_findings (check_id, resolution);
        CREATE INDEX decision_findings_resolution ON decision_findings (resolution, check_id);

        CREATE TABLE outcomes (
            decision_id INTEGER PRIMARY KEY REFERENCES decisions (id),
            outcome TEXT NOT NULL CHECK (outcome IN ('approved', 'returned', 'withdrawn')),
            decided_by TEXT NOT NULL REFERENCES staff (id),
            decided_at TEXT NOT NULL,
            hash_seen TEXT NOT NULL,
            reasons TEXT NOT NULL,
            sealed TEXT NOT NULL,
            outcome_hash TEXT NOT NULL CHECK (length(outcome_hash) = 64)
        );
        CREATE INDEX outcomes_outcome ON outcomes (outcome, decided_at);
        CREATE INDEX outcomes_decided_by ON outcomes (decided_by);

        CREATE TABLE exception_requests (
            id INTEGER PRIMARY KEY,
            review_id INTEGER NOT NULL REFERENCES reviews (id),
            finding_key TEXT NOT NULL,
            check_id TEXT NOT NULL,
            requested_by TEXT NOT NULL REFERENCES staff (id),
            requested_at TEXT NOT NULL,
            worker_reason TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'declined', 'withdrawn')),
            decided_by TEXT REFERENCES staff (id),
            decided_at TEXT,
            manager_reason TEXT NOT NULL DEFAULT '',
            CHECK (decided_by IS NULL OR decided_by != requested_by)
        );
        CREATE INDEX exception_requests_review ON exception_requests (review_id, status);
        CREATE INDEX exception_requests_status ON exception_requests (status, requested_at);
        CREATE INDEX exception_requests_check ON exception_requests (check_id, status);

        CREATE TABLE audit_events (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            review_id INTEGER,
            decision_id INTEGER,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL CHECK (length(hash) = 64)
        );
        CREATE INDEX audit_review ON audit_events (review_id, seq);
        CREATE INDEX audit_decision ON audit_events (decision_id, seq);
        CREATE INDEX audit_action ON audit_events (action, at);

        CREATE VIRTUAL TABLE decisions_fts USING fts5 (
            case_reference, search_text, content = 'decisions', content_rowid = 'id'
        );
        CREATE TRIGGER decisions_fts_insert AFTER INSERT ON decisions
        BEGIN
            INSERT INTO decisions_fts (rowid, case_reference, search_text)
            VALUES (NEW.id, NEW.case_reference, NEW.search_text);
        END;
        """,
    )
    run_script(
        db,
        _refuse_changes("decisions", "id", "A sealed decision")
        + _refuse_changes("outcomes", "decision_id", "A countersigned or returned decision")
        + """
    CREATE TRIGGER decision_findings_no_update BEFORE UPDATE ON decision_findings
    BEGIN SELECT RAISE(ABORT, 'findings of a sealed decision cannot be changed'); END;
    CREATE TRIGGER decision_findings_no_delete BEFORE DELETE ON decision_findings
    BEGIN SELECT RAISE(ABORT, 'findings of a sealed decision cannot be deleted'); END;
    """
        + _refuse_changes("audit_events", "seq", "An audit event")
        + f"""
        CREATE TRIGGER decisions_from_open_review BEFORE INSERT ON decisions
        WHEN (SELECT status FROM reviews WHERE id = NEW.review_id)
             NOT IN ('draft', 'returned')
        BEGIN SELECT RAISE(ABORT, 'only a draft or returned review can be signed off'); END;

        CREATE TRIGGER outcomes_not_by_signer BEFORE INSERT ON outcomes
        WHEN NEW.outcome = 'approved'
         AND NEW.decided_by = (SELECT signed_by FROM decisions WHERE id = NEW.decision_id)
        BEGIN SELECT RAISE(ABORT, 'the person who signed off cannot countersign'); END;

        CREATE TRIGGER outcomes_hash_seen BEFORE INSERT ON outcomes
        WHEN NEW.outcome = 'approved'
         AND NEW.hash_seen != (SELECT content_hash FROM decisions WHERE id = NEW.decision_id)
        BEGIN SELECT RAISE(ABORT, 'the countersigned content is not what was sealed'); END;

        CREATE TRIGGER outcomes_approved_by_team_manager BEFORE INSERT ON outcomes
        WHEN NEW.outcome = 'approved' AND NOT EXISTS (
            SELECT 1 FROM staff s JOIN decisions d ON d.id = NEW.decision_id
            WHERE s.id = NEW.decided_by AND s.role = 'team_manager' AND s.active = 1
              AND s.team = d.team)
        BEGIN SELECT RAISE(ABORT, 'only an active manager of the team can countersign'); END;

        CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
        BEGIN SELECT RAISE(ABORT, 'reviews are kept: withdraw instead of deleting'); END;

        CREATE TRIGGER reviews_final BEFORE UPDATE ON reviews
        WHEN OLD.status IN ('approved', 'withdrawn')
        BEGIN SELECT RAISE(ABORT, 'an approved or withdrawn review cannot change'); END;

        CREATE TRIGGER reviews_submitted_content BEFORE UPDATE OF content ON reviews
        WHEN OLD.status = 'submitted' AND NEW.content != OLD.content
        BEGIN SELECT RAISE(ABORT, 'a submitted review cannot be edited'); END;

        CREATE TRIGGER reviews_approved_needs_countersign BEFORE UPDATE OF status ON reviews
        WHEN NEW.status = 'approved' AND NOT EXISTS (
            SELECT 1 FROM decisions d JOIN outcomes o ON o.decision_id = d.id
            WHERE d.review_id = NEW.id AND o.outcome = 'approved')
        BEGIN SELECT RAISE(ABORT, 'a review is approved only by a countersignature'); END;

        CREATE TRIGGER reviews_submitted_needs_decision BEFORE UPDATE OF status ON reviews
        WHEN NEW.status = 'submitted' AND NOT EXISTS (
            SELECT 1 FROM decisions d WHERE d.review_id = NEW.id
            AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.decision_id = d.id))
        BEGIN SELECT RAISE(ABORT, 'a review is submitted only by a sign-off'); END;

        CREATE TRIGGER audit_events_chain BEFORE INSERT ON audit_events
        WHEN NEW.seq != coalesce((SELECT max(seq) FROM audit_events), 0) + 1
          OR NEW.prev_hash != coalesce(
                (SELECT hash FROM audit_events WHERE seq = NEW.seq - 1), '{GENESIS_HASH}')
        BEGIN SELECT RAISE(ABORT, 'an audit event must extend the chain'); END;
        """,
    )


@MIGRATIONS()
def m002_approval_trigger_by_review(db: Database) -> None:
    """The approval trigger looked through every approved outcome on each countersignature
    (~35 ms at 70k approvals, holding the write lock): find the review's decisions first."""
    run_script(
        db,
        """
        DROP TRIGGER reviews_approved_needs_countersign;
        CREATE TRIGGER reviews_approved_needs_countersign BEFORE UPDATE OF status ON reviews
        WHEN NEW.status = 'approved' AND NOT EXISTS (
            SELECT 1 FROM decisions d CROSS JOIN outcomes o ON o.decision_id = d.id
            WHERE d.review_id = NEW.id AND o.outcome = 'approved')
        BEGIN SELECT RAISE(ABORT, 'a review is approved only by a countersignature'); END;
        """,
    )


@MIGRATIONS()
def m003_list_order_by_id(db: Database) -> None:
    """Decision lists are newest first by id (ids rise with sign-off time), so a filter and
    the order are served by one index and full-text matches stream newest first."""
    run_script(
        db,
        """
        CREATE INDEX decisions_team_id ON decisions (team, id);
        CREATE INDEX decisions_reason_id ON decisions (closure_reason, id);
        """,
    )


@MIGRATIONS()
def m004_learning_covering_indexes(db: Database) -> None:
    """The learning figures join outcomes and decisions over every closure: covering indexes
    keep those joins off the table rows (which carry the sealed JSON)."""
    run_script(
        db,
        """
        CREATE INDEX decisions_summary ON decisions (id, team, review_id, cautions, exceptions);
        CREATE INDEX outcomes_summary ON outcomes (outcome, decision_id, decided_at);
        """,
    )


@MIGRATIONS()
def m005_reviews_schema_version_2(db: Database) -> None:
    """Checks 2.0.0 read review schema version 2: upgrade the content of reviews still being
    worked on (draft, returned, submitted) so every new question shows as "not recorded".

    Sealed decisions keep the JSON they were signed with (they are insert-only, and their hash
    covers those bytes); the model upgrades version 1 content whenever it reads it.
    """
    from closure_readiness.core.canonical import content_hash
    from closure_readiness.core.review import Review

    rows = db.execute(
        "SELECT id, content FROM reviews WHERE status IN ('draft', 'returned', 'submitted')"
    ).fetchall()
    for review_id, content in rows:
        review = Review.model_validate_json(content)
        upgraded = review.model_dump_json()
        if upgraded != content:
            db.execute(
                "UPDATE reviews SET content = ?, content_hash = ? WHERE id = ?",
                [upgraded, content_hash(review), review_id],
            )


@MIGRATIONS()
def m006_retention(db: Database) -> None:
    """Retention (decision #54): a review's records past their disposal date are disposed of,
    leaving a tombstone. The triggers that keep sealed decisions, outcomes, final reviews and
    audit events unchanged now allow exactly one change besides: into a tombstone, once the
    audit trail records the disposal (storage.disposal), and nothing after it."""
    run_script(
        db,
        """
        ALTER TABLE reviews ADD COLUMN disposed_on TEXT;
        ALTER TABLE decisions ADD COLUMN disposed_on TEXT;

        DROP TRIGGER decisions_no_update;
        CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
        WHEN NOT (
            OLD.disposed_on IS NULL AND NEW.disposed_on IS NOT NULL
            AND NEW.id = OLD.id AND NEW.review_id = OLD.review_id AND NEW.team = OLD.team
            AND NEW.closure_reason = OLD.closure_reason AND NEW.signed_by = OLD.signed_by
            AND NEW.signed_at = OLD.signed_at AND NEW.as_of = OLD.as_of
            AND NEW.checks_version = OLD.checks_version
            AND NEW.sign_off_possible = OLD.sign_off_possible
            AND NEW.exceptions = OLD.exceptions AND NEW.cautions = OLD.cautions
            AND NEW.content_hash = OLD.content_hash
            AND NEW.case_reference = '' AND NEW.search_text = '' AND NEW.sealed = ''
            AND EXISTS (SELECT 1 FROM audit_events
                        WHERE action = 'review_disposed' AND review_id = OLD.review_id))
        BEGIN SELECT RAISE(ABORT, 'A sealed decision cannot be changed'); END;

        DROP TRIGGER outcomes_no_update;
        CREATE TRIGGER outcomes_no_update BEFORE UPDATE ON outcomes
        WHEN NOT (
            (SELECT disposed_on FROM decisions WHERE id = OLD.decision_id) IS NOT NULL
            AND OLD.sealed != ''
            AND NEW.decision_id = OLD.decision_id AND NEW.outcome = OLD.outcome
            AND NEW.decided_by = OLD.decided_by AND NEW.decided_at = OLD.decided_at
            AND NEW.hash_seen = OLD.hash_seen AND NEW.outcome_hash = OLD.outcome_hash
            AND NEW.reasons = '' AND NEW.sealed = '')
        BEGIN SELECT RAISE(ABORT, 'A countersigned or returned decision cannot be changed'); END;

        DROP TRIGGER reviews_final;
        CREATE TRIGGER reviews_final BEFORE UPDATE ON reviews
        WHEN OLD.status IN ('approved', 'withdrawn') AND NOT (
            OLD.disposed_on IS NULL AND NEW.disposed_on IS NOT NULL
            AND NEW.id = OLD.id AND NEW.status = OLD.status AND NEW.team = OLD.team
            AND NEW.worker_id = OLD.worker_id AND NEW.version = OLD.version
            AND NEW.content_hash = OLD.content_hash
            AND NEW.proposed_closure_on = OLD.proposed_closure_on
            AND NEW.re_referral_of IS OLD.re_referral_of
            AND NEW.created_at = OLD.created_at AND NEW.updated_at = OLD.updated_at
            AND NEW.content = '' AND NEW.case_reference = ''
            AND EXISTS (SELECT 1 FROM audit_events
                        WHERE action = 'review_disposed' AND review_id = OLD.id))
        BEGIN SELECT RAISE(ABORT, 'an approved or withdrawn review cannot change'); END;

        DROP TRIGGER audit_events_no_update;
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        WHEN NOT (
            NEW.seq = OLD.seq AND NEW.at = OLD.at AND NEW.actor = OLD.actor
            AND NEW.action = OLD.action AND NEW.review_id IS OLD.review_id
            AND NEW.decision_id IS OLD.decision_id AND NEW.prev_hash = OLD.prev_hash
            AND NEW.hash = OLD.hash AND OLD.action != 'review_disposed'
            AND (
                (SELECT disposed_on FROM reviews WHERE id = OLD.review_id) IS NOT NULL
                OR (SELECT disposed_on FROM decisions WHERE id = OLD.decision_id) IS NOT NULL))
        BEGIN SELECT RAISE(ABORT, 'An audit event cannot be changed'); END;
        """,
    )


@MIGRATIONS()
def m007_learning_tallies(db: Database) -> None:
    """The learning figures at 100k decisions took 0.5-1.0 s to compute (issue 12, item 3):
    their counts are now kept as tallies, updated by triggers in the same transaction as the
    sign-off, the outcome or the re-referral that changes them, and filled here from what is
    already stored. `verify` computes them again from those rows and compares."""
    run_script(db, LEARNING_TALLIES)
    run_script(db, LEARNING_TALLY_FILL)


LEARNING_TALLY_TABLE = """
CREATE TABLE learning_tally (
    figure TEXT NOT NULL,
    month TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    check_id TEXT NOT NULL DEFAULT '',
    re_referred INTEGER NOT NULL DEFAULT 0,
    n INTEGER NOT NULL DEFAULT 0,
    rationales INTEGER NOT NULL DEFAULT 0,
    exceptions INTEGER NOT NULL DEFAULT 0,
    with_exception INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (figure, month, team, check_id, re_referred)
) WITHOUT ROWID;
"""

LEARNING_TALLIES = (
    LEARNING_TALLY_TABLE
    + """
CREATE TRIGGER learning_outcome AFTER INSERT ON outcomes
WHEN NEW.outcome IN ('approved', 'returned')
BEGIN
    INSERT INTO learning_tally (figure, month, team, n)
    SELECT CASE NEW.outcome WHEN 'approved' THEN 'closures' ELSE 'returns' END,
           substr(NEW.decided_at, 1, 7), d.team, 1
    FROM decisions d WHERE d.id = NEW.decision_id
    ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO learning_tally (figure, re_referred, n, rationales, exceptions, with_exception)
    SELECT 're_referral', EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id),
           1, d.cautions, d.exceptions, d.exceptions > 0
    FROM decisions d WHERE d.id = NEW.decision_id AND NEW.outcome = 'approved'
    ON CONFLICT DO UPDATE SET n = n + 1, rationales = rationales + excluded.rationales,
        exceptions = exceptions + excluded.exceptions,
        with_exception = with_exception + excluded.with_exception;
    INSERT INTO learning_tally (figure, check_id, re_referred, n)
    SELECT 're_referral_check', f.check_id,
           EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id), count(*)
    FROM decision_findings f JOIN decisions d ON d.id = f.decision_id
    WHERE f.decision_id = NEW.decision_id AND NEW.outcome = 'approved'
      AND f.resolution IN ('rationale', 'exception')
    GROUP BY f.check_id
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER learning_first_sign_off AFTER INSERT ON decision_findings
WHEN NEW.level != 'note' AND NOT EXISTS (
    SELECT 1 FROM decisions d JOIN decisions e ON e.review_id = d.review_id AND e.id < d.id
    WHERE d.id = NEW.decision_id)
BEGIN
    INSERT INTO learning_tally (figure, check_id, n, rationales, exceptions)
    VALUES ('gaps', NEW.check_id,
            NOT EXISTS (SELECT 1 FROM decision_findings f WHERE f.decision_id = NEW.decision_id
                        AND f.check_id = NEW.check_id AND f.level != 'note'
                        AND f.finding_key != NEW.finding_key),
            NEW.resolution = 'rationale', NEW.resolution = 'exception')
    ON CONFLICT DO UPDATE SET n = n + excluded.n, rationales = rationales + excluded.rationales,
        exceptions = exceptions + excluded.exceptions;
END;

CREATE TRIGGER learning_re_referral AFTER INSERT ON reviews
WHEN NEW.re_referral_of IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM reviews r WHERE r.re_referral_of = NEW.re_referral_of AND r.id != NEW.id)
BEGIN
    UPDATE learning_tally SET n = n - 1,
        rationales = rationales - (SELECT d.cautions FROM decisions d JOIN outcomes o
            ON o.decision_id = d.id AND o.outcome = 'approved'
            WHERE d.review_id = NEW.re_referral_of),
        exceptions = exceptions - (SELECT d.exceptions FROM decisions d JOIN outcomes o
            ON o.decision_id = d.id AND o.outcome = 'approved'
            WHERE d.review_id = NEW.re_referral_of),
        with_exception = with_exception - (SELECT d.exceptions > 0 FROM decisions d
            JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'
            WHERE d.review_id = NEW.re_referral_of)
    WHERE figure = 're_referral' AND re_referred = 0 AND EXISTS (
        SELECT 1 FROM decisions d JOIN outcomes o ON o.decision_id = d.id
        AND o.outcome = 'approved' WHERE d.review_id = NEW.re_referral_of);
    INSERT INTO learning_tally (figure, re_referred, n, rationales, exceptions, with_exception)
    SELECT 're_referral', 1, 1, d.cautions, d.exceptions, d.exceptions > 0
    FROM decisions d JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'
    WHERE d.review_id = NEW.re_referral_of
    ON CONFLICT DO UPDATE SET n = n + 1, rationales = rationales + excluded.rationales,
        exceptions = exceptions + excluded.exceptions,
        with_exception = with_exception + excluded.with_exception;
    UPDATE learning_tally SET n = n - (
        SELECT count(*) FROM decision_findings f JOIN decisions d ON d.id = f.decision_id
        JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'
        WHERE d.review_id = NEW.re_referral_of AND f.check_id = learning_tally.check_id
          AND f.resolution IN ('rationale', 'exception'))
    WHERE figure = 're_referral_check' AND re_referred = 0;
    INSERT INTO learning_tally (figure, check_id, re_referred, n)
    SELECT 're_referral_check', f.check_id, 1, count(*)
    FROM decision_findings f JOIN decisions d ON d.id = f.decision_id
    JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'
    WHERE d.review_id = NEW.re_referral_of AND f.resolution IN ('rationale', 'exception')
    GROUP BY f.check_id
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
    DELETE FROM learning_tally WHERE figure IN ('re_referral', 're_referral_check') AND n = 0;
END;
"""
)
"""The tallies and the triggers that keep them (a figure's rows: `storage.queries`)."""

LEARNING_TALLY_FILL = """
INSERT INTO learning_tally (figure, month, team, n)
SELECT CASE o.outcome WHEN 'approved' THEN 'closures' ELSE 'returns' END,
       substr(o.decided_at, 1, 7), d.team, count(*)
FROM outcomes o JOIN decisions d ON d.id = o.decision_id
WHERE o.outcome IN ('approved', 'returned') GROUP BY 1, 2, 3;

INSERT INTO learning_tally (figure, check_id, n, rationales, exceptions)
SELECT 'gaps', f.check_id, count(DISTINCT f.decision_id), sum(f.resolution = 'rationale'),
       sum(f.resolution = 'exception')
FROM decision_findings f
WHERE f.decision_id IN (SELECT min(id) FROM decisions GROUP BY review_id) AND f.level != 'note'
GROUP BY f.check_id;

INSERT INTO learning_tally (figure, re_referred, n, rationales, exceptions, with_exception)
SELECT 're_referral', EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id),
       count(*), sum(d.cautions), sum(d.exceptions), sum(d.exceptions > 0)
FROM decisions d JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'
GROUP BY 2;

INSERT INTO learning_tally (figure, check_id, re_referred, n)
SELECT 're_referral_check', f.check_id,
       EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id), count(*)
FROM decision_findings f JOIN decisions d ON d.id = f.decision_id
JOIN outcomes o ON o.decision_id = d.id AND o.outcome = 'approved'
WHERE f.resolution IN ('rationale', 'exception')
GROUP BY 2, 3;
"""
"""Every tally worked out from the stored rows: the migration's fill, and what `verify`
compares the tallies with (in a temporary table)."""


@MIGRATIONS()
def m008_search_facets(db: Database) -> None:
    """A search with words and a filter walked every decision matching the words (issue 12,
    item 6): the search index now holds each decision's facets as words of a column of their
    own (`SEARCH_SOURCE`), so the index intersects the words and the filters itself and a
    page stops at its limit. Status and re-referral change after sealing: the triggers take
    the decision out of the index with its old facets and put it back with its new ones, in
    the same transaction as the outcome or the first re-referral."""
    run_script(db, SEARCH_FACETS)


def _facets(
    *, team: str, status: str, reason: str, exceptions: str, re_referred: str, signed_at: str
) -> str:
    """A decision's facets as index words (an SQL expression over the given expressions):
    team, status and closure reason as the hex of their text (any name is one word, matched
    exactly, and no search word can be taken for it), exceptions and re-referral as 1 or 0,
    and the UTC year, month, day and hour it was signed (`y2025 m202506 d20250630
    h2025063023`: England's midnight in summer is 23:00 UTC the day before)."""
    year, month, day, hour = (
        f"substr({signed_at}, {at}, {n})" for at, n in ((1, 4), (6, 2), (9, 2), (12, 2))
    )
    return (
        f"'t' || hex({team}) || ' s' || hex({status}) || ' c' || hex({reason})"
        f" || ' x' || CASE WHEN {exceptions} > 0 THEN '1' WHEN {exceptions} = 0 THEN '0'"
        f" ELSE 'n' END || ' r' || CASE WHEN {re_referred} THEN '1' ELSE '0' END"
        f" || ' y' || {year} || ' m' || {year} || {month} || ' d' || {year} || {month} || {day}"
        f" || ' h' || {year} || {month} || {day} || {hour}"
    )


_RE_REFERRED = "EXISTS (SELECT 1 FROM reviews r WHERE r.re_referral_of = d.review_id)"

SEARCH_SOURCE = (
    "SELECT d.id, d.case_reference, d.search_text, CASE WHEN d.disposed_on IS NULL THEN "
    + _facets(
        team="d.team",
        status="coalesce(o.outcome, 'submitted')",
        reason="d.closure_reason",
        exceptions="d.exceptions",
        re_referred=_RE_REFERRED,
        signed_at="d.signed_at",
    )
    + " ELSE '' END AS facets FROM decisions d LEFT JOIN outcomes o ON o.decision_id = d.id"
)
"""What the search index holds for each decision: its words and its facets (none for a
disposed decision). The index's content (the view `decisions_search`), and what `verify`
rebuilds the index from (this text, not the stored view's)."""


def _unindex(where: str, *, status: str, re_referred: str) -> str:
    """Take decisions out of the index with the facets they were indexed with."""
    facets = _facets(
        team="d.team",
        status=status,
        reason="d.closure_reason",
        exceptions="d.exceptions",
        re_referred=re_referred,
        signed_at="d.signed_at",
    )
    return (
        "INSERT INTO decisions_fts (decisions_fts, rowid, case_reference, search_text, facets) "
        f"SELECT 'delete', d.id, d.case_reference, d.search_text, {facets} "
        f"FROM decisions d WHERE {where} AND d.disposed_on IS NULL;"
    )


def _index(where: str) -> str:
    return (
        "INSERT INTO decisions_fts (rowid, case_reference, search_text, facets) "
        f"SELECT id, case_reference, search_text, facets FROM decisions_search WHERE {where} "
        "AND facets != '';"
    )


_DECISIONS_OF_REFERRED = "SELECT id FROM decisions WHERE review_id = NEW.re_referral_of"
_UNINDEX_REFERRED = _unindex(
    "d.review_id = NEW.re_referral_of",
    status="coalesce((SELECT outcome FROM outcomes WHERE decision_id = d.id), 'submitted')",
    re_referred="0",
)

SEARCH_FACETS = f"""
DROP TRIGGER decisions_fts_insert;
DROP TABLE decisions_fts;
CREATE VIEW decisions_search AS {SEARCH_SOURCE};
CREATE VIRTUAL TABLE decisions_fts USING fts5 (
    case_reference, search_text, facets, content = 'decisions_search', content_rowid = 'id'
);
INSERT INTO decisions_fts (decisions_fts) VALUES ('rebuild');

CREATE TRIGGER decisions_fts_insert AFTER INSERT ON decisions
BEGIN
    {_index("id = NEW.id")}
END;

CREATE TRIGGER decisions_fts_outcome AFTER INSERT ON outcomes
BEGIN
    {_unindex("d.id = NEW.decision_id", status="'submitted'", re_referred=_RE_REFERRED)}
    {_index("id = NEW.decision_id")}
END;

CREATE TRIGGER decisions_fts_re_referral AFTER INSERT ON reviews
WHEN NEW.re_referral_of IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM reviews r WHERE r.re_referral_of = NEW.re_referral_of AND r.id != NEW.id)
BEGIN
    {_UNINDEX_REFERRED}
    {_index(f"id IN ({_DECISIONS_OF_REFERRED})")}
END;
"""
"""The search index with facets, filled from the decisions, and the triggers that keep it."""


@MIGRATIONS()
def m009_compact_versions(db: Database) -> None:
    """Saved versions are kept compactly (issue 12, item 5; `storage.versions`): a saved step
    is a delta against the version before it. The version a worker signs off (and so the one
    a manager returns or approves) is kept whole: on sign-off, this trigger writes the
    review's whole content over that version's delta, in the same transaction, whatever code
    signs. Versions stored before this migration are whole already and stay as they are."""
    run_script(db, SIGNED_VERSION_WHOLE)


SIGNED_VERSION_WHOLE = """
CREATE TRIGGER review_versions_signed_whole AFTER INSERT ON decisions
BEGIN
    UPDATE review_versions SET content = (SELECT content FROM reviews WHERE id = NEW.review_id)
    WHERE review_id = NEW.review_id
      AND version = (SELECT version FROM reviews WHERE id = NEW.review_id)
      AND content_hash = (SELECT content_hash FROM reviews WHERE id = NEW.review_id)
      AND substr(content, 1, 1) = '[';
END;
"""
"""A delta is a JSON array (`core.delta`); a whole review is a JSON object."""
