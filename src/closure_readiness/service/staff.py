"""Staff accounts: who may sign in, with which role and team. Administered from the command line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from closure_readiness.core.text import ID_PATTERN, unsafe_text_problem
from closure_readiness.core.workflow import STAFF_ROLES
from closure_readiness.service.context import (
    SYSTEM,
    Context,
    InvalidInput,
    NotAllowed,
    NotFound,
    Principal,
    Role,
)
from closure_readiness.storage import audit, repositories
from closure_readiness.storage.database import ConstraintRefused, reading, writing


@dataclass(frozen=True)
class StaffMember:
    staff_id: str
    issuer: str
    subject: str
    display_name: str
    role: Role
    team: str
    active: bool

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StaffMember:
        return cls(
            staff_id=row["id"],
            issuer=row["issuer"],
            subject=row["subject"],
            display_name=row["display_name"],
            role=Role(row["role"]),
            team=row["team"],
            active=bool(row["active"]),
        )

    def principal(self) -> Principal:
        return Principal(self.staff_id, self.display_name, self.role, self.team)


NEEDS_TEAM = (Role.CASEWORKER, Role.TEAM_MANAGER)


def _staff_role(value: Role | str) -> Role:
    role = next((r for r in STAFF_ROLES if r.value == value), None)
    if role is None:
        raise InvalidInput(f"Role must be one of: {', '.join(r.value for r in STAFF_ROLES)}.")
    return role


def _require_admin(principal: Principal) -> None:
    if principal.role is not Role.ADMIN:
        raise NotAllowed("Only an administrator can manage staff accounts.")


def _clean(value: str, what: str, *, limit: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > limit or unsafe_text_problem(value, multiline=False):
        raise InvalidInput(f"Enter the {what} (1 to {limit} printable characters).")
    return value


def _team(role: Role | str, team: str) -> str:
    """The team of an account: caseworkers and team managers need one (a blank team is never
    "every team"); anyone's team, when given, is a printable name."""
    team = team.strip()
    if Role(role) in NEEDS_TEAM and not team:
        raise InvalidInput("Caseworkers and team managers need a team.")
    return _clean(team, "team name") if team else team


def _new_staff_id(staff_id: str) -> str:
    if not ID_PATTERN.fullmatch(staff_id):
        raise InvalidInput("Staff ids are 1 to 24 letters, numbers, hyphens or underscores.")
    if staff_id.casefold() == SYSTEM.staff_id:
        raise InvalidInput(
            f"The staff id {staff_id} is reserved for the command line; choose another."
        )
    return staff_id


def add_staff(
    ctx: Context,
    principal: Principal,
    *,
    staff_id: str,
    issuer: str,
    subject: str,
    display_name: str,
    role: Role | str,
    team: str = "",
) -> StaffMember:
    _require_admin(principal)
    staff_id = _new_staff_id(staff_id)
    role = _staff_role(role)
    team = _team(role, team)
    row = {
        "id": staff_id,
        "issuer": _clean(issuer, "issuer", limit=500),
        "subject": _clean(subject, "subject", limit=500),
        "display_name": _clean(display_name, "display name"),
        "role": role.value,
        "team": team,
        "active": 1,
        "created_at": ctx.now().isoformat(),
    }
    try:
        with writing(ctx.db_path) as db:
            repositories.insert_staff(db, row)
            audit.append(
                db,
                at=ctx.now(),
                actor=principal.staff_id,
                action="staff_added",
                # Everything a reader relies on, so verify can compare the staff row with it.
                detail={
                    "staff_id": staff_id,
                    **{k: row[k] for k in ("role", "team", "display_name", "issuer", "subject")},
                },
            )
    except ConstraintRefused:
        raise InvalidInput(
            f"A member of staff with id {staff_id} or the same sign-in identity already exists."
        ) from None
    return StaffMember.from_row(row)


def list_staff(ctx: Context, principal: Principal) -> list[StaffMember]:
    _require_admin(principal)
    with reading(ctx.db_path) as db:
        return [StaffMember.from_row(row) for row in repositories.list_staff(db)]


def update_staff(
    ctx: Context,
    principal: Principal,
    staff_id: str,
    *,
    role: Role | str | None = None,
    team: str | None = None,
    active: bool | None = None,
) -> StaffMember:
    _require_admin(principal)
    changes: dict[str, Any] = {}
    if role is not None:
        changes["role"] = _staff_role(role).value
    if team is not None:
        changes["team"] = team.strip()
    if active is not None:
        changes["active"] = int(active)
    with writing(ctx.db_path) as db:
        current = repositories.get_staff(db, staff_id)
        if current is None:
            raise NotFound(f"No member of staff has the id {staff_id}.")
        after = {**current, **changes}
        if "team" in changes or "role" in changes:  # disabling always works
            _team(after["role"], str(after["team"]))
        if changes:
            repositories.update_staff(db, staff_id, **changes)
            audit.append(
                db,
                at=ctx.now(),
                actor=principal.staff_id,
                action="staff_changed",
                detail={"staff_id": staff_id, **changes},
            )
        row = repositories.get_staff(db, staff_id)
    assert row is not None
    return StaffMember.from_row(row)


def ensure_active(db: Any, principal: Principal) -> dict[str, Any] | None:
    """Re-read the principal inside the transaction: a disabled or moved account acts no more.
    Their staff row as read (None for the command line's SYSTEM)."""
    if principal.staff_id == SYSTEM.staff_id:
        return None
    row = repositories.get_staff(db, principal.staff_id)
    if row is None or not row["active"]:
        raise NotAllowed("Your account has been disabled. Ask your system administrator.")
    if row["role"] != principal.role.value or row["team"] != principal.team:
        raise NotAllowed("Your role or team has changed; sign in again.")
    refuse_without_team(principal)
    return row


def refuse_without_team(principal: Principal) -> None:
    """A caseworker or manager stored with a blank team (before the rule, or by hand) acts on
    no team: a blank team is never read as every team."""
    if principal.role in NEEDS_TEAM and not principal.team.strip():
        raise NotAllowed(
            "Your account has no team, so you cannot see any reviews or decisions. Ask your "
            "system administrator to set your team."
        )


def identify(ctx: Context, *, issuer: str, subject: str) -> Principal:
    """The principal for a signed-in identity, checked on every request.

    Raises NotAllowed for an identity the staff table does not know or has disabled.
    """
    with reading(ctx.db_path) as db:
        row = repositories.staff_by_identity(db, issuer, subject)
    if row is None:
        raise NotAllowed(
            "Your account is not set up for Closure Readiness. Ask your system administrator "
            "to add you."
        )
    member = StaffMember.from_row(row)
    if not member.active:
        raise NotAllowed("Your account has been disabled. Ask your system administrator.")
    refuse_without_team(member.principal())
    return member.principal()
