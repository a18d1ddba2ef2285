"""Date arithmetic the checks share. No clock reads: every function takes its dates."""

from __future__ import annotations

import datetime as dt


def weeks(n: int) -> dt.timedelta:
    return dt.timedelta(weeks=n)


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The date n working days (Monday to Friday) after day. Bank holidays are not known here."""
    current = day
    remaining = n
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month, months later (clamped to the month's last day)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {day}")


def human(day: dt.date) -> str:
    """A date as people write it: 4 March 2025."""
    return f"{day.day} {day:%B %Y}"
