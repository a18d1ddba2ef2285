"""Keep what lives long out of Python's garbage collections, collect the rest now and then
rather than after every run, and give freed memory back to the system.

A full collection walks every tracked object: the modules, classes and validators imported
once (Streamlit, pandas, pydantic, the checks), the cache of checked reviews (about half a
million objects at its budget, service/reviews.py), and every session's widgets, state and
page objects. Walking them all took about 0.3 s under 20 sessions, every run of every session
waiting meanwhile. Streamlit's forced collection after every run (`runner.postScriptGC`) is off
(docs/decisions.md #70), and a busy server collects at most every `COLLECT_EVERY` seconds
(`collect_now_and_then`): what survives a collection is frozen (`gc.freeze`), so the next
walks only what was made since. Refcounting still frees a frozen object the moment nothing
holds it; only a cycle that died after it was frozen waits, for the sweep that thaws and walks
everything once every `SWEEP_EVERY` seconds (decision #79).

glibc's allocator keeps what was freed in its arenas, one per thread that allocated, and
Streamlit runs every script in a new thread: a 10-minute soak held 50 MiB more free memory
than at its start, while what was in use stayed level. Each collection gives the free pages
back (`malloc_trim`)."""

from __future__ import annotations

import ctypes
import gc
import sys
import threading
import time
from collections.abc import Callable

_lock = threading.Lock()
_frozen_with = 0
"""How many modules were loaded when the heap was last frozen."""
COLLECT_EVERY = 10.0
"""Seconds between two collections (of what is new since the last) on a busy server."""
SWEEP_EVERY = 300.0
"""Seconds between two sweeps: the frozen heap thawed and everything walked once."""
_collected_at = time.monotonic()
_swept_at = time.monotonic()


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, where the C library has it (not on macOS, Windows or musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_trim = _malloc_trim()


def give_back_free_memory() -> bool:
    """Return the allocator's free pages to the system; whether it could (glibc only). ctypes
    lets go of the GIL for the call, so the sessions go on meanwhile."""
    if _trim is None:
        return False
    _trim(0)
    return True


def freeze_imports() -> bool:
    """Freeze the heap if modules were imported since it was last frozen (the app imports a
    page's modules on its first visit). Returns whether it froze now.

    Called at the start of each script run: cheap (a length check) except the few times a page
    imported something new, when one collection first frees any garbage, so none is frozen.
    """
    global _frozen_with
    loaded = len(sys.modules)
    if loaded == _frozen_with:
        return False
    with _lock:
        if len(sys.modules) == _frozen_with:
            return False
        gc.collect()
        gc.freeze()
        _frozen_with = len(sys.modules)
    return True


def collect_now_and_then() -> bool:
    """A collection if the last was `COLLECT_EVERY` seconds ago or more; returns whether it
    collected now. Called at the start of each script run: one run in many pays for it, and
    only one session at a time.

    It walks what was made since the last collection, then freezes what survived; once every
    `SWEEP_EVERY` seconds it thaws the frozen heap first and walks it all."""
    global _collected_at, _swept_at
    if time.monotonic() - _collected_at < COLLECT_EVERY:
        return False
    if not _lock.acquire(blocking=False):
        return False  # another session is collecting or freezing now
    try:
        now = time.monotonic()
        if now - _collected_at < COLLECT_EVERY:
            return False
        if now - _swept_at >= SWEEP_EVERY:
            gc.unfreeze()
            _swept_at = now
        gc.collect()
        gc.freeze()
        give_back_free_memory()
        _collected_at = time.monotonic()
    finally:
        _lock.release()
    return True
