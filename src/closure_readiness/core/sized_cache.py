"""A least-recently-used cache bounded by the size of what it holds, not by a count.

`functools.lru_cache(maxsize=128)` kept the parsed and checked reviews, but a review's entry
grows with its evidence (about 150 KiB for 30 items, over 1 MiB for 200), so a count bounds
nothing: a soak's memory grew as its drafts did. Here each entry weighs what its caller says
(the stored JSON's length, which the parsed models follow), and the oldest entries go once the
weights add up to more than the budget. The key is a digest of the text, so the cache does not
keep a second copy of every review's JSON either.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


def digest(text: str) -> bytes:
    """A key standing for a long text (its SHA-256), without holding the text."""
    return hashlib.sha256(text.encode()).digest()


class SizedCache(Generic[V]):
    """Values by key, the least recently used dropped beyond `budget` (in the callers' unit).

    Thread-safe. A value is worked out outside the lock: two threads missing the same key at
    once both work it out and the second's is kept, which is harmless for pure functions (the
    only use). An entry heavier than the whole budget is returned but not kept."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, weight: int, make: Callable[[], V]) -> V:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found[0]
            self.misses += 1
        value = make()
        if weight > self.budget:
            return value
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._entries[key] = (value, weight)
            self._weight += weight
            while self._weight > self.budget:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped
        return value

    @property
    def weight(self) -> int:
        with self._lock:
            return self._weight

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0
            self.hits = self.misses = 0
