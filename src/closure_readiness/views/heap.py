"""Keep what lives as long as the server out of Python's garbage collections, and collect the
rest now and then rather than after every run.

A full collection walks every tracked object: the modules, classes and validators imported
once (Streamlit, pandas, pydantic, the checks), and every session's widgets, state and page
objects. Freezing what was imported (`gc.freeze`) moves it out of every later collection.
Streamlit's forced collection after every run (`runner.postScriptGC`) is off: its cost grows
with the sessions on the server, and under 20 sessions it took half the server's CPU
(docs/decisions.md #70). Python's own generational collection still runs, but it lets the
old generation grow by a quarter before walking it, so a busy server also collects fully at
most every `COLLECT_EVERY` seconds (`collect_now_and_then`): one walk a few seconds apart
instead of one per run, and garbage never waits long."""

from __future__ import annotations

import gc
import sys
import threading
import time

_lock = threading.Lock()
_frozen_with = 0
"""How many modules were loaded when the heap was last frozen."""
COLLECT_EVERY = 10.0
"""Seconds between two full collections on a busy server."""
_collected_at = time.monotonic()


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
    """A full collection if the last was `COLLECT_EVERY` seconds ago or more; returns whether
    it collected now. Called at the start of each script run: one run in many pays for it
    (about 50 ms under 20 sessions), and only one session at a time."""
    global _collected_at
    if time.monotonic() - _collected_at < COLLECT_EVERY:
        return False
    if not _lock.acquire(blocking=False):
        return False  # another session is collecting or freezing now
    try:
        if time.monotonic() - _collected_at < COLLECT_EVERY:
            return False
        gc.collect()
        _collected_at = time.monotonic()
    finally:
        _lock.release()
    return True
