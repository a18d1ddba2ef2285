"""The closure workflow through the service layer on a real database: the gate at each step."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest

from closure_readiness.checks import CHECKS_VERSION, Resolution, Thresholds
from closure_readiness.checks.report import NoticeKind
from closure_readiness.core.canonical import content_hash
from closure_readiness.core.review import ManagerException, Review
from closure_readiness.service import auditing, decisions, reviews, staff
from closure_readiness.service.context import (
    SYSTEM,
    Conflict,
    Context,
    Refused,
    Role,
)
from closure_readiness.storage.database import reading
from closure_readiness.storage.integrity import sha256_text, verify
from workflow_fixtures import (
    NOW,
    Team,
    approve,
    at,
    blocked_review,
    caution_review,
    finding_key,
    grant,
    insert_v1_decision,
    late_seen_alone_review,
    prepare,
    prepare_ready,
    raw_connection,
    ready_review,
    refused_errors,
    sign,
    submit,
    unnotified_review,
)

pytestmark = pytest.mark.both_engines


def _rows(ctx: Context, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read straight from the database file, around the service layer."""
    with raw_connection(ctx) as conn:
        rows: list[tuple[Any, ...]] = conn.execute(sql, params).fetchall()
        return rows


def _decision_count(ctx: Context) -> int:
    (count,) = _rows(ctx, "SELECT count(*) FROM decisions")[0]
    return int(count)


def _with_notes(review: Review, notes: str) -> Review:
    answers = review.answers
    change = answers.change.model_copy(update={"notes": notes})
    return review.model_copy(update={"answers": answers.model_copy(update={"change": change})})


def _save(ctx: Context, team: Team, review_id: int, review: Review) -> int:
    record = reviews.get_review(ctx, team.worker, review_id)
    return reviews.save_review(ctx, team.worker, review_id, review, expected_version=record.version)


# Sign-off ------------------------------------------------------------------------------------


def test_sign_off_refused_while_a_blocker_is_unresolved(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, blocked_review())
    record = reviews.get_review(ctx, team.worker, review_id)

    with pytest.raises(Refused) as refusal:
        reviews.sign_off(ctx, team.worker, review_id, seen_hash=record.content_hash, attested=True)

    assert refusal.value.blocking == ["change.E001"]
    assert reviews.get_review(ctx, team.worker, review_id).status == "draft"
    assert _decision_count(ctx) == 0


def test_sign_off_refused_while_a_caution_lacks_a_rationale(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, caution_review())
    record = reviews.get_review(ctx, team.worker, review_id)

    with pytest.raises(Refused) as refusal:
        reviews.sign_off(ctx, team.worker, review_id, seen_hash=record.content_hash, attested=True)

    assert refusal.value.blocking == ["exit.W002"]
    assert _decision_count(ctx) == 0


def test_sign_off_accepted_once_the_caution_has_a_rationale(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, caution_review())
    rationale = "Contacts were confirmed by phone with the aunt; the plan lists the duty number."
    _save(ctx, team, review_id, caution_review(rationale=rationale))

    decision_id = sign(ctx, team.worker, review_id)

    sealed = decisions.get_decision(ctx, team.manager, decision_id)
    caution = next(f for f in sealed.report.findings() if f.check_id == "exit.W002")
    assert caution.resolution is Resolution.RATIONALE
    assert caution.resolution_text == rationale
    assert sealed.review.rationales == {"exit.W002": rationale}
    assert reviews.get_review(ctx, team.worker, review_id).status == "submitted"


def test_sign_off_refused_when_the_report_seen_is_stale(ctx: Context, team: Team) -> None:
    review_id = prepare_ready(ctx, team.worker)
    seen = reviews.get_review(ctx, team.worker, review_id).content_hash
    _save(ctx, team, review_id, _with_notes(ready_review(), "Changed in another tab."))

    with pytest.raises(Conflict):
        reviews.sign_off(ctx, team.worker, review_id, seen_hash=seen, attested=True)

    assert reviews.get_review(ctx, team.worker, review_id).status == "draft"
    assert _decision_count(ctx) == 0


