"""Changing a database as someone holding the file would (raw SQL, safeguards dropped)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from closure_readiness.storage.integrity import _expected_schema


def tamper(path: Path, *statements: str) -> None:
    """Run the statements, then put back every trigger they dropped: `verify` must see the
    change itself, not only a missing safeguard."""
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        held = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        for (kind, name), sql in _expected_schema(None).items():
            if kind == "trigger" and name not in held:
                conn.execute(sql)
        conn.commit()
    finally:
        conn.close()
