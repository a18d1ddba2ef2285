"""The load benchmark drives the real server: signed-in sessions over its web socket.

Two sessions (a caseworker and an auditor) for a few seconds against the real demo and the
floor; nothing here asserts a time. What must hold: the run completes, its table has rows, and
every write the app acknowledged is in the database afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import load_bench


def test_each_server_process_serves_the_same_mix_of_roles() -> None:
    roles = load_bench.roles_for(50)
    placed = load_bench.processes_for(roles, 2)

    for role in (load_bench.CASEWORKER, load_bench.MANAGER, load_bench.AUDITOR):
        on = [process for process, r in zip(placed, roles, strict=True) if r == role]
        assert abs(on.count(0) - on.count(1)) <= 1, (role, on)
    assert load_bench.processes_for(roles, 1) == [0] * 50


@pytest.mark.slow
def test_the_load_benchmark_signs_in_works_and_finds_every_acknowledged_write_stored() -> None:
    result = load_bench.load(sessions=2, seconds=10)

    assert result.app.times.get("sign-in"), result.app.errors
    assert result.acknowledged > 0, result.app.unacknowledged
    assert result.stored == result.acknowledged, result.missing
    assert not result.missing
    rows = load_bench.rows(result)
    assert rows
    assert all(row.subject_ms > 0 and row.floor_ms > 0 for row in rows)
    table = load_bench.kinds_table(result)
    assert "| open a review step |" in table
    assert "| fetch the decision PDF |" in table