def test_sign_off_refused_without_attestation(ctx: Context, team: Team) -> None:
    review_id = prepare_ready(ctx, team.worker)
    record = reviews.get_review(ctx, team.worker, review_id)

    with pytest.raises(Refused):
        reviews.sign_off(ctx, team.worker, review_id, seen_hash=record.content_hash, attested=False)

    assert _decision_count(ctx) == 0


def test_sign_off_seals_content_whose_hash_matches(ctx: Context, team: Team) -> None:
    _, decision_id = submit(ctx, team.worker)

    sealed_text, digest = _rows(
        ctx, "SELECT sealed, content_hash FROM decisions WHERE id = ?", (decision_id,)
    )[0]

    assert sha256_text(str(sealed_text)) == digest
    assert json.loads(str(sealed_text))["signed_by"] == team.worker.staff_id


# Countersign ---------------------------------------------------------------------------------


def test_the_database_refuses_an_approval_by_the_person_who_signed(
    ctx: Context, team: Team
) -> None:
    _, decision_id = submit(ctx, team.worker)
    # Make the signer a manager of the team, so only the signer rule can refuse the row.
    staff.update_staff(ctx, SYSTEM, team.worker.staff_id, role=Role.TEAM_MANAGER)
    (content_hash,) = _rows(ctx, "SELECT content_hash FROM decisions WHERE id = ?", (decision_id,))[
        0
    ]
    with (
        raw_connection(ctx) as conn,
        pytest.raises(refused_errors(), match="signed off cannot countersign"),
    ):
        conn.execute(
            "INSERT INTO outcomes (decision_id, outcome, decided_by, decided_at, hash_seen, "
            "reasons, sealed, outcome_hash) VALUES (?, 'approved', ?, ?, ?, '{}', '{}', ?)",
            (decision_id, team.worker.staff_id, NOW.isoformat(), content_hash, "a" * 64),
        )
    assert _rows(ctx, "SELECT count(*) FROM outcomes") == [(0,)]


def test_countersign_refused_for_the_signer_even_after_promotion_to_manager(
    ctx: Context, team: Team
) -> None:
    _, decision_id = submit(ctx, team.worker)
    promoted = staff.update_staff(
        ctx, SYSTEM, team.worker.staff_id, role=Role.TEAM_MANAGER
    ).principal()
    sealed = decisions.get_decision(ctx, promoted, decision_id)

    with pytest.raises(Refused):
        decisions.countersign(ctx, promoted, decision_id, hash_seen=sealed.content_hash)

    assert decisions.get_decision(ctx, team.manager, decision_id).outcome == "submitted"


def test_countersign_refused_with_a_hash_other_than_the_sealed_one(
    ctx: Context, team: Team
) -> None:
    review_id, decision_id = submit(ctx, team.worker)
    record = reviews.get_review(ctx, team.worker, review_id)

    with pytest.raises(Refused):
        decisions.countersign(ctx, team.manager, decision_id, hash_seen=record.content_hash)
    with pytest.raises(Refused):
        decisions.countersign(ctx, team.manager, decision_id, hash_seen="0" * 64)

    assert decisions.get_decision(ctx, team.manager, decision_id).outcome == "submitted"


def test_countersign_records_the_hash_the_manager_saw(ctx: Context, team: Team) -> None:
    review_id, decision_id = submit(ctx, team.worker)

    approve(ctx, team.manager, decision_id)

    sealed = decisions.get_decision(ctx, team.auditor, decision_id)
    assert sealed.outcome == "approved"
    assert sealed.decided_by == team.manager.staff_id
    assert sealed.hash_seen == sealed.content_hash
    assert reviews.get_review(ctx, team.worker, review_id).status == "approved"


