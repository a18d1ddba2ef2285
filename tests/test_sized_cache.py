"""The caches of parsed and checked reviews are bounded by what they hold, not by a count.

A count of 128 bounded nothing once reviews grew (a soak's memory grew with its drafts): an
entry weighs its stored JSON's length, and the least recently used go beyond the budget.
"""

from __future__ import annotations

import threading

import pytest
from bench.store_bench import _editing_history, signable_review_with_evidence

from closure_readiness.checks import DEFAULT_THRESHOLDS
from closure_readiness.core.sized_cache import SizedCache, digest
from closure_readiness.service import reviews


def test_the_least_recently_used_go_once_the_weights_pass_the_budget() -> None:
    cache: SizedCache[str] = SizedCache(budget=10)
    made: list[str] = []

    def get(key: str, weight: int) -> str:
        return cache.get(key, weight, lambda: made.append(key) or key.upper())

    assert get("a", 4) == "A"
    assert get("b", 4) == "B"
    assert get("a", 4) == "A"  # used again: now the most recent
    assert get("c", 4) == "C"  # 12 > 10: "b", the least recently used, goes

    assert made == ["a", "b", "c"]
    assert len(cache) == 2
    assert cache.weight == 8
    get("b", 4)
    assert made == ["a", "b", "c", "b"]  # worked out again


def test_an_entry_heavier_than_the_budget_is_returned_and_not_kept() -> None:
    cache: SizedCache[int] = SizedCache(budget=10)
    cache.get("small", 3, lambda: 1)

    assert cache.get("huge", 11, lambda: 2) == 2
    assert len(cache) == 1
    assert cache.weight == 3


def test_threads_share_one_cache_and_its_weight_stays_within_the_budget() -> None:
    cache: SizedCache[int] = SizedCache(budget=50)

    def work(offset: int) -> None:
        for i in range(500):
            key = (offset + i) % 40
            assert cache.get(key, 3, lambda key=key: key * 2) == key * 2

    threads = [threading.Thread(target=work, args=(n * 7,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert cache.weight <= 50
    assert cache.weight == 3 * len(cache)


def test_the_key_is_a_digest_not_the_text() -> None:
    text = "x" * 100_000
    assert digest(text) == digest("x" * 100_000)
    assert digest(text) != digest(text + "y")
    assert len(digest(text)) == 32


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> int:
    budget = 60_000
    monkeypatch.setattr(reviews, "_reviews", SizedCache(budget))
    return budget


def test_growing_reviews_keep_the_review_caches_within_their_budget(small_budget: int) -> None:
    """Drafts that grow an item at a time, as a soak's do: each save is a new content (the
    store benchmark's editing history, a saveable state per step)."""
    full = signable_review_with_evidence(30)
    contents = [step.model_dump_json() for step in _editing_history(full)]
    for content in contents:
        review, report = reviews._evaluated(content, DEFAULT_THRESHOLDS)
        assert review.model_dump_json() == content
        assert report.checks_version

    assert 0 < reviews._reviews.weight <= small_budget
    # The newest are kept, parsed and checked: the last content is answered from the cache,
    # and a save reading it back parses nothing either.
    misses = reviews._reviews.misses
    reviews._evaluated(contents[-1], DEFAULT_THRESHOLDS)
    reviews._load(contents[-1])
    assert reviews._reviews.misses == misses
