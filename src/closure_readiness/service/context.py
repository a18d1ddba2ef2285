"""What every use case needs: where the data is, the thresholds, the clock, and who is asking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from closure_readiness.checks import DEFAULT_THRESHOLDS, Thresholds
from closure_readiness.core.errors import FieldProblem
from closure_readiness.core.location import Store
from closure_readiness.core.retention import DEFAULT_POLICY, RetentionPolicy
from closure_readiness.core.workflow import Role as Role  # the service's callers name roles here


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Context:
    db_path: Store
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    clock: Callable[[], dt.datetime] = utc_now
    case_reference_pattern: str | None = None
    """The council's case reference form for a new review (settings); None: the default rule."""
    separate_exception_and_countersign: bool = True
    """Separation of duties (settings): a manager who granted an exception a sealed decision
    relies on does not countersign it."""
    retention: RetentionPolicy = DEFAULT_POLICY
    """The council's retention schedule (settings): sealed into each decision at sign-off."""

    def now(self) -> dt.datetime:
        return self.clock().astimezone(dt.UTC)


@dataclass(frozen=True)
class Principal:
    """The signed-in member of staff, as the staff table says on this request."""

    staff_id: str
    display_name: str
    role: Role
    team: str


SYSTEM = Principal(staff_id="system", display_name="Command line", role=Role.ADMIN, team="")
"""The operator at the command line (staff administration, seeding, backups)."""


class ServiceError(Exception):
    """A refusal with a message fit to show the person who asked."""

    def __init__(self, message: str, *, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class NotAllowed(ServiceError):
    """Your role or team does not allow this."""


class NotFound(ServiceError):
    """No such review, decision or member of staff (or not one you may see)."""


class Refused(ServiceError):
    """The workflow does not allow this now (the gate)."""

    def __init__(self, message: str, *, blocking: list[str] | None = None) -> None:
        super().__init__(message)
        self.blocking = blocking or []


class Conflict(ServiceError):
    """Someone else changed this since you loaded it."""


class InvalidInput(ServiceError):
    """The input does not make a valid record; `problems` names each field."""
