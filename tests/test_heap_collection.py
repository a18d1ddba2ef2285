"""A busy server collects garbage now and then, not after every run; what survives is frozen
until the next sweep; freed memory goes back to the system (views/heap.py)."""

from __future__ import annotations

import gc
import sys
import time
import weakref
from collections.abc import Iterator

import pytest

from closure_readiness.views import heap


class _Plain:
    pass


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def quiet_heap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only the collections under test run, and the test process is thawed afterwards."""
    monkeypatch.setattr(heap, "_swept_at", time.monotonic())
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.enable()


def _collect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The collection of the next run, the interval having passed."""
    monkeypatch.setattr(heap, "_collected_at", time.monotonic() - heap.COLLECT_EVERY - 1)
    assert heap.collect_now_and_then()


def test_a_collection_runs_once_the_interval_has_passed_and_frees_cycles(
    monkeypatch: pytest.MonkeyPatch, quiet_heap: None
) -> None:
    dead = weakref.ref(_Cycle())
    assert dead() is not None  # a cycle: only a collection frees it

    _collect(monkeypatch)

    assert dead() is None


def test_what_survives_a_collection_is_frozen_so_the_next_does_not_walk_it(
    monkeypatch: pytest.MonkeyPatch, quiet_heap: None
) -> None:
    kept = _Cycle()

    _collect(monkeypatch)

    assert not any(o is kept for o in gc.get_objects())  # gc.get_objects() is what it walks
    assert gc.get_freeze_count() > 0


def test_a_cycle_that_died_frozen_is_freed_by_the_next_sweep(
    monkeypatch: pytest.MonkeyPatch, quiet_heap: None
) -> None:
    kept = _Cycle()
    dead = weakref.ref(kept)
    _collect(monkeypatch)  # frozen
    del kept
    _collect(monkeypatch)
    assert dead() is not None  # frozen cycles wait for the sweep

    monkeypatch.setattr(heap, "_swept_at", time.monotonic() - heap.SWEEP_EVERY - 1)
    _collect(monkeypatch)

    assert dead() is None


def test_an_object_nothing_holds_is_freed_at_once_though_frozen(
    monkeypatch: pytest.MonkeyPatch, quiet_heap: None
) -> None:
    kept = _Plain()
    dead = weakref.ref(kept)
    _collect(monkeypatch)  # frozen

    del kept

    assert dead() is None  # by refcounting, with no collection


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


def _resident_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_memory_freed_below_a_block_still_in_use_goes_back_to_the_system() -> None:
    blocks = [bytearray(4000) for _ in range(50_000)]  # about 200 MB, each from malloc
    pinned = bytearray(4000)  # above them: the allocator cannot shrink its heap past it
    before = _resident_mib()
    del blocks

    assert heap.give_back_free_memory()

    assert _resident_mib() < before - 100
    assert len(pinned) == 4000
