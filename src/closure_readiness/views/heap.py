"""Keep what lives as long as the server out of Streamlit's collection after every run.

The server runs a full garbage collection after each script run (`runner.postScriptGC`,
docs/decisions.md #12). A full collection walks every tracked object: the modules, classes and
validators imported once (Streamlit, pandas, pydantic, the checks), about 130 ms a click here,
most of what the app added to a checkbox round trip over a bare Streamlit page. Freezing them
(`gc.freeze`) moves them out of every later collection; what a run leaves behind is still
collected after it, so memory stays as flat as before.
"""

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
