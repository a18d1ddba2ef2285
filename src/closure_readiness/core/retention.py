"""Retention: how long a closure's records are kept, by type of involvement (decision #54).

A closure decision is part of the young person's social care record, so it is kept for as long
as the council's retention schedule keeps that record, then disposed of. Each type of
involvement has a retention class: kept until a birthday (the young person's age), and for at
least a number of years after the case closed, whichever is later. The defaults follow the
common shape of English councils' schedules for children's social care records; they are a
starting point that the council's records manager confirms or replaces (CLOSURE_RETENTION_FILE,
docs/operations.md). The class and the disposal date are sealed into each decision at sign-off
under the schedule in force then, so a later change of schedule does not move a sealed date.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from closure_readiness.core import words
from closure_readiness.core.vocabulary import Involvement


class RetentionClass(BaseModel):
    """How long the records of one type of involvement are kept."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    keep_until_age: int = Field(ge=18, le=100, title="kept until the young person is this age")
    years_after_closure: int = Field(
        ge=0, le=100, title="and at least this many years after closure"
    )

    def describe(self) -> str:
        """The class in words, for the decision page and the record."""
        years = "year" if self.years_after_closure == 1 else "years"
        return (
            f"kept until the young person's {_ordinal(self.keep_until_age)} birthday, and at "
            f"least {self.years_after_closure} {years} after the case closed"
        )

    def dispose_on(self, *, birth_month: str, closed_on: dt.date) -> dt.date:
        """The first day the records may be disposed of: after the birthday (taken as the
        last day of the month of birth, since only the month is recorded) and after the
        minimum time since closure, whichever is later."""
        year, month = (int(part) for part in birth_month.split("-"))
        birthday = _add_years(_last_day(year, month), self.keep_until_age)
        after_closure = _add_years(closed_on, self.years_after_closure)
        return max(birthday, after_closure) + dt.timedelta(days=1)


def sealed_words(sealed: Any) -> str:
    """A decision's sealed retention in words: "Kept until 30/06/2034 (Child in need: kept
    until ...)"; for a decision sealed before retention was recorded, what decides instead."""
    try:
        kept = RetentionClass(
            keep_until_age=sealed["keep_until_age"],
            years_after_closure=sealed["years_after_closure"],
        )
        involvement = Involvement(sealed["involvement"])
        last_day = dt.date.fromisoformat(str(sealed["dispose_on"])) - dt.timedelta(days=1)
    except (TypeError, KeyError, ValueError):
        return (
            "Not sealed (signed off before retention was recorded): the council's retention "
            "schedule in force when disposal runs decides"
        )
    return f"Kept until {words.day(last_day)} ({involvement.label}: {kept.describe()})"


class RetentionPolicy(BaseModel):
    """The council's retention schedule: one class per type of involvement."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    classes: dict[Involvement, RetentionClass]

    @model_validator(mode="after")
    def _every_involvement(self) -> RetentionPolicy:
        missing = [i.label for i in Involvement if i not in self.classes]
        if missing:
            raise ValueError("no retention class for: " + ", ".join(missing))
        return self

    def class_for(self, involvement: Involvement) -> RetentionClass:
        return self.classes[involvement]


DEFAULT_POLICY = RetentionPolicy(
    classes={
        Involvement.EARLY_HELP: RetentionClass(keep_until_age=25, years_after_closure=6),
        Involvement.CHILD_IN_NEED: RetentionClass(keep_until_age=25, years_after_closure=6),
        Involvement.CHILD_PROTECTION: RetentionClass(keep_until_age=25, years_after_closure=35),
        Involvement.YOUTH_JUSTICE: RetentionClass(keep_until_age=25, years_after_closure=6),
        Involvement.OTHER: RetentionClass(keep_until_age=25, years_after_closure=6),
    }
)
"""The defaults (docs/operations.md, "Retention"): every record until the 25th birthday and at
least 6 years after closure; child protection at least 35 years after closure."""


class RetentionFileProblem(ValueError):
    """The retention schedule file cannot be used; the message says why, in plain words."""


def read_policy(path: Path) -> RetentionPolicy:
    """The schedule in a TOML file: one table per type of involvement, e.g.

    [child_protection]
    keep_until_age = 25
    years_after_closure = 35
    """
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise RetentionFileProblem(
            f"{path}: the retention schedule could not be read ({error.strerror})."
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise RetentionFileProblem(
            f"{path}: the retention schedule is not TOML ({error})."
        ) from None
    known = {i.value: i for i in Involvement}
    unknown = [name for name in data if name not in known]
    if unknown:
        raise RetentionFileProblem(
            f"{path}: the retention schedule names a type of involvement this system does not "
            f"have: {', '.join(unknown)} (it has {', '.join(known)})."
        )
    try:
        return RetentionPolicy(classes={known[name]: value for name, value in data.items()})
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'][1:]) or 'the file'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in error.errors(include_url=False)
        )
        raise RetentionFileProblem(
            f"{path}: the retention schedule is not valid: {problems}."
        ) from None


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _last_day(year: int, month: int) -> dt.date:
    first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


def _add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
