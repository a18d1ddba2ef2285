"""Long lists drawn a page at a time: a manager's queue can hold dozens of cards, each a dozen
elements, and drawing them all made every visit to the queue slow for everyone on the server
(docs/decisions.md #71).

`page_of` draws the caption saying which part of the list is shown and returns that part;
`page_buttons` draws the buttons to move through it, after the list. A list that fits on one
page draws neither. The page number lives in the session, per list, and is brought back in
range when the list shrinks (a card countersigned from the last page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import streamlit as st

PAGE_SIZE = 10

T = TypeVar("T")


def _key(name: str) -> str:
    return f"paging.{name}"


def _current(name: str, count: int, size: int) -> int:
    last = max(0, (count - 1) // size)
    return min(max(0, int(st.session_state.get(_key(name), 0))), last)


def page_of(items: Sequence[T], name: str, *, noun: str, size: int = PAGE_SIZE) -> Sequence[T]:
    """The part of `items` to draw now, after a caption saying which part it is."""
    if len(items) <= size:
        return items
    start = _current(name, len(items), size) * size
    end = min(start + size, len(items))
    st.caption(f"Showing {start + 1} to {end} of {len(items)} {noun}, longest waiting first.")
    return items[start:end]


def _move(name: str, to: int) -> None:
    st.session_state[_key(name)] = to


def page_buttons(count: int, name: str, *, noun: str, size: int = PAGE_SIZE) -> None:
    """Previous and next buttons for a list of `count` items, if it is longer than a page."""
    if count <= size:
        return
    current = _current(name, count, size)
    last = (count - 1) // size
    previous, following = st.columns(2)
    # A button with nothing to move to names no number ("Previous 10" on the first page, or
    # "Next 10" on the last, would promise items that are not there).
    previous.button(
        f"Previous {size} {noun}" if current > 0 else f"Previous {noun}",
        key=f"{_key(name)}.previous",
        disabled=current == 0,
        on_click=_move,
        args=(name, current - 1),
    )
    following.button(
        f"Next {min(size, count - (current + 1) * size)} {noun}"
        if current < last
        else f"Next {noun}",
        key=f"{_key(name)}.next",
        disabled=current == last,
        on_click=_move,
        args=(name, current + 1),
    )
