"""The browser benchmark's floor draws what the measured pages draw (no browser needed here).

The whole benchmark (two servers and Chromium, several minutes) is run by hand:
`.venv/bin/python -m bench --quick browser` (or without --quick for the full figures).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app_support import ISSUER, TODAY, DemoDatabase, clear_app_caches, seeded_database

# The benchmarks live beside the package, not in it (`python -m bench` from the repository).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.browser_bench import (
    THEME,
    Pages,
    _add_first_evidence,
    floor_source,
    read_pages,
)
from bench.harness import Measurement, table


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoDatabase, Pages]]:
    database = seeded_database(tmp_path_factory.mktemp("floor"))
    _add_first_evidence(
        database.path,
        issuer=ISSUER,
        review_id=database.ids["re_referral"],
        today=TODAY,
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CLOSURE_ENVIRONMENT", "test")
        env.setenv("CLOSURE_DB", str(database.path))
        clear_app_caches()
        found = read_pages(
            database.path,
            issuer=ISSUER,
            review=database.ids["draft_new"],
            evidence_review=database.ids["re_referral"],
        )
        yield database, found
    clear_app_caches()


def _kinds(node: Any, counted: Counter[str] | None = None) -> Counter[str]:
    counted = Counter() if counted is None else counted
    counted[getattr(node, "type", "?")] += 1
    children = getattr(node, "children", None)
    for child in children.values() if isinstance(children, dict) else []:
        _kinds(child, counted)
    return counted


@pytest.mark.parametrize(
    ("view", "tree"),
    [("my_reviews", "landing"), ("tasks", "tasks"), (THEME, "theme"), ("evidence", "evidence")],
)
def test_the_floor_draws_the_same_elements_as_the_page(
    measured: tuple[DemoDatabase, Pages], tmp_path: Path, view: str, tree: str
) -> None:
    database, found = measured
    script = tmp_path / "floor.py"
    script.write_text(
        floor_source(found, review=database.ids["draft_new"], only=view), encoding="utf-8"
    )
    floor = AppTest.from_file(str(script), default_timeout=60)
    floor.run()
    assert not floor.exception, floor.exception
    page = _kinds(getattr(found, tree))
    assert _kinds(floor._tree) == page
    # A real page was read, not a sign-in or error page (under 10 elements); the lightest
    # measured page, the task list, draws 37 (decision #38).
    assert sum(page.values()) > 25


def test_the_measured_pages_carry_many_open_findings(
    measured: tuple[DemoDatabase, Pages],
) -> None:
    _, found = measured
    assert found.open_findings >= 20
    assert found.evidence_open_findings >= 20
    assert found.theme_heading
    assert found.tasks_heading.startswith("Closure review")


def test_a_table_with_percentiles_has_their_columns_and_one_without_does_not() -> None:
    plain = Measurement("a", 2.0, "floor", 1.0, target=1.5)
    spread = Measurement(
        "b", 2.0, "floor", 1.0, target=1.5, limit_ms=1000, subject_p90_ms=3.0, floor_p90_ms=1.5
    )
    assert table([plain]).splitlines()[0].count("|") == 8
    with_p90 = table([plain, spread]).splitlines()
    assert "p90 ms" in with_p90[0]
    assert "floor p90" in with_p90[0]
    assert all(line.count("|") == 10 for line in with_p90)
    assert "| 3.000 |" in with_p90[-1]
    assert "| - |" in with_p90[-2]
