"""Free text given outside the review model (the reasons of the workflow), held to the model's
text rules (`core.text`): written, not too long, nothing that makes it read differently from
what it says."""

from __future__ import annotations

from closure_readiness.core.text import LONG_TEXT_MAX, unsafe_text_problem
from closure_readiness.service.context import InvalidInput


def free_text(text: str, what: str, *, limit: int = LONG_TEXT_MAX) -> str:
    """The text, stripped, or InvalidInput naming `what` in plain words ("reason for
    withdrawing the review"): left blank, longer than `limit`, or holding a control character,
    a hidden text-direction character or a broken (lone surrogate) character."""
    text = text.strip()
    if not text:
        raise InvalidInput(f"Write the {what}.")
    if len(text) > limit:
        raise InvalidInput(f"Shorten the {what} to at most {limit} characters.")
    problem = unsafe_text_problem(text)
    if problem is not None:
        raise InvalidInput(f"{what[:1].upper()}{what[1:]}: {problem}")
    return text
