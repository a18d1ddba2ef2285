"""What a database fault (a full disk, a database busy beyond the wait, a failing disk) means for
the person who met it, in one line: the views reach storage only through the service."""

from __future__ import annotations

from closure_readiness.storage.database import BUSY, DISK_FAILED, DISK_FULL, database_fault

PLAIN = frozenset({BUSY, DISK_FULL, DISK_FAILED})
"""The faults whose line is plain words for anyone (the others name files and commands)."""

UNAVAILABLE = "The records could not be reached just now: nothing was changed. Try again."
"""Any other database fault, for someone at a page (the server's log says which)."""

ASK_FOR_HELP = "If it keeps happening, tell whoever looks after Closure Readiness."


def fault_line(error: BaseException) -> str | None:
    """One line for a person at a page, or None when `error` is not a database fault."""
    line = database_fault(error)
    if line is None:
        return None
    return f"{line if line in PLAIN else UNAVAILABLE} {ASK_FOR_HELP}"


def fault_log_line(error: BaseException) -> str | None:
    """One line for the server's log: the operator's reading of the fault, and SQLite's words
    (which name no case), or None when `error` is not a database fault."""
    line = database_fault(error)
    if line is None:
        return None
    diag = getattr(error, "diag", None)
    if diag is not None:
        # PostgreSQL: its primary message and code only. The detail may quote a row's values.
        said = " ".join(str(diag.message_primary or "").split())
        return f"{line} (PostgreSQL: {type(error).__name__} {diag.sqlstate}: {said})"
    said = " ".join(str(error).split())
    return f"{line} (SQLite: {type(error).__name__}: {said})"
