"""The workflow's one vocabulary (core/workflow.py) and its generated reference.

The reference (`reference_markdown`, for docs/workflow.md) names every row of the transition
table and every database trigger behind it; the words people see are those the pages showed
before the vocabulary had one home; and the service's read models carry the enums.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from closure_readiness.checks import evaluate
from closure_readiness.core.workflow import (
    FINAL_TRIGGERS,
    TRANSITIONS,
    TRIGGERS,
    Action,
    Level,
    Outcome,
    RequestStatus,
    ReviewStatus,
    reference_markdown,
)
from closure_readiness.report import decision_pdf
from closure_readiness.service import decisions, reviews
from closure_readiness.service.context import Context
from closure_readiness.storage.database import ensure_migrated
from closure_readiness.views import decision as decision_page
from closure_readiness.views import decisions as decisions_page
from closure_readiness.views import findings as findings_view
from workflow_fixtures import (
    Team,
    make_engine_context,
    prepare,
    raw_connection,
    ready_review,
    sign,
    submit,
    unnotified_review,
)

pytestmark = pytest.mark.both_engines


def test_the_reference_mentions_every_row_of_the_table() -> None:
    lines = reference_markdown().splitlines()
    for row in TRANSITIONS:
        matching = [
            line
            for line in lines
            if line.startswith(f"| `{row.state.value}` | {row.action.label} (`{row.action.value}`)")
            and f"| {row.role.label} | `{row.to.value}` |" in line
        ]
        assert len(matching) == 1, row
        for name in TRIGGERS[row.action]:
            assert f"`{name}`" in matching[0]


def test_the_reference_gives_every_state_outcome_level_and_request_in_words() -> None:
    text = reference_markdown()
    for status in ReviewStatus:
        assert f"| `{status.value}` | {status.label} | {status.short} |" in text
    for outcome in Outcome:
        assert f"| `{outcome.value}` | {outcome.label} |" in text
    for level in Level:
        assert f"| `{level.value}` | {level.label} |" in text
    for request in RequestStatus:
        assert f"| `{request.value}` | {request.label} |" in text
    assert "Final states (`approved`, `withdrawn`)" in text


def test_every_trigger_the_reference_names_exists_in_the_database(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ctx = make_engine_context(engine, tmp_path, request)
    ensure_migrated(ctx.db_path)
    named = {name for names in TRIGGERS.values() for name in names} | set(FINAL_TRIGGERS)
    with raw_connection(ctx) as conn:
        if engine == "sqlite":
            found = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            found = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        triggers = {name for (name,) in conn.execute(found).fetchall()}
        if engine == "postgresql":
            # PostgreSQL has no INSERT OR REPLACE: a row inserted again over its key is
            # refused by the primary key, and an upsert meets the UPDATE triggers.
            keyed = {
                table
                for (table,) in conn.execute(
                    "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'p'"
                ).fetchall()
            }
            guarded = {name.removesuffix("_no_update") for name in triggers}
            triggers |= {f"{table}_no_replace" for table in keyed & guarded}
    assert named, "the reference names no trigger"
    assert named <= triggers, named - triggers
    assert set(TRIGGERS) == set(Action)


def test_the_words_on_pages_are_the_words_they_showed_before() -> None:
    # Each page kept its own dictionary of these words; they now come from the enums.
    assert {s.value: s.label for s in ReviewStatus} == {
        "draft": "Draft",
        "returned": "Returned for changes",
        "submitted": "Signed off, waiting for countersignature",
        "approved": "Closure approved",
        "withdrawn": "Withdrawn",
    }
    assert dict(decisions_page.STATUS_WORDS) == {
        "submitted": "Signed off, waiting for countersignature",
        "approved": "Approved",
        "returned": "Returned",
        "withdrawn": "Withdrawn",
    }
    assert dict(decision_page.OUTCOME_WORDS) == {
        "submitted": "Signed off, waiting for countersignature",
        "approved": "Closure approved (countersigned)",
        "returned": "Returned to the caseworker",
        "withdrawn": "Withdrawn",
    }
    assert decision_page.action_words("decided", {"outcome": "approved"}) == (
        "closure approved (countersigned)"
    )
    assert decision_page.action_words("decided", {"outcome": "withdrawn"}) == "decision recorded"
    assert dict(findings_view.LEVEL_WORDS) == {
        "blocker": "Blocker",
        "caution": "Caution",
        "note": "Note",
    }
    assert dict(decision_pdf.OUTCOME_WORDS) == {
        "submitted": "Signed off, waiting for the team manager's countersignature",
        "approved": "Approved: countersigned by the team manager",
        "returned": "Returned to the worker with reasons",
        "withdrawn": "Withdrawn before a decision was made",
    }


def test_a_report_carries_levels_and_counts_its_blockers_and_cautions() -> None:
    review = unnotified_review()
    report = evaluate(review, as_of=review.case.proposed_closure_on)
    assert all(isinstance(f.level, Level) for f in report.findings())
    assert all(isinstance(r.level, Level) for r in report.results)
    assert report.blockers == report.findings(level=Level.BLOCKER)
    assert report.cautions == report.findings(level="caution")
    assert [f.check_id for f in report.blockers] == ["exit.E003"]
    # Sealed and exported as the plain strings they always were.
    dumped = report.model_dump(mode="json")
    assert {r["level"] for r in dumped["results"]} == {"blocker", "caution", "note"}


def test_the_service_returns_statuses_as_enums(ctx: Context, team: Team) -> None:
    review_id, decision_id = submit(ctx, team.worker)
    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.status is ReviewStatus.SUBMITTED
    assert not record.editable
    (summary,) = reviews.list_reviews(ctx, team.worker)
    assert summary.status is ReviewStatus.SUBMITTED
    sealed = decisions.get_decision(ctx, team.manager, decision_id)
    assert sealed.outcome is ReviewStatus.SUBMITTED
    decisions.return_review(ctx, team.manager, decision_id, overall="Look again.")
    assert decisions.get_decision(ctx, team.manager, decision_id).outcome is ReviewStatus.RETURNED


def test_the_decision_page_offers_countersign_and_return_as_the_table_says(
    ctx: Context, team: Team
) -> None:
    _, decision_id = submit(ctx, team.worker)
    waiting = decisions.get_decision(ctx, team.manager, decision_id)
    assert decision_page.may_decide(team.manager, waiting)
    assert not decision_page.may_decide(team.worker, waiting)
    assert not decision_page.may_decide(team.south_manager, waiting)
    assert not decision_page.may_decide(team.auditor, waiting)
    decisions.countersign(ctx, team.manager, decision_id, hash_seen=waiting.content_hash)
    approved = decisions.get_decision(ctx, team.manager, decision_id)
    assert not decision_page.may_decide(team.manager, approved)


def test_the_queue_offers_only_requests_a_manager_may_decide_now(ctx: Context, team: Team) -> None:
    # A request left waiting when the data changed and the review was signed off: deciding it
    # is refused while the review waits for countersignature, so the queue does not offer it.
    reference = "CR-QUEUE-0001"
    review_id = prepare(ctx, team.worker, unnotified_review(reference))
    record = reviews.get_review(ctx, team.worker, review_id)
    (gap,) = record.report.open_blockers
    reviews.request_exception(
        ctx, team.worker, review_id, finding_key=gap.key, reason="Please except."
    )
    assert [p.request.review_id for p in decisions.queue(ctx, team.manager).exception_requests] == [
        review_id
    ]
    record = reviews.get_review(ctx, team.worker, review_id)
    reviews.save_review(
        ctx, team.worker, review_id, ready_review(reference), expected_version=record.version
    )
    decision_id = sign(ctx, team.worker, review_id)
    assert decisions.queue(ctx, team.manager).exception_requests == []
    # Returned, it is being prepared again: the request is offered again.
    decisions.return_review(ctx, team.manager, decision_id, overall="Look again.")
    (pending,) = decisions.queue(ctx, team.manager).exception_requests
    assert pending.request.status is RequestStatus.PENDING
