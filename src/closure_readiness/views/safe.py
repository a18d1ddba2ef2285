"""Showing text that is not our own safely: Streamlit renders Markdown, and Markdown images are
fetched.

A caseworker's text, or a display name or team set by an administrator, like
`![x](https://example.org/beacon)` would make every viewer's browser call that address,
revealing who read the record. Every value that is not the app's own words (names, teams, case
references, review text, reasons) goes through `escape_markdown` wherever Streamlit renders
Markdown: `st.markdown`, `st.caption`, `st.title`/`header`, alerts, and the labels and help of
buttons, expanders and every other widget. `st.text` shows raw text and needs no escaping.

Two layers, because Streamlit's Markdown has two kinds of hazard:

1. Syntax (images, links, raw HTML, `$` KaTeX, `:red[...]` colour and other directives, headings,
   lists, tables, emphasis, `:material/...:` as typed): every ASCII punctuation character is
   backslash-escaped (CommonMark allows any), and line breaks are kept as hard breaks.
2. Rewrites of the text after parsing, which escapes cannot reach, because they work on the
   text as the reader would see it: GFM autolinks (`http://...`, `www....`, `name@host.tld`),
   Streamlit's shortcodes (`:smile:` emoji, `:material_icon:` icons, `:streamlit:` logo) and
   its typographic arrows (`->`, `--`, `>=` ...). Such a stretch (a web address to the end of its
   word, an e-mail address, a shortcode, an arrow) is shown as inline code instead: exactly as
   typed, copyable character for character (no invisible characters are inserted), in a
   typewriter face that marks it as quoted text and not a link. Inline code is never rewritten
   or rendered, and a rewrite never reaches across it.

A last word ending like the start of a shortcode (`:smile`) is shown the same way, so that a
colon in our own words right after it cannot complete one.
"""

from __future__ import annotations

import re
from functools import lru_cache

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+.!|<>~:$&=\"'^@%;,/?]|(?<![A-Za-z0-9])-)")
"""Markdown-significant ASCII punctuation. A hyphen inside a word (`CR-2024-0117`) starts no
list, rule, table or arrow, so it is left as typed."""
_SPACE = re.compile(r"(\s+)")
_ADDRESS = re.compile(r"https?://|www\.", re.IGNORECASE)
"""GFM autolink literals (found in the text after parsing): linked to the end of the word."""
_EMAIL = re.compile(r"[-.\w+]*@[-\w]+(?:\.[-\w]+)+")
"""GFM e-mail autolinks (and mailto:, xmpp:)."""
_SHORTCODE = re.compile(r":[\w+-]+:")
"""Streamlit's shortcodes: emoji, :material_icon: (:material/icon: as typed), :streamlit:."""
_OPEN_SHORTCODE = re.compile(r":[\w+-]+$")
_TYPOGRAPHIC = frozenset({"<->", "->", "<-", "--", ">=", "<=", "~="})
_BACKTICKS = re.compile(r"(`+)")


def _plain(text: str) -> str:
    return _PUNCTUATION.sub(r"\\\1", text)


def _code(stretch: str) -> str:
    """`stretch` as inline code. A backtick cannot sit inside a one-backtick code span and a
    run of three at a line's start would open a code block: backticks are escaped between
    code spans instead."""
    parts = _BACKTICKS.split(stretch)
    return "".join(
        "\\`" * len(part) if part.startswith("`") else f"`{part}`" for part in parts if part
    )


def _first_rewrite(word: str, *, last: bool) -> tuple[int, int] | None:
    """Where the first stretch Streamlit would rewrite starts and ends in `word`."""
    found: list[tuple[int, int]] = []
    to_end = [_ADDRESS, _OPEN_SHORTCODE] if last else [_ADDRESS]  # these run to the word's end
    for pattern in to_end:
        if match := pattern.search(word):
            found.append((match.start(), len(word)))
    for pattern in (_EMAIL, _SHORTCODE):
        if match := pattern.search(word):
            found.append(match.span())
    return min(found) if found else None


def _word(word: str, *, last: bool) -> str:
    if word in _TYPOGRAPHIC:
        return _code(word)
    shown: list[str] = []
    while word:
        span = _first_rewrite(word, last=last)
        if span is None:
            shown.append(_plain(word))
            break
        start, end = span
        shown.append(_plain(word[:start]) + _code(word[start:end]))
        word = word[end:]
    return "".join(shown)


def escape_markdown(text: str) -> str:
    """`text` as Markdown that shows it as typed: nothing rendered, linked, fetched or styled.

    Every Markdown-significant character is backslash-escaped, a stretch Streamlit would
    rewrite after parsing is shown as inline code, and line breaks stay visible."""
    return _escaped(str(text))


@lru_cache(maxsize=4096)
def _escaped(text: str) -> str:
    """Memoised: a page escapes the same findings and labels on every rerun (2,500 calls and
    about a tenth of a wizard click's script time before). Bounded, and only in this process's
    memory, which holds the same text in its sessions anyway."""
    pieces = _SPACE.split(text)
    last = max((i for i, piece in enumerate(pieces) if piece and not piece.isspace()), default=-1)
    shown: list[str] = []
    for index, piece in enumerate(pieces):
        if piece.isspace():
            shown.append(piece.replace("\n", "  \n"))
        elif piece:
            shown.append(_word(piece, last=index == last))
    return "".join(shown)
