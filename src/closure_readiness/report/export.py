"""The decision list as CSV or JSON, for auditors and operators."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = (
    "id",
    "case_reference",
    "team",
    "status",
    "closure_reason",
    "signed_by",
    "signed_at",
    "decided_by",
    "decided_at",
    "cautions",
    "exceptions",
    "re_referred",
    "checks_version",
    "content_hash",
)
EXPORT_FORMAT = "closure-readiness/decisions@1"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
_FULL_WIDTH = ("\uff1d", "\uff0b", "\uff0d", "\uff20")  # ＝ ＋ － ＠
"""What makes a spreadsheet read a cell as a formula (OWASP, ASVS 5 1.2.10): the four signs,
tab, carriage return, line feed, NUL, and the full-width signs some spreadsheets also accept."""


def _cell(value: Any) -> Any:
    """Spreadsheets run cells that start like a formula: make such text inert with a leading
    `'` (the OWASP practice: Excel hides it, others show it, the lesser harm). Leading spaces
    do not hide a formula. Our numbers (ids, counts) are not text and stay numbers."""
    if isinstance(value, str) and value.lstrip(" ").startswith(_FORMULA_START + _FULL_WIDTH):
        return "'" + value
    return value


def decisions_csv(rows: Iterable[Mapping[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return buffer.getvalue().encode("utf-8")


def decisions_json(rows: Iterable[Mapping[str, Any]]) -> bytes:
    document = {
        "format": EXPORT_FORMAT,
        "decisions": [{column: row.get(column) for column in COLUMNS} for row in rows],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
