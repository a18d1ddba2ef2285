"""A busy server collects garbage fully now and then, not after every run (views/heap.py)."""

from __future__ import annotations

import gc
import time

import pytest

from closure_readiness.views import heap


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_full_collection_runs_once_the_interval_has_passed_and_frees_cycles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heap, "_collected_at", time.monotonic() - heap.COLLECT_EVERY - 1)
    gc.disable()  # only the collection under test may free the cycle
    try:
        _Cycle()
        assert any(type(o) is _Cycle for o in gc.get_objects())

        assert heap.collect_now_and_then()

        assert not any(type(o) is _Cycle for o in gc.get_objects())
    finally:
        gc.enable()


def test_no_collection_before_the_interval_has_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_collected_at", time.monotonic())
    calls: list[int] = []
    monkeypatch.setattr(heap.gc, "collect", lambda *args: calls.append(1) or 0)

    assert not heap.collect_now_and_then()
    assert calls == []


def test_a_second_session_does_not_wait_while_one_collects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_collected_at", 0.0)
    with heap._lock:  # another session is collecting (or freezing) now
        assert not heap.collect_now_and_then()