def test_countersign_uses_the_sealed_as_of_date_and_thresholds_later_in_time(
    ctx: Context, team: Team
) -> None:
    review_id, decision_id = submit(ctx, team.worker)
    # A year later, with a rule tightened since: judged now, the review would not pass.
    later = dataclasses.replace(
        at(ctx, dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)),
        thresholds=Thresholds(recent_evidence_weeks=1),
    )
    assert not reviews.get_review(later, team.worker, review_id).report.sign_off_possible

    approve(later, team.manager, decision_id)

    sealed = decisions.get_decision(later, team.manager, decision_id)
    assert sealed.outcome == "approved"
    assert sealed.as_of == dt.date(2025, 5, 30)
    assert decisions.recheck(sealed).sign_off_possible


def test_countersign_refuses_a_decision_row_forged_around_the_service(
    ctx: Context, team: Team
) -> None:
    # A decision row written around the service (a forged seal of blocked content): its hash
    # is not in the audit chain, so the countersignature's integrity check refuses it.
    review_id, decision_id = submit(ctx, team.worker)
    decisions.return_review(ctx, team.manager, decision_id, overall="Returned for the test.")
    row = _rows(ctx, "SELECT sealed FROM decisions WHERE id = ?", (decision_id,))[0]
    sealed = json.loads(str(row[0]))
    sealed["review"] = blocked_review().model_dump(mode="json")
    sealed["signed_at"] = "2025-05-30T10:00:00+00:00"
    text = json.dumps(sealed, sort_keys=True)
    with raw_connection(ctx) as conn:
        (forged,) = conn.execute(
            "INSERT INTO decisions (review_id, case_reference, team, closure_reason, "
            "signed_by, signed_at, as_of, checks_version, sign_off_possible, exceptions, "
            "cautions, sealed, content_hash, search_text) SELECT review_id, case_reference, "
            "team, closure_reason, signed_by, ?, as_of, checks_version, 1, 0, 0, ?, ?, '' "
            "FROM decisions WHERE id = ? RETURNING id",
            (sealed["signed_at"], text, sha256_text(text), decision_id),
        ).fetchone()
        conn.commit()

    with pytest.raises(Refused) as refusal:
        decisions.countersign(ctx, team.manager, forged, hash_seen=sha256_text(text))

    assert "integrity check" in refusal.value.message
    assert reviews.get_review(ctx, team.worker, review_id).status == "returned"


def test_a_decision_sealed_under_checks_1_0_0_stands_on_its_sealed_report(
    ctx: Context, team: Team
) -> None:
    review_id = prepare_ready(ctx, team.worker)
    decision_id = insert_v1_decision(ctx, team.worker, review_id)

    sealed = decisions.get_decision(ctx, team.manager, decision_id)
    assert sealed.checks_version == "1.0.0"
    assert sealed.review.schema_version == 2  # the version 1 JSON is read in the current shape
    assert sealed.review.case.case_reference == "CR-2025-0412"
    report = decisions.recheck(sealed)
    assert report == sealed.report
    assert report.checks_version == "1.0.0"
    assert report.sign_off_possible
    assert len(report.results) == 44
    assert report.route == ""
    # What checks 2.0.0 would say: the same sealed review, as of the sealed date.
    current = decisions.under_current_checks(sealed)
    assert current is not None
    assert current.checks_version == CHECKS_VERSION == "2.0.0"
    assert current.as_of == sealed.as_of == dt.date(2025, 5, 30)
    assert current.route == "change"
    assert not current.sign_off_possible
    assert {"change.E007", "exit.E005", "family.E002"} <= {
        f.check_id for f in current.open_blockers
    }
    detail = auditing.decision_detail(ctx, team.auditor, decision_id)
    assert detail.intact, detail.integrity_problems
    assert detail.report == sealed.report
    assert detail.current == current
    with reading(ctx.db_path) as db:
        assert verify(db).intact

    # The manager countersigns the sealed hash: the report it was sealed with has no gaps.
    approve(ctx, team.manager, decision_id)

    approved = decisions.get_decision(ctx, team.auditor, decision_id)
    assert approved.outcome == "approved"
    assert approved.hash_seen == approved.content_hash == sealed.content_hash
    assert auditing.decision_detail(ctx, team.auditor, decision_id).intact


