"""Work a page does on every rerun, done once (issue 9, item 13, "fast enough to use all day").

A stored review is validated and checked once per distinct content, not on every rerun of
every page that shows it; and the objects that live as long as the server are frozen out of
the full garbage collection Streamlit runs after each script run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app_support import APP, ISSUER, DemoDatabase, copy_database
from closure_readiness.service import reviews

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def database(template: DemoDatabase, tmp_path: Path) -> DemoDatabase:
    """A private copy of the demo data (conftest's `template`), not pointed at by the app."""
    return copy_database(template, tmp_path)


def test_a_list_shown_again_checks_no_unchanged_review_again(
    database: DemoDatabase, evaluations: list[Any]
) -> None:
    worker = database.principal("caseworker")
    first = reviews.list_reviews(database.context(), worker)
    checked = len(evaluations)
    assert checked == len(first) > 1
    again = reviews.list_reviews(database.context(), worker)
    assert len(evaluations) == checked  # nothing changed: nothing checked again
    assert again == first


def test_reopening_a_review_checks_it_again_only_after_it_changed(
    database: DemoDatabase, evaluations: list[Any]
) -> None:
    ctx, worker = database.context(), database.principal("caseworker")
    review_id = database.ids["draft_new"]
    record = reviews.get_review(ctx, worker, review_id)
    assert reviews.get_review(ctx, worker, review_id) == record
    assert len(evaluations) == 1
    answers = record.review.answers
    changed = record.review.model_copy(
        update={
            "answers": answers.model_copy(
                update={"family": answers.family.model_copy(update={"siblings_considered": True})}
            )
        }
    )
    reviews.save_review(ctx, worker, review_id, changed, expected_version=record.version)
    after = reviews.get_review(ctx, worker, review_id)
    assert len(evaluations) == 2
    assert after.review.answers.family.siblings_considered is True
    assert after.report == reviews.evaluate_review(ctx, after.review)


def test_the_same_content_under_other_thresholds_is_checked_again(
    database: DemoDatabase, evaluations: list[Any]
) -> None:
    ctx, worker = database.context(), database.principal("caseworker")
    review_id = database.ids["draft_remand"]
    usual = reviews.get_review(ctx, worker, review_id)
    stricter = replace(
        ctx,
        thresholds=ctx.thresholds.model_copy(
            update={"recent_evidence_weeks": ctx.thresholds.recent_evidence_weeks - 1}
        ),
    )
    other = reviews.get_review(stricter, worker, review_id)
    assert len(evaluations) == 2
    assert other.report.thresholds.recent_evidence_weeks == (
        usual.report.thresholds.recent_evidence_weeks - 1
    )


_AFTER_RUNS = """
import gc, os, sys, time
from streamlit.testing.v1 import AppTest

os.environ["CLOSURE_DB"] = sys.argv[1]
os.environ["CLOSURE_ENVIRONMENT"] = "test"
at = AppTest.from_file(sys.argv[2], default_timeout=60)
at.user = {"is_logged_in": True, "iss": sys.argv[3], "sub": "caseworker",
           "iat": int(time.time())}
at.query_params["review"] = sys.argv[4]
at.query_params["step"] = "tasks"
at.run()
at.switch_page("src/closure_readiness/views/scripts/review.py")
at.run()
at.run()
assert not at.exception, at.exception
gc.collect()
print(gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_a_full_collection_after_a_run_skips_what_was_imported(database: DemoDatabase) -> None:
    """In its own process, so the count is the app's alone."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_AFTER_RUNS),
            str(database.path),
            str(APP),
            ISSUER,
            str(database.ids["draft_new"]),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    frozen, collected = map(int, result.stdout.split()[-2:])
    # Streamlit, pandas, pydantic and the checks: frozen once, never walked again; what a
    # full collection still walks is a small part of the heap.
    assert frozen > 50_000
    assert collected < frozen / 4
