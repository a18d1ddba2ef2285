"""Keep what lives as long as the server out of Python's garbage collections.

A full collection walks every tracked object: the modules, classes and validators imported
once (Streamlit, pandas, pydantic, the checks). Freezing them (`gc.freeze`) moves them out of
every later collection: Python's own generational ones, and Streamlit's forced one after each
run if `runner.postScriptGC` is turned on again (it is off: docs/decisions.md #37 and #70).
What a run leaves behind is still collected."""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_frozen_with = 0
"""How many modules were loaded when the heap was last frozen."""


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