def test_a_decision_sealed_under_the_current_checks_is_re_run_not_read(
    ctx: Context, team: Team
) -> None:
    _, decision_id = submit(ctx, team.worker)
    sealed = decisions.get_decision(ctx, team.manager, decision_id)
    assert sealed.checks_version == CHECKS_VERSION
    assert decisions.under_current_checks(sealed) is None
    # Re-run, not read: a sealed report claiming a gap does not survive the re-run.
    claimed = sealed.report.model_copy(update={"sign_off_possible": False})
    rerun = decisions.recheck(dataclasses.replace(sealed, report=claimed))
    assert rerun.sign_off_possible
    assert [(r.id, r.passed, r.findings) for r in rerun.results] == [
        (r.id, r.passed, r.findings) for r in sealed.report.results
    ]


# Return --------------------------------------------------------------------------------------


def test_a_returned_review_shows_the_managers_reasons_to_the_worker(
    ctx: Context, team: Team
) -> None:
    review_id, decision_id = submit(ctx, team.worker)

    decisions.return_review(
        ctx,
        team.manager,
        decision_id,
        overall="Check the onward support before we close.",
        themes={"support": "Confirm the youth work start date."},
        findings={"exit.W002:0123456789ab": "Say which contacts were given."},
    )

    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.status == "returned"
    assert record.editable
    assert record.last_return is not None
    assert record.last_return.decision_id == decision_id
    assert record.last_return.returned_by == team.manager.staff_id
    assert record.last_return.overall == "Check the onward support before we close."
    assert record.last_return.themes == {"support": "Confirm the youth work start date."}
    assert record.last_return.findings == {
        "exit.W002:0123456789ab": "Say which contacts were given."
    }


def test_a_returned_review_can_be_edited_signed_again_and_approved(
    ctx: Context, team: Team
) -> None:
    review_id, first = submit(ctx, team.worker)
    decisions.return_review(ctx, team.manager, first, overall="Add the youth work start date.")

    _save(ctx, team, review_id, _with_notes(ready_review(), "Youth work starts on 6 June."))
    second = sign(ctx, team.worker, review_id)
    approve(ctx, team.manager, second)

    assert second != first
    assert decisions.get_decision(ctx, team.manager, first).outcome == "returned"
    approved = decisions.get_decision(ctx, team.manager, second)
    assert approved.outcome == "approved"
    assert approved.review.answers.change.notes == "Youth work starts on 6 June."
    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.status == "approved"
    assert record.last_return is None


# Exceptions ----------------------------------------------------------------------------------


def test_a_granted_exception_resolves_the_finding_and_allows_sign_off(
    ctx: Context, team: Team
) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    with pytest.raises(Refused) as refusal:
        sign(ctx, team.worker, review_id)
    assert refusal.value.blocking == ["exit.E003"]

    request_id = reviews.request_exception(
        ctx, team.worker, review_id, finding_key=key, reason="The youth worker leads after closure."
    )
    waiting = decisions.queue(ctx, team.manager).exception_requests
    assert [item.request.id for item in waiting] == [request_id]
    decisions.decide_exception(
        ctx, team.manager, request_id, grant=True, reason="The voluntary lead wrote the plan."
    )

    record = reviews.get_review(ctx, team.worker, review_id)
    finding = next(f for f in record.report.findings() if f.key == key)
    assert finding.resolution is Resolution.EXCEPTION
    assert finding.resolved_by == team.manager.staff_id
    assert record.report.sign_off_possible
    decision_id = sign(ctx, team.worker, review_id)
    sealed = decisions.get_decision(ctx, team.manager, decision_id)
    assert [e.finding for e in sealed.review.exceptions] == [key]
    assert _rows(ctx, "SELECT exceptions FROM decisions WHERE id = ?", (decision_id,)) == [(1,)]


