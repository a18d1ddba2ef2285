"""Safe text and identifier types shared by every model, with messages a caseworker understands."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 4000
CASE_REF_MAX = 24
"""The longest case reference `CaseRef` accepts (see CASE_REF_PATTERN)."""
YEAR_MONTH_MAX = len("YYYY-MM")
TYPED_DATE_MAX = 20
"""Room in a typed-date box for the forms it tidies (14/03/2025, 1-3-2025, 14032025,
2025-03-14) with stray spaces."""

# Bidirectional overrides and isolates can make stored text display differently from what it says.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ALLOWED_CONTROLS = frozenset("\n\t")


_BIDI_MESSAGE = (
    "Remove the hidden text-direction character (U+{code}); "
    "it can make the text read differently from what it says."
)
_SURROGATE_MESSAGE = "The text contains a broken character (U+{code}); retype it."
_CONTROL_MESSAGE = "The text contains an invisible control character (U+{code}); remove it."


# The same characters as one pattern (category Cc is exactly U+0000-U+001F and U+007F-U+009F),
# so that safe text, nearly all of it, is passed by one scan in C, not a loop per character.
_UNSAFE_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_IN_PARAGRAPH = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _first_unsafe(value: str, *, multiline: bool) -> tuple[str, str] | None:
    """The message template and the code of the first character that can make stored text
    read differently from what it says (or break it), or None."""
    found = (_UNSAFE_IN_PARAGRAPH if multiline else _UNSAFE_IN_LINE).search(value)
    if found is None:
        return None
    for char in value[found.start() :]:
        code = f"{ord(char):04X}"
        if char in _BIDI_CONTROLS:
            return _BIDI_MESSAGE, code
        if 0xD800 <= ord(char) <= 0xDFFF:
            return _SURROGATE_MESSAGE, code
        if unicodedata.category(char) == "Cc" and not (multiline and char in _ALLOWED_CONTROLS):
            return _CONTROL_MESSAGE, code
    return None


def unsafe_text_problem(value: str, *, multiline: bool = True) -> str | None:
    """What is wrong with free text under the model's text rules (control characters, bidi
    overrides and isolates, lone surrogates), in plain words; None when it is safe. For free
    text that is not part of a model (reasons given in the workflow)."""
    found = _first_unsafe(value, multiline=multiline)
    return None if found is None else found[0].format(code=found[1])


def _refuse_unsafe_characters(value: str, *, multiline: bool) -> str:
    found = _first_unsafe(value, multiline=multiline)
    if found is not None:
        raise PydanticCustomError("unsafe_text", found[0], {"code": found[1]})
    return value


def _short(value: str) -> str:
    return _refuse_unsafe_characters(value, multiline=False)


def _long(value: str) -> str:
    return _refuse_unsafe_characters(value, multiline=True)


ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=SHORT_TEXT_MAX),
    AfterValidator(_short),
]
"""One line of free text (a service name, a role). May be empty."""

LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=LONG_TEXT_MAX),
    AfterValidator(_long),
]
"""A paragraph of free text (what evidence shows, a rationale). May be empty."""

CASE_REF_PATTERN = re.compile(rf"^[A-Z0-9][A-Z0-9/-]{{2,{CASE_REF_MAX - 1}}}$")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$")
YEAR_MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _case_ref(value: str) -> str:
    value = value.strip().upper()
    if not CASE_REF_PATTERN.fullmatch(value):
        raise PydanticCustomError(
            "case_reference",
            "Enter the case reference from the case record (3 to 24 letters, numbers, "
            "hyphens or slashes, for example CR-2024-0173); never a name.",
        )
    return value


def _record_id(value: str) -> str:
    value = value.strip()
    if not ID_PATTERN.fullmatch(value):
        raise PydanticCustomError(
            "record_id",
            "Use 1 to 24 letters, numbers, hyphens or underscores for the id (for example E1).",
        )
    return value


def _year_month(value: str) -> str:
    value = value.strip()
    if not YEAR_MONTH_PATTERN.fullmatch(value):
        raise PydanticCustomError(
            "year_month", "Enter the month of birth as year and month, for example 2009-04."
        )
    return value


CaseRef = Annotated[str, AfterValidator(_case_ref)]
"""A case reference from the case record. Never a name."""

RecordId = Annotated[str, AfterValidator(_record_id)]
"""The id of an evidence item or incident within one review."""

YearMonth = Annotated[str, AfterValidator(_year_month)]
"""A month as YYYY-MM (birth month: enough for age, less identifying than a date)."""


# Words people type to get past a required box. Free text explains; it never satisfies a check,
# and these do not even explain (design principle 1).
_PLACEHOLDERS = frozenset(
    {
        "tbc",
        "tba",
        "tbd",
        "to be confirmed",
        "to be decided",
        "to be arranged",
        "to follow",
        "na",
        "n a",
        "not applicable",
        "none",
        "nil",
        "no",
        "nothing",
        "nobody",
        "no one",
        "unknown",
        "not known",
        "dont know",
        "do not know",
        "x",
        "xx",
        "xxx",
        "todo",
        "to do",
        "pending",
        "awaiting",
        "see notes",
        "see above",
        "as above",
        "same",
        "same as above",
        "various",
        "etc",
        "test",
        "asdf",
        "ok",
        "fine",
        "yes",
        "done",
        "n k",
        "nk",
        "tbc later",
    }
)
_NOT_LETTERS = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=4096)  # the checks ask about the same few strings many times
def is_placeholder(text: str) -> bool:
    """Empty, punctuation only, or a stand-in such as "tbc", "n/a", "-" or "?"."""
    words = _NOT_LETTERS.sub(" ", text.casefold()).strip()
    return not words or words in _PLACEHOLDERS


def meaningful(text: str) -> bool:
    """Text that says something, rather than holding a required box open."""
    return not is_placeholder(text)
