"""Whether a case reference may start a new review: never a name.

Every case reference is 3 to 24 letters, numbers, hyphens or slashes (`core.text.CaseRef`). A
reference typed for a new review must also pass a council's rule: its own regular expression
(settings, CLOSURE_CASE_REFERENCE_PATTERN) or, by default, one that refuses what reads as a name.

The rule is asked for through pydantic's validation context (`new_reference`), so only input
for a new review is held to it: a stored review whose reference was accepted under an earlier
rule still loads, verifies and upgrades.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticCustomError

RULE_KEY = "case_reference_rule"
"""The validation-context key under which a `NewReference` asks for the rule."""

EXAMPLE = "CR-2024-0117"
_DEFAULT_LEAD = (
    f"A case reference must be your council's reference, such as {EXAMPLE}, never a name."
)
_COUNCIL_LEAD = "A case reference must be your council's reference, never a name."
_COPY = "Copy it from the case record."

NAME_SAMPLES = ("JAYDEN-SMITH", "J-SMITH", "JSMITH", "SMITH/JAYDEN")
"""Names as a reference would hold them (in capitals): a council's pattern must refuse them all."""

_LETTERS = re.compile(r"[A-Za-z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATOR = re.compile(r"[\s\-_./\\]*")
_SPACE = re.compile(r"[\s._]+")
_NAME_WORD = re.compile(r"[A-Z][a-z][A-Za-z]*|[A-Z]")
"""A word written as a name is ("Smith", "Jayden") or an initial ("J")."""
_NAME_LETTERS = 3
"""Two words of small letters this long or longer, side by side, read as a name."""


@dataclass(frozen=True)
class NewReference:
    """The rule for a reference typed for a new review: a council's pattern, or the default."""

    pattern: str | None = None


def new_reference(pattern: str | None = None) -> dict[str, Any]:
    """The validation context that holds a case reference to the rule for a new review."""
    return {RULE_KEY: NewReference(pattern or None)}


def rule_in(context: object) -> NewReference | None:
    """The rule a validation context asks for, if any."""
    if isinstance(context, dict):
        rule = context.get(RULE_KEY)
        if isinstance(rule, NewReference):
            return rule
    return None


@functools.lru_cache(maxsize=8)
def compiled(pattern: str) -> re.Pattern[str]:
    """A council's pattern, compiled once (raises re.error when it is not a valid pattern)."""
    return re.compile(pattern)


def _words(text: str) -> list[tuple[str, int, int]]:
    """The words of letters in `text`, "JaydenSmith" as two, each with where it starts and ends."""
    words = []
    for run in _LETTERS.finditer(text):
        at = run.start()
        for word in _CAMEL.split(run.group()):
            words.append((word, at, at + len(word)))
            at += len(word)
    return words


def written_like_a_name(text: str) -> bool:
    """Two words in a row written the way a name is: "Jayden-Smith", "J Smith", "JaydenSmith7",
    "jayden smith" (small letters with a space between) or "jayden-smith-2" (two words of small
    letters, each of three or more, whatever joins them).

    Only how the letters are written tells a name from a reference's words ("CR-SOUTH-0001"
    has two words of letters too), so this looks at the reference as it was typed. A
    reference's letters are a short prefix or written in capitals: "cr-south-0001" passes.
    """
    words = _words(text)
    for (first, _, end), (second, start, _) in itertools.pairwise(words):
        between = text[end:start]
        if not _SEPARATOR.fullmatch(between):
            continue  # a number between the words: "CR-2024-ABC"
        if (
            _NAME_WORD.fullmatch(first)
            and _NAME_WORD.fullmatch(second)
            and max(len(first), len(second)) > 1
        ):
            return True
        small = first.islower() and second.islower()
        if small and (_SPACE.fullmatch(between) or min(len(first), len(second)) >= _NAME_LETTERS):
            return True
    return False


def name_problem(typed: object, rule: NewReference) -> str | None:
    """The plain message when what was typed reads as a name, or None."""
    if not isinstance(typed, str) or not written_like_a_name(typed):
        return None
    lead = _DEFAULT_LEAD if rule.pattern is None else _COUNCIL_LEAD
    return f"{lead} This one is written like a name. {_COPY}"


def form_problem(reference: str, rule: NewReference) -> str | None:
    """Why a normalised reference (upper case) is not in the form the rule asks for, or None."""
    if rule.pattern is not None:
        if compiled(rule.pattern).fullmatch(reference):
            return None
        return f"{_COUNCIL_LEAD} This one is not in the form your council uses. {_COPY}"
    if not any(char.isdigit() for char in reference):
        return f"{_DEFAULT_LEAD} This one has no numbers in it. {_COPY}"
    return None


def refuse_name(typed: object, rule: NewReference | None) -> None:
    """Raise the plain message when what was typed reads as a name (before any other check)."""
    message = None if rule is None else name_problem(typed, rule)
    if message is not None:
        raise PydanticCustomError("case_reference_name", message)


def refuse_wrong_form(reference: str, rule: NewReference | None) -> str:
    """The reference, or a validation error saying in plain words why it cannot be used."""
    message = None if rule is None else form_problem(reference, rule)
    if message is not None:
        raise PydanticCustomError("case_reference_form", message)
    return reference
