"""The check registry: checks are plain functions registered with a decorator, as in Django."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from closure_readiness.checks.questions import THEME_KEYS
from closure_readiness.checks.thresholds import Thresholds
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import Route
from closure_readiness.core.workflow import Level

CHECK_ID = re.compile(r"^(?P<theme>[a-z]+)\.(?P<letter>[EWI])(?P<number>\d{3})$")
LEVELS = {"E": Level.BLOCKER, "W": Level.CAUTION, "I": Level.NOTE}
"""A check id's letter says its level: E001 a blocker, W001 a caution, I001 a note."""


ALL_ROUTES = frozenset(Route)
CHANGE = frozenset({Route.CHANGE})
"""Over-optimism's questions: they apply where services end because things changed."""
NOT_ENDED = ALL_ROUTES - {Route.ENDED}
"""Every route where the young person goes on living with the risk and someone goes on helping."""
STAYING = frozenset({Route.CHANGE, Route.TRANSITION, Route.ASSESSMENT})
"""Routes where this authority's plan is the last one: a transfer hands the plan over instead."""
LOCAL_END = frozenset({Route.CHANGE, Route.ASSESSMENT})
"""Routes where support steps down locally (no receiving authority or adult service)."""


@dataclass(frozen=True)
class Problem:
    """What a check returns for each thing it finds wrong. The runner adds id and level."""

    message: str
    evidence: tuple[str, ...] = ()
    subject: str = ""
    """What the finding is about (an agency, a need), so two findings of one check differ."""
    facts: tuple[tuple[str, str], ...] = ()
    """The facts the check read, as (what, value) pairs: dates, statuses, counts. They are part
    of the finding's key, so a manager's exception lapses when any of them changes."""


CheckFunction = Callable[..., list[Problem]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    question: str
    satisfied_by: str
    hint: str
    overridable: bool
    function: CheckFunction = field(repr=False, compare=False)
    routes: frozenset[Route] = ALL_ROUTES
    """The closure routes the check applies to; on any other route it is not applicable."""
    reads: tuple[str, ...] = ()
    """Answers the check rests on ("exit.lead_role"): shown to the manager when it passes."""
    source: str = ""
    """The published review or guidance the check comes from, for the check reference."""

    @property
    def theme(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def level(self) -> Level:
        return LEVELS[self.id.split(".", 1)[1][0]]

    def run(self, review: Review, *, as_of: dt.date, thresholds: Thresholds) -> list[Problem]:
        return self.function(review, as_of=as_of, thresholds=thresholds)


class Registry:
    """Checks in wizard order: theme by theme, blockers before cautions before notes."""

    def __init__(self) -> None:
        self._checks: dict[str, CheckSpec] = {}

    def register(
        self,
        *,
        id: str,
        title: str,
        question: str,
        satisfied_by: str,
        hint: str,
        overridable: bool = False,
        routes: frozenset[Route] | set[Route] = ALL_ROUTES,
        reads: tuple[str, ...] = (),
        source: str = "",
    ) -> Callable[[CheckFunction], CheckFunction]:
        if not CHECK_ID.fullmatch(id):
            raise ValueError(f"check id {id!r} is not of the form theme.E001")
        if CHECK_ID.fullmatch(id)["theme"] not in THEME_KEYS:  # type: ignore[index]
            raise ValueError(f"check id {id}: unknown theme")
        if id in self._checks:
            raise ValueError(f"check id {id} is registered twice; ids are never reused")
        if overridable and LEVELS[id.split(".")[1][0]] is not Level.BLOCKER:
            raise ValueError(f"{id}: only blockers can be overridable")

        def decorate(function: CheckFunction) -> CheckFunction:
            self._checks[id] = CheckSpec(
                id=id,
                title=title,
                question=question,
                satisfied_by=satisfied_by,
                hint=hint,
                overridable=overridable,
                function=function,
                routes=frozenset(routes),
                reads=reads,
                source=source,
            )
            return function

        return decorate

    def __iter__(self) -> Iterator[CheckSpec]:
        return iter(sorted(self._checks.values(), key=_wizard_order))

    def __len__(self) -> int:
        return len(self._checks)

    def __getitem__(self, check_id: str) -> CheckSpec:
        return self._checks[check_id]

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def ids(self) -> list[str]:
        return [spec.id for spec in self]

    def for_theme(self, theme: str) -> list[CheckSpec]:
        return [spec for spec in self if spec.theme == theme]


def _wizard_order(spec: CheckSpec) -> tuple[int, int, str]:
    letter = spec.id.split(".", 1)[1][0]
    return THEME_KEYS.index(spec.theme), "EWI".index(letter), spec.id


REGISTRY = Registry()
check = REGISTRY.register
