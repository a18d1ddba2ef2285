"""Dates and times as people in England read them: one conversion for the app and both PDFs.

Times are stored in UTC as ISO 8601 text; one stored without its offset is UTC too. Screens show
"28/11/2026 at 14:05" and "28/11/2026"; the printed records keep the longer "30 May 2025 at
11:15 BST" and "4 March 2025", built from the same conversion. A value that is not a time is
shown as stored, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from closure_readiness.core.dates import human

__all__ = [
    "LONDON",
    "NONE_RECORDED",
    "NOT_RECORDED",
    "day",
    "human",
    "in_london",
    "london",
    "london_day",
    "london_time",
    "start_of_day_utc",
]

LONDON = ZoneInfo("Europe/London")
NOT_RECORDED = "not recorded"
NONE_RECORDED = "none recorded"

Stamp = str | dt.datetime | None


def in_london(stamp: str | dt.datetime) -> dt.datetime:
    """A stored time (UTC, with or without its offset) on the clocks in England.

    Raises ValueError for text that is not an ISO time; the formatters below never do.
    """
    moment = dt.datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    if moment.tzinfo is None:  # stored times are UTC even when the offset was dropped
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(LONDON)


def _shown(stamp: Stamp, form: str, missing: str) -> str:
    if stamp is None or stamp == "":
        return missing
    try:
        return format(in_london(stamp), form)
    except ValueError:
        return str(stamp)


def london(stamp: Stamp) -> str:
    """A stored time as screens show it: 28/11/2026 at 14:05 (London time)."""
    return _shown(stamp, "%d/%m/%Y at %H:%M", NOT_RECORDED)


def london_day(stamp: Stamp) -> str:
    """The day of a stored time in England, as dd/mm/yyyy (late evening UTC in summer is
    already the next day here)."""
    return _shown(stamp, "%d/%m/%Y", NOT_RECORDED)


def london_time(stamp: Stamp) -> str:
    """A stored time as the printed records show it: 30 May 2025 at 11:15 BST."""
    if stamp is None or stamp == "":
        return NOT_RECORDED.capitalize()
    try:
        local = in_london(stamp)
    except ValueError:
        return str(stamp)
    return f"{human(local.date())} at {local:%H:%M} {local.tzname()}"


def day(value: dt.date | None) -> str:
    """A calendar date (not a stored time: no conversion) as screens show it: 04/03/2025."""
    return NOT_RECORDED if value is None else f"{value:%d/%m/%Y}"


def start_of_day_utc(value: str | dt.date) -> str | None:
    """The moment a day (an ISO date) starts in England, written as stored times are (UTC,
    ISO 8601), so "signed off on 01/07" means the day the lists show; None for a value that
    is not a date."""
    try:
        day_ = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return dt.datetime.combine(day_, dt.time(), tzinfo=LONDON).astimezone(dt.UTC).isoformat()
