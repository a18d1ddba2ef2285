"""The pages each role sees, built the same way wherever a page is linked to."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from closure_readiness.service.context import Principal, Role

_PAGES: dict[str, tuple[str, str, str]] = {
    # name: (module, title, icon)
    "my_reviews": ("my_reviews", "My reviews", ":material/list_alt:"),
    "start_review": ("start_review", "Start a review", ":material/add_circle:"),
    "review": ("review", "Review", ":material/fact_check:"),
    "queue": ("queue", "Waiting for me", ":material/inbox:"),
    "team_reviews": ("team_reviews", "Team reviews", ":material/groups:"),
    "decision": ("decision", "Decision", ":material/gavel:"),
    "decisions": ("decisions", "Decisions", ":material/search:"),
    "learning": ("learning", "Learning", ":material/insights:"),
    "reference": ("reference", "Check reference", ":material/menu_book:"),
}

_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.CASEWORKER: ("my_reviews", "start_review", "review", "reference"),
    Role.TEAM_MANAGER: ("queue", "team_reviews", "decision", "review", "reference"),
    Role.AUDITOR: ("decisions", "decision", "learning", "reference"),
}


SCRIPTS = Path(__file__).resolve().parent / "scripts"


def page(name: str) -> st.Page:
    """A page is a tiny script calling its view (AppTest can switch to it by path)."""
    module, title, icon = _PAGES[name]
    return st.Page(SCRIPTS / f"{module}.py", title=title, icon=icon, url_path=name)


def pages_for(principal: Principal) -> list[st.Page]:
    names = _BY_ROLE.get(principal.role, ())
    return [page(name) if name not in _HIDDEN else hidden(name) for name in names]


SHOWN_DECISION = "decision.shown"
"""Where the decision page keeps the decision it shows, read once per visit (a view is an
audit event); app.py lets it go when the person leaves the page."""

# Pages opened from a list with a query parameter: not in the menu on their own.
_HIDDEN = frozenset({"review", "decision"})


def hidden(name: str) -> st.Page:
    module, title, icon = _PAGES[name]
    return st.Page(
        SCRIPTS / f"{module}.py", title=title, icon=icon, url_path=name, visibility="hidden"
    )


def go(name: str, **query: str | int) -> None:
    st.switch_page(page(name), query_params={k: str(v) for k, v in query.items()})


_ID = re.compile(r"[0-9]{1,18}")
"""A record's number in an address: ASCII digits only, at most 18 (SQLite's integers hold
19), so neither int() (which reads Arabic-Indic and fullwidth digits, and refuses "²") nor the
database (which overflows at 2**63) ever sees anything else."""


def parse_id(raw: str | None) -> int | None:
    """The number `raw` from the address names (?decision=12), or None when it names none."""
    if raw is None or not _ID.fullmatch(raw):
        return None
    return int(raw)
