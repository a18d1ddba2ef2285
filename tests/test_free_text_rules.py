"""Free text given outside the review model (the reasons of the workflow) follows the model's
text rules: control characters, bidirectional overrides and isolates and lone surrogates are
refused with a message naming the field, never stored, never a crash (issue 11, item 11)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest

from closure_readiness.cli import main
from closure_readiness.core.text import LONG_TEXT_MAX
from closure_readiness.service import decisions, reviews
from closure_readiness.service.context import Context, InvalidInput
from workflow_fixtures import Team, finding_key, prepare, submit, unnotified_review

BAD_CHARACTERS = {
    "bell (control)": "\x07",
    "escape (control)": "\x1b",
    "next line (C1 control)": "\x85",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "first-strong isolate": "\u2068",
    "pop directional isolate": "\u2069",
    "lone high surrogate": "\ud800",
    "lone low surrogate": "\udfff",
}

Act = Callable[[Context, Team, str], object]


def _request(ctx: Context, team: Team, text: str) -> object:
    review_id = prepare(ctx, team.worker, unnotified_review())
    key = finding_key(ctx, team.worker, review_id, "exit.E003")
    return reviews.request_exception(ctx, team.worker, review_id, finding_key=key, reason=text)


def _decide(grant: bool) -> Act:
    def act(ctx: Context, team: Team, text: str) -> object:
        review_id = prepare(ctx, team.worker, unnotified_review())
        key = finding_key(ctx, team.worker, review_id, "exit.E003")
        request_id = reviews.request_exception(
            ctx, team.worker, review_id, finding_key=key, reason="Asked in supervision."
        )
        return decisions.decide_exception(ctx, team.manager, request_id, grant=grant, reason=text)

    return act


def _withdraw(ctx: Context, team: Team, text: str) -> object:
    review_id, _ = submit(ctx, team.worker)
    return reviews.withdraw(ctx, team.worker, review_id, reason=text)


def _return(part: str) -> Act:
    def act(ctx: Context, team: Team, text: str) -> object:
        _, decision_id = submit(ctx, team.worker)
        given = {"overall": "See the notes per step.", "findings": None, "themes": None}
        if part == "overall":
            given["overall"] = text
        else:
            given[part] = {"exit" if part == "themes" else "exit.W001:x": f"Check this {text}"}
        return decisions.return_review(ctx, team.manager, decision_id, **given)  # type: ignore[arg-type]

    return act


FIELDS: dict[str, tuple[Act, str]] = {
    "exception request reason": (_request, "reasoning for the exception"),
    "exception grant reason": (_decide(True), "reason for your decision"),
    "exception decline reason": (_decide(False), "reason for your decision"),
    "withdraw reason": (_withdraw, "reason for withdrawing the review"),
    "return reason overall": (_return("overall"), "reason for returning the review"),
    "return reason for a step": (_return("themes"), "reason given for a step"),
    "return reason for a finding": (_return("findings"), "reason given for a finding"),
}


def _stored_anywhere(ctx: Context, marker: str) -> bool:
    conn = sqlite3.connect(ctx.db_path)
    try:
        texts = conn.execute(
            "SELECT detail FROM audit_events UNION ALL SELECT reasons FROM outcomes"
        ).fetchall()
        if any(marker in (text or "") for (text,) in texts):
            return True
        rows = conn.execute(
            "SELECT count(*) FROM exception_requests "
            "WHERE worker_reason LIKE ? OR manager_reason LIKE ?",
            [f"%{marker}%", f"%{marker}%"],
        ).fetchone()
        return bool(rows[0])
    finally:
        conn.close()


@pytest.mark.parametrize("character", BAD_CHARACTERS.values(), ids=BAD_CHARACTERS.keys())
@pytest.mark.parametrize("field", FIELDS, ids=FIELDS.keys())
def test_unsafe_characters_are_refused_with_the_field_named(
    ctx: Context, team: Team, field: str, character: str
) -> None:
    act, words = FIELDS[field]
    text = f"Agreed in supervision ZQX{character}marker"

    with pytest.raises(InvalidInput) as refused:
        act(ctx, team, text)

    assert words in refused.value.message.lower()
    assert "character" in refused.value.message
    assert not _stored_anywhere(ctx, "ZQX")


@pytest.mark.parametrize("field", FIELDS, ids=FIELDS.keys())
def test_new_lines_and_tabs_stay_allowed(ctx: Context, team: Team, field: str) -> None:
    act, _ = FIELDS[field]
    act(ctx, team, "First line ZQX.\n\tSecond line.")

    assert _stored_anywhere(ctx, "ZQX")


def test_the_exception_request_reason_is_held_to_the_model_limit(ctx: Context, team: Team) -> None:
    with pytest.raises(InvalidInput, match=f"at most {LONG_TEXT_MAX} characters"):
        _request(ctx, team, "x" * (LONG_TEXT_MAX + 1))


def test_withdraw_from_the_command_line_refuses_a_hidden_direction_character(
    capsys: pytest.CaptureFixture[str], ctx: Context, team: Team
) -> None:
    review_id, _ = submit(ctx, team.worker)
    code = main(
        [
            "withdraw",
            "--db",
            str(ctx.db_path),
            "--review",
            str(review_id),
            "--by",
            team.worker.staff_id,
            "--reason",
            "Family moved \u202eaway",
        ]
    )
    out, err = capsys.readouterr()

    assert code == 2
    assert "Traceback" not in out + err
    assert "reason for withdrawing the review" in err.lower()
    assert "U+202E" in err
    assert reviews.get_review(ctx, team.worker, review_id).status == "submitted"
