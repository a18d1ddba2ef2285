"""Showing free text safely: Streamlit renders Markdown, and Markdown images are fetched.

A caseworker's text like `![x](https://example.org/beacon)` would make every viewer's browser
call that address, revealing who read the record. Every piece of stored text goes through
`escape_markdown` (or `st.text`), so it shows as typed and fetches nothing.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&=\"'^@%;,/?])")


def escape_markdown(text: str) -> str:
    """Backslash-escape every Markdown-significant character (CommonMark allows any ASCII
    punctuation to be escaped), and keep line breaks visible."""
    escaped = _PUNCTUATION.sub(r"\\\1", text)
    return escaped.replace("\n", "  \n")
