"""The browser tests find fields as people do (issue 10, item 10): by their labels, and by the
form, list entry or region around them where a label repeats; never through the app's widget
keys (`st-key-...` classes) rebuilt in a test, which break whenever the key scheme changes."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEY_CLASS = re.compile(r"st-key-")
"""Streamlit's class for a widget's key: a test that uses it depends on how the app keys."""
KEY_SCHEME = re.compile(r"""["']r["'],\s*str\(|["']g\d+["']|\breview_key\b""")
"""A copy of the wizard's key scheme (r.<review id>.g<generation>....)."""


def test_browser_tests_find_fields_by_what_people_see() -> None:
    offending = {
        path.name: [
            number
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if KEY_CLASS.search(line) or KEY_SCHEME.search(line)
        ]
        for path in sorted(HERE.glob("*.py"))
        if path.name != Path(__file__).name
    }
    assert {name: lines for name, lines in offending.items() if lines} == {}
