"""`closure-readiness withdraw`: a review withdrawn from the command line on a member of staff's
behalf, under that person's role and team, with plain messages and exit codes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.cli import main
from closure_readiness.service import decisions, reviews
from closure_readiness.service.context import Context
from workflow_fixtures import (
    Team,
    approve,
    disable,
    prepare_ready,
    submit,
)

ROOT = Path(__file__).resolve().parents[1]
EXIT_OK, EXIT_REFUSED, EXIT_INVALID = 0, 1, 2


def _withdraw(
    capsys: pytest.CaptureFixture[str], ctx: Context, review: int | str, by: str, reason: str
) -> tuple[int, str, str]:
    code = main(
        [
            "withdraw",
            "--db",
            str(ctx.db_path),
            "--review",
            str(review),
            "--by",
            by,
            "--reason",
            reason,
        ]
    )
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _events(ctx: Context, review_id: int) -> list[tuple[str, dict[str, Any]]]:
    conn = sqlite3.connect(ctx.db_path)
    try:
        rows = conn.execute(
            "SELECT actor, detail FROM audit_events WHERE review_id = ? AND action = ?",
            [review_id, "review_withdrawn"],
        ).fetchall()
    finally:
        conn.close()
    return [(actor, json.loads(detail)) for actor, detail in rows]


def test_a_caseworker_withdraws_their_own_draft(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team
) -> None:
    review_id = prepare_ready(ctx, team.worker)

    code, out, err = _withdraw(capsys, ctx, review_id, "SW-N1", "The family moved away.")

    assert code == EXIT_OK, err
    assert out.strip() == (
        f"Withdrew review {review_id} (case CR-2025-0412) for SW-N1 (North caseworker one). "
        "The reason is kept in the audit trail."
    )
    assert reviews.get_review(ctx, team.worker, review_id).status == "withdrawn"
    assert _events(ctx, review_id) == [
        ("SW-N1", {"reason": "The family moved away.", "via": "command line"})
    ]


def test_a_team_manager_withdraws_a_submitted_review_and_its_sign_off(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team
) -> None:
    review_id, decision_id = submit(ctx, team.worker)

    code, _, err = _withdraw(capsys, ctx, review_id, "TM-N1", "New concerns today.")

    assert code == EXIT_OK, err
    assert decisions.queue(ctx, team.manager).submitted == []
    sealed = decisions.get_decision(ctx, team.auditor, decision_id)
    assert (sealed.outcome, sealed.decided_by) == ("withdrawn", "TM-N1")
    assert sealed.reasons == {"overall": "New concerns today."}


def test_a_colleague_cannot_withdraw_someone_elses_review(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team
) -> None:
    review_id = prepare_ready(ctx, team.worker)

    code, out, err = _withdraw(capsys, ctx, review_id, "SW-N2", "Not mine.")

    assert code == EXIT_REFUSED
    assert out == ""
    assert err.strip() == (
        "closure-readiness: Not withdrawn. Only the allocated worker or a team manager of the "
        "team can withdraw this review."
    )
    assert reviews.get_review(ctx, team.worker, review_id).status == "draft"


def test_a_manager_of_another_team_cannot_see_the_review(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team
) -> None:
    review_id = prepare_ready(ctx, team.worker)

    code, _, err = _withdraw(capsys, ctx, review_id, "TM-S1", "Wrong team.")

    assert code == EXIT_REFUSED
    assert err.strip() == (
        f"closure-readiness: Not withdrawn. There is no review {review_id} that TM-S1 can see "
        "(it does not exist, or it belongs to another team)."
    )
    assert reviews.get_review(ctx, team.worker, review_id).status == "draft"


@pytest.mark.parametrize("who", ["AU-1", "SW-S1"])
def test_an_auditor_or_another_teams_worker_is_refused(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team, who: str
) -> None:
    review_id = prepare_ready(ctx, team.worker)

    code, _, err = _withdraw(capsys, ctx, review_id, who, "No.")

    assert code == EXIT_REFUSED
    assert err.startswith("closure-readiness: Not withdrawn. ")
    assert reviews.get_review(ctx, team.worker, review_id).status == "draft"


def test_an_approved_review_cannot_be_withdrawn(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team
) -> None:
    review_id, decision_id = submit(ctx, team.worker)
    approve(ctx, team.manager, decision_id)

    code, _, err = _withdraw(capsys, ctx, review_id, "TM-N1", "Changed my mind.")

    assert code == EXIT_REFUSED
    assert err.strip() == (
        "closure-readiness: Not withdrawn. This review has been approved, so it cannot be "
        "withdrawn."
    )


def test_a_disabled_member_of_staff_cannot_withdraw(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team
) -> None:
    review_id = prepare_ready(ctx, team.worker)
    disable(ctx, team.worker)

    code, _, err = _withdraw(capsys, ctx, review_id, "SW-N1", "Left the council.")

    assert code == EXIT_REFUSED
    assert err.strip() == (
        "closure-readiness: Not withdrawn. SW-N1's account is disabled; ask a team manager of "
        "the team to withdraw the review."
    )


def test_an_empty_reason_is_bad_input(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team
) -> None:
    review_id = prepare_ready(ctx, team.worker)

    code, _, err = _withdraw(capsys, ctx, review_id, "SW-N1", "  ")

    assert code == EXIT_INVALID
    assert err.strip() == "closure-readiness: Write the reason for withdrawing the review."
    assert reviews.get_review(ctx, team.worker, review_id).status == "draft"


def test_an_unknown_member_of_staff_is_bad_input(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team
) -> None:
    review_id = prepare_ready(ctx, team.worker)

    code, _, err = _withdraw(capsys, ctx, review_id, "SW-X9", "Who?")

    assert code == EXIT_INVALID
    assert err.strip() == "closure-readiness: No member of staff has the id SW-X9."


def test_a_missing_database_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.db"
    code = main(
        ["withdraw", "--db", str(missing), "--review", "1", "--by", "SW-N1", "--reason", "x"]
    )

    assert code == EXIT_INVALID
    assert capsys.readouterr().err.strip() == f"closure-readiness: {missing}: no such database."
    assert not missing.exists()


def test_the_help_says_whose_rules_apply_and_what_the_exit_codes_mean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "closure_readiness.cli", "withdraw", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == EXIT_OK
    help_text = " ".join(result.stdout.split())
    assert "--by STAFF_ID" in help_text
    assert "as if they had withdrawn it in the app" in help_text
    assert "0 withdrawn, 1 refused" in help_text
    assert "2 bad input" in help_text


def test_a_review_id_that_is_not_a_number_is_bad_input(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "closure_readiness.cli",
            "withdraw",
            "--db",
            str(tmp_path / "x.db"),
            "--review",
            "twelve",
            "--by",
            "SW-N1",
            "--reason",
            "x",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == EXIT_INVALID
    assert "Traceback" not in result.stderr
    assert "Invalid value for '--review': 'twelve' is not a valid integer" in result.stderr


def test_the_readme_documents_the_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    assert "closure-readiness withdraw --db PATH --review ID --by STAFF_ID --reason TEXT" in readme