def test_a_declined_exception_leaves_the_blocker_open(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    request_id = reviews.request_exception(
        ctx, team.worker, review_id, finding_key=key, reason="The youth worker leads."
    )

    decisions.decide_exception(
        ctx, team.manager, request_id, grant=False, reason="Tell the agency; it takes a minute."
    )

    record = reviews.get_review(ctx, team.worker, review_id)
    assert [r.status for r in record.exception_requests] == ["declined"]
    assert [f.key for f in record.report.open_blockers] == [key]
    assert record.review.exceptions == []
    with pytest.raises(Refused):
        sign(ctx, team.worker, review_id)


def test_granting_is_refused_when_the_data_changed_the_finding(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    request_id = reviews.request_exception(
        ctx, team.worker, review_id, finding_key=key, reason="The youth worker leads."
    )
    # The worker notifies the voluntary sector but drops the police: a different gap.
    _save(ctx, team, review_id, unnotified_review(missing="police"))
    assert finding_key(ctx, team.worker, review_id, "exit.E003") != key

    with pytest.raises(Refused):
        decisions.decide_exception(
            ctx, team.manager, request_id, grant=True, reason="Granted against the old gap."
        )

    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.review.exceptions == []
    assert [r.status for r in record.exception_requests] == ["pending"]
    assert not record.report.sign_off_possible


def test_a_granted_exception_stops_applying_when_the_finding_changes(
    ctx: Context, team: Team
) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    request_id = reviews.request_exception(
        ctx, team.worker, review_id, finding_key=key, reason="The youth worker leads."
    )
    decisions.decide_exception(ctx, team.manager, request_id, grant=True, reason="Agreed.")

    _save(ctx, team, review_id, unnotified_review(missing="police"))

    record = reviews.get_review(ctx, team.worker, review_id)
    assert [f.check_id for f in record.report.open_blockers] == ["exit.E003"]
    assert record.report.open_blockers[0].key != key
    with pytest.raises(Refused):
        sign(ctx, team.worker, review_id)


def test_a_non_overridable_blocker_cannot_be_excepted(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, blocked_review())
    key = finding_key(ctx, team.worker, review_id, "change.E001")

    with pytest.raises(Refused):
        reviews.request_exception(
            ctx, team.worker, review_id, finding_key=key, reason="Everyone says he is better."
        )

    assert reviews.get_review(ctx, team.worker, review_id).exception_requests == []


def test_an_exception_cannot_be_asked_for_twice_while_pending(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    reviews.request_exception(ctx, team.worker, review_id, finding_key=key, reason="First ask.")

    with pytest.raises(Refused):
        reviews.request_exception(
            ctx, team.worker, review_id, finding_key=key, reason="Second ask."
        )

    assert len(reviews.get_review(ctx, team.worker, review_id).exception_requests) == 1


def test_a_granted_exception_keeps_what_the_manager_saw(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    gap = next(
        f
        for f in reviews.get_review(ctx, team.worker, review_id).report.open_blockers
        if f.check_id == "exit.E003"
    )

    grant(ctx, team.worker, team.manager, review_id, "exit.E003")

    (exception,) = reviews.get_review(ctx, team.worker, review_id).review.exceptions
    assert exception.finding == gap.key
    assert exception.subject == "voluntary"
    assert exception.message == gap.message
    assert "Voluntary or community sector has not been notified" in exception.message
    assert exception.facts == gap.facts


def test_an_exception_for_not_seen_alone_lapses_when_the_worker_records_never_seen_alone(
    ctx: Context, team: Team
) -> None:
    review_id = prepare(ctx, team.worker, late_seen_alone_review(weeks=5))
    key = grant(ctx, team.worker, team.manager, review_id, "exit.E004")
    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.report.sign_off_possible
    (exception,) = record.review.exceptions
    assert exception.facts == {"seen alone on": "2025-04-25", "views recorded then": "yes"}
    assert exception.message.startswith("Last seen alone on 25 April 2025")

    # The worker finds the young person was never seen alone and records it.
    document = record.review.model_dump(mode="json")
    document["answers"]["exit"]["seen_alone_on"] = None
    _save(ctx, team, review_id, Review.model_validate(document))

    record = reviews.get_review(ctx, team.worker, review_id)
    assert [e.finding for e in record.review.exceptions] == [key]  # kept, but fits nothing
    (finding,) = [f for f in record.report.open_blockers if f.check_id == "exit.E004"]
    assert finding.key != key
    assert finding.resolution is Resolution.OPEN
    assert finding.lapsed.startswith("Exception no longer applies")
    assert "seen alone on: 25/04/2025 → not recorded" in finding.lapsed
    assert [(n.check_id, n.kind) for n in record.report.exception_notices] == [
        ("exit.E004", NoticeKind.LAPSED)
    ]
    with pytest.raises(Refused) as refusal:
        sign(ctx, team.worker, review_id)
    assert refusal.value.blocking == ["exit.E004"]
    assert _decision_count(ctx) == 0


def _store_content(ctx: Context, review_id: int, review: Review) -> None:
    """Write review content around the service, as content from an earlier version of the
    checks (or an import) could hold it: the service never lets a worker write exceptions."""
    with raw_connection(ctx) as conn:
        conn.execute(
            "UPDATE reviews SET content = ?, content_hash = ? WHERE id = ?",
            (review.model_dump_json(), content_hash(review), review_id),
        )
        conn.commit()


def test_an_exception_to_a_check_no_manager_may_override_is_reported_and_resolves_nothing(
    ctx: Context, team: Team
) -> None:
    document = ready_review().model_dump(mode="json")
    document["answers"]["exit"]["lead_role"] = "tbc"  # exit.E001: not overridable
    blocked = Review.model_validate(document)
    review_id = prepare(ctx, team.worker, blocked)
    key = finding_key(ctx, team.worker, review_id, "exit.E001")
    excepted = ManagerException(
        finding=key,
        reason="Agreed in supervision.",
        manager=team.manager.staff_id,
        granted_on=dt.date(2025, 5, 29),
    )
    _store_content(ctx, review_id, blocked.model_copy(update={"exceptions": [excepted]}))

    record = reviews.get_review(ctx, team.worker, review_id)

    assert [f.key for f in record.report.open_blockers] == [key]
    (notice,) = record.report.exception_notices
    assert (notice.finding, notice.kind) == (key, NoticeKind.NOT_OVERRIDABLE)
    assert "cannot be overridden" in notice.message
    with pytest.raises(Refused):
        sign(ctx, team.worker, review_id)


def test_an_exception_whose_finding_no_longer_exists_is_reported_and_sealed_with_the_decision(
    ctx: Context, team: Team
) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = grant(ctx, team.worker, team.manager, review_id, "exit.E003")
    _save(ctx, team, review_id, ready_review())  # the voluntary sector is notified after all

    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.report.sign_off_possible
    assert [(n.finding, n.kind) for n in record.report.exception_notices] == [
        (key, NoticeKind.RESOLVED)
    ]
    decision_id = sign(ctx, team.worker, review_id)

    sealed = decisions.get_decision(ctx, team.manager, decision_id)
    assert [n.kind for n in sealed.report.exception_notices] == [NoticeKind.RESOLVED]
    assert [n.kind for n in decisions.recheck(sealed).exception_notices] == [NoticeKind.RESOLVED]
    assert "no longer needed" in sealed.report.exception_notices[0].message
    assert _rows(ctx, "SELECT exceptions FROM decisions WHERE id = ?", (decision_id,)) == [(0,)]


# Two tabs ------------------------------------------------------------------------------------


def test_saving_from_a_stale_tab_is_refused_as_a_conflict(ctx: Context, team: Team) -> None:
    review_id = prepare_ready(ctx, team.worker)
    version = reviews.get_review(ctx, team.worker, review_id).version
    reviews.save_review(
        ctx,
        team.worker,
        review_id,
        _with_notes(ready_review(), "Saved in tab A."),
        expected_version=version,
    )

    with pytest.raises(Conflict):
        reviews.save_review(
            ctx,
            team.worker,
            review_id,
            _with_notes(ready_review(), "Saved in tab B."),
            expected_version=version,
        )

    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.review.answers.change.notes == "Saved in tab A."
    assert record.version == version + 1


def test_a_stale_tab_saves_over_a_managers_exception_and_keeps_it(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    tab = reviews.get_review(ctx, team.worker, review_id)
    key = next(f.key for f in tab.report.open_blockers)
    request_id = reviews.request_exception(
        ctx, team.worker, review_id, finding_key=key, reason="The youth worker leads."
    )
    decisions.decide_exception(ctx, team.manager, request_id, grant=True, reason="Agreed.")

    version = reviews.save_review(
        ctx,
        team.worker,
        review_id,
        _with_notes(tab.review, "Saved from the tab opened before the exception."),
        expected_version=tab.version,
    )

    record = reviews.get_review(ctx, team.worker, review_id)
    assert version == tab.version + 2
    assert record.review.answers.change.notes.startswith("Saved from the tab")
    assert [e.finding for e in record.review.exceptions] == [key]
    assert record.report.sign_off_possible


def test_a_worker_cannot_write_an_exception_through_save(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    forged = ManagerException(
        finding=key,
        reason="I decided this myself.",
        manager=team.manager.staff_id,
        granted_on=dt.date(2025, 5, 30),
    )

    _save(ctx, team, review_id, unnotified_review().model_copy(update={"exceptions": [forged]}))

    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.review.exceptions == []
    assert [f.key for f in record.report.open_blockers] == [key]


def test_a_worker_cannot_remove_a_granted_exception_through_save(ctx: Context, team: Team) -> None:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    request_id = reviews.request_exception(
        ctx, team.worker, review_id, finding_key=key, reason="The youth worker leads."
    )
    decisions.decide_exception(ctx, team.manager, request_id, grant=True, reason="Agreed.")
    granted = reviews.get_review(ctx, team.worker, review_id).review.exceptions

    _save(ctx, team, review_id, _with_notes(unnotified_review(), "Exceptions list emptied."))

    assert reviews.get_review(ctx, team.worker, review_id).review.exceptions == granted


# Re-referral and one open review per case ----------------------------------------------------


@pytest.mark.parametrize(
    ("later", "linked"),
    [
        pytest.param(dt.datetime(2026, 4, 30, 9, tzinfo=dt.UTC), True, id="eleven-months"),
        pytest.param(dt.datetime(2026, 5, 30, 9, tzinfo=dt.UTC), True, id="twelve-months"),
        pytest.param(dt.datetime(2026, 6, 30, 9, tzinfo=dt.UTC), False, id="thirteen-months"),
    ],
)
def test_a_new_review_within_twelve_months_of_closure_is_a_re_referral(
    ctx: Context, team: Team, later: dt.datetime, linked: bool
) -> None:
    first, decision_id = submit(ctx, team.worker)
    approve(ctx, team.manager, decision_id)

    again = reviews.start_review(at(ctx, later), team.colleague, ready_review().case)

    record = reviews.get_review(ctx, team.colleague, again)
    assert record.re_referral_of == (first if linked else None)


def test_a_new_review_after_a_withdrawn_one_is_not_a_re_referral(ctx: Context, team: Team) -> None:
    first = prepare_ready(ctx, team.worker)
    reviews.withdraw(ctx, team.worker, first, reason="Case transferred out of area.")

    again = reviews.start_review(ctx, team.worker, ready_review().case)

    assert reviews.get_review(ctx, team.worker, again).re_referral_of is None


@pytest.mark.parametrize("stage", ["draft", "submitted", "returned"])
def test_only_one_open_review_per_case(ctx: Context, team: Team, stage: str) -> None:
    review_id = prepare_ready(ctx, team.worker)
    if stage in ("submitted", "returned"):
        decision_id = sign(ctx, team.worker, review_id)
        if stage == "returned":
            decisions.return_review(ctx, team.manager, decision_id, overall="Not yet.")

    with pytest.raises(Refused):
        reviews.start_review(ctx, team.colleague, ready_review().case)

    assert _rows(ctx, "SELECT count(*) FROM reviews") == [(1,)]


# Withdrawal ----------------------------------------------------------------------------------


def test_the_worker_can_withdraw_their_draft(ctx: Context, team: Team) -> None:
    review_id = prepare_ready(ctx, team.worker)

    reviews.withdraw(ctx, team.worker, review_id, reason="The family moved away.")

    record = reviews.get_review(ctx, team.worker, review_id)
    assert record.status == "withdrawn"
    assert not record.editable
    with pytest.raises(Refused):
        _save(ctx, team, review_id, _with_notes(ready_review(), "After withdrawal."))


def test_the_manager_can_withdraw_a_submitted_review(ctx: Context, team: Team) -> None:
    review_id, decision_id = submit(ctx, team.worker)

    reviews.withdraw(ctx, team.manager, review_id, reason="New concerns came in today.")

    assert reviews.get_review(ctx, team.worker, review_id).status == "withdrawn"
    sealed = decisions.get_decision(ctx, team.manager, decision_id)
    assert sealed.outcome == "withdrawn"
    assert sealed.reasons == {"overall": "New concerns came in today."}
    with pytest.raises(Refused):
        decisions.countersign(ctx, team.manager, decision_id, hash_seen=sealed.content_hash)


# Approved is final ---------------------------------------------------------------------------


@pytest.fixture
def approved(ctx: Context, team: Team) -> tuple[int, int]:
    review_id, decision_id = submit(ctx, team.worker)
    approve(ctx, team.manager, decision_id)
    return review_id, decision_id


def test_an_approved_review_cannot_be_saved(
    ctx: Context, team: Team, approved: tuple[int, int]
) -> None:
    review_id, _ = approved
    with pytest.raises(Refused):
        _save(ctx, team, review_id, _with_notes(ready_review(), "After approval."))


def test_an_approved_review_cannot_be_signed_off_again(
    ctx: Context, team: Team, approved: tuple[int, int]
) -> None:
    review_id, _ = approved
    with pytest.raises(Refused):
        sign(ctx, team.worker, review_id)


def test_an_approved_review_cannot_be_withdrawn(
    ctx: Context, team: Team, approved: tuple[int, int]
) -> None:
    review_id, _ = approved
    with pytest.raises(Refused):
        reviews.withdraw(ctx, team.manager, review_id, reason="Changed my mind.")


def test_an_approved_decision_cannot_be_returned_or_countersigned_again(
    ctx: Context, team: Team, approved: tuple[int, int]
) -> None:
    _, decision_id = approved
    sealed = decisions.get_decision(ctx, team.manager, decision_id)
    with pytest.raises(Refused):
        decisions.return_review(ctx, team.manager, decision_id, overall="Second thoughts.")
    with pytest.raises(Refused):
        decisions.countersign(ctx, team.manager, decision_id, hash_seen=sealed.content_hash)
    assert decisions.get_decision(ctx, team.manager, decision_id).outcome == "approved"


def test_the_whole_workflow_leaves_the_store_intact(
    ctx: Context, team: Team, approved: tuple[int, int]
) -> None:
    returned, decision_id = submit(ctx, team.worker, reference="CR-2025-0413")
    decisions.return_review(ctx, team.manager, decision_id, overall="Not yet.")
    reviews.withdraw(ctx, team.worker, returned, reason="Transferred.")

    with reading(ctx.db_path) as db:
        report = verify(db)

    assert report.intact, report.problems
    assert report.decisions_checked == 2
    assert report.outcomes_checked == 2
