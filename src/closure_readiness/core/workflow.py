"""The closure workflow's one vocabulary: who may do what to a review in which state.

Review statuses, decision outcomes, finding levels and exception-request statuses are enums
that carry their words for people. `TRANSITIONS` is the one table of (state, action, role) →
next state: the service asks it before every change, the app asks it before offering a button,
the generated workflow reference prints it, and the state-machine test walks it against the
database's triggers. The values equal the strings stored in SQLite and in sealed documents, so
sealed decisions written before the enums existed read the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CASEWORKER = "caseworker"
    TEAM_MANAGER = "team_manager"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


STAFF_ROLES = (Role.CASEWORKER, Role.TEAM_MANAGER, Role.AUDITOR)
"""The roles a staff account can hold: administration is done at the command line."""


class ReviewStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        """The status as every review page and list says it, to the worker and manager alike."""
        return _REVIEW_WORDS[self]

    @property
    def short(self) -> str:
        """The status short enough for a column in the auditor's decision list."""
        return _REVIEW_SHORT.get(self, _REVIEW_WORDS[self])

    @property
    def editable(self) -> bool:
        return self in EDITABLE

    @property
    def final(self) -> bool:
        return not any(row.state is self for row in TRANSITIONS)


_REVIEW_WORDS = {
    ReviewStatus.DRAFT: "Draft",
    ReviewStatus.RETURNED: "Returned for changes",
    ReviewStatus.SUBMITTED: "Signed off, waiting for countersignature",
    ReviewStatus.APPROVED: "Closure approved",
    ReviewStatus.WITHDRAWN: "Withdrawn",
}
_REVIEW_SHORT = {ReviewStatus.APPROVED: "Approved", ReviewStatus.RETURNED: "Returned"}


class Outcome(StrEnum):
    """What a team manager (or a withdrawal) made of a signed-off decision."""

    APPROVED = "approved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return _OUTCOME_WORDS[self]

    @property
    def status(self) -> ReviewStatus:
        """The review status this outcome leaves behind."""
        return ReviewStatus(self.value)


_OUTCOME_WORDS = {
    Outcome.APPROVED: "closure approved (countersigned)",
    Outcome.RETURNED: "returned to the caseworker",
    Outcome.WITHDRAWN: "withdrawn",
}

DECISION_STATUSES: tuple[ReviewStatus, ...] = (
    ReviewStatus.SUBMITTED,
    ReviewStatus.APPROVED,
    ReviewStatus.RETURNED,
    ReviewStatus.WITHDRAWN,
)
"""What a sealed decision can stand at: signed off and waiting, or one of the outcomes."""


class Level(StrEnum):
    """How much a finding weighs at sign-off."""

    BLOCKER = "blocker"
    CAUTION = "caution"
    NOTE = "note"

    @property
    def label(self) -> str:
        return _LEVEL_WORDS[self][0]

    @property
    def plural(self) -> str:
        return _LEVEL_WORDS[self][1]


_LEVEL_WORDS = {
    Level.BLOCKER: ("Blocker", "Blockers"),
    Level.CAUTION: ("Caution", "Cautions"),
    Level.NOTE: ("Note", "Notes"),
}


class RequestStatus(StrEnum):
    """An exception request's state: a worker asks, a manager grants or declines."""

    PENDING = "pending"
    GRANTED = "granted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return _REQUEST_WORDS[self]


_REQUEST_WORDS = {
    RequestStatus.PENDING: "Waiting for a team manager",
    RequestStatus.GRANTED: "Granted",
    RequestStatus.DECLINED: "Declined",
    RequestStatus.WITHDRAWN: "Withdrawn with the review",
}


class Action(StrEnum):
    EDIT = "edit"
    REQUEST_EXCEPTION = "request_exception"
    DECIDE_EXCEPTION = "decide_exception"
    SIGN_OFF = "sign_off"
    COUNTERSIGN = "countersign"
    RETURN = "return"
    WITHDRAW = "withdraw"

    @property
    def label(self) -> str:
        return _ACTION_WORDS[self]


_ACTION_WORDS = {
    Action.EDIT: "edit the review",
    Action.REQUEST_EXCEPTION: "ask a team manager for an exception",
    Action.DECIDE_EXCEPTION: "grant or decline an exception",
    Action.SIGN_OFF: "sign off the closure",
    Action.COUNTERSIGN: "countersign (approve the closure)",
    Action.RETURN: "return it to the caseworker",
    Action.WITHDRAW: "withdraw it",
}


@dataclass(frozen=True)
class Transition:
    state: ReviewStatus
    action: Action
    role: Role
    to: ReviewStatus
    own_only: bool
    """The caseworker allocated the review only (a manager acts for the whole team)."""


def _rows() -> tuple[Transition, ...]:
    draft, returned, submitted = ReviewStatus.DRAFT, ReviewStatus.RETURNED, ReviewStatus.SUBMITTED
    worker, manager = Role.CASEWORKER, Role.TEAM_MANAGER
    rows: list[Transition] = []
    for state in (draft, returned):
        rows += [
            Transition(state, Action.EDIT, worker, state, own_only=True),
            Transition(state, Action.REQUEST_EXCEPTION, worker, state, own_only=True),
            Transition(state, Action.DECIDE_EXCEPTION, manager, state, own_only=False),
            Transition(state, Action.SIGN_OFF, worker, submitted, own_only=True),
        ]
    rows += [
        Transition(submitted, Action.COUNTERSIGN, manager, ReviewStatus.APPROVED, own_only=False),
        Transition(submitted, Action.RETURN, manager, returned, own_only=False),
    ]
    for state in (draft, returned, submitted):
        rows += [
            Transition(state, Action.WITHDRAW, worker, ReviewStatus.WITHDRAWN, own_only=True),
            Transition(state, Action.WITHDRAW, manager, ReviewStatus.WITHDRAWN, own_only=False),
        ]
    return tuple(rows)


TRANSITIONS: tuple[Transition, ...] = _rows()
"""Every allowed move. Anything not listed is refused; approved and withdrawn are final.
A countersignature is further refused to the member of staff who signed off (separation of
duties), and every action to staff outside the review's team: the service and the triggers
hold those rules, which do not depend on the state."""


def transition(state: str, action: Action, role: Role) -> Transition | None:
    """The row allowing `role` to take `action` on a review in `state`, or None."""
    for row in TRANSITIONS:
        if row.state == state and row.action is action and row.role is role:
            return row
    return None


def rows_for(action: Action, role: Role) -> tuple[Transition, ...]:
    """Every row letting `role` take `action`, whatever the state (empty: never)."""
    return tuple(row for row in TRANSITIONS if row.action is action and row.role is role)


def states_allowing(action: Action, role: Role | None = None) -> frozenset[ReviewStatus]:
    return frozenset(
        row.state
        for row in TRANSITIONS
        if row.action is action and (role is None or row.role is role)
    )


EDITABLE: frozenset[ReviewStatus] = states_allowing(Action.EDIT)


TRIGGERS: dict[Action, tuple[str, ...]] = {
    Action.EDIT: ("reviews_final", "reviews_submitted_content"),
    Action.REQUEST_EXCEPTION: (),
    Action.DECIDE_EXCEPTION: (),
    Action.SIGN_OFF: (
        "decisions_from_open_review",
        "reviews_submitted_needs_decision",
        "decisions_no_update",
        "decisions_no_delete",
        "decisions_no_replace",
    ),
    Action.COUNTERSIGN: (
        "outcomes_not_by_signer",
        "outcomes_hash_seen",
        "outcomes_approved_by_team_manager",
        "reviews_approved_needs_countersign",
        "outcomes_no_replace",
    ),
    Action.RETURN: ("outcomes_no_replace", "outcomes_no_update"),
    Action.WITHDRAW: ("reviews_final", "reviews_no_delete", "outcomes_no_replace"),
}
"""The database triggers (storage/schema.py, by name) that refuse each action's forbidden
moves even when the service is bypassed. Named here as text: core imports no storage, and a
test checks every name against a migrated database."""

FINAL_TRIGGERS: tuple[str, ...] = ("reviews_final", "reviews_no_delete")
"""The triggers that keep an approved or withdrawn review as it is."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(title: str, header: str, rows: list[str]) -> list[str]:
    """A section: its heading, a Markdown table's header and rule, and its rows."""
    columns = header.count("|") - 1
    return ["", f"## {title}", "", header, "|" + "---|" * columns, *rows]


def _state_rows() -> list[str]:
    return [
        f"| `{status.value}` | {_cell(status.label)} | {_cell(status.short)} | "
        f"{'yes' if status.editable else 'no'} | {'yes' if status.final else 'no'} |"
        for status in ReviewStatus
    ]


def _transition_rows() -> list[str]:
    rows = []
    for row in TRANSITIONS:
        whose = "own (allocated) only" if row.own_only else "any in the team"
        triggers = ", ".join(f"`{name}`" for name in TRIGGERS[row.action]) or "service only"
        rows.append(
            f"| `{row.state.value}` | {_cell(row.action.label)} (`{row.action.value}`) | "
            f"{row.role.label} | `{row.to.value}` | {whose} | {triggers} |"
        )
    return rows


def _final_note() -> list[str]:
    final = ", ".join(f"`{s.value}`" for s in ReviewStatus if s.final)
    return [
        "",
        f"Final states ({final}) allow nothing; "
        + " and ".join(f"`{name}`" for name in FINAL_TRIGGERS)
        + " keep them as they are. Staff outside the review's team may do nothing with it, "
        "and the member of staff who signed off may not countersign (`outcomes_not_by_signer`, "
        "`outcomes_approved_by_team_manager`).",
    ]


def reference_markdown() -> str:
    """The workflow reference (docs/workflow.md): states, who may do what, the words people
    see, and the database triggers behind each rule, all read from this module."""
    lines = [
        "# Workflow reference",
        "",
        "<!-- Generated by `closure-readiness docs` from core/workflow.py. Do not edit. -->",
        "",
        "A closure review moves through these states. Every move not listed under "
        "*Who may do what* is refused by the service; the database triggers named there "
        "refuse it again if the service is bypassed.",
    ]
    lines += _table(
        "States",
        "| state | words people see | in the auditor's list | can be edited | final |",
        _state_rows(),
    )
    lines += _table(
        "Who may do what",
        "| state | action | role | becomes | whose reviews | database triggers |",
        _transition_rows(),
    )
    lines += _final_note()
    lines += _table(
        "Decision outcomes",
        "| outcome | words people see | review becomes |",
        [f"| `{o.value}` | {_cell(o.label)} | `{o.status.value}` |" for o in Outcome],
    )
    lines += _table(
        "Finding levels",
        "| level | words people see |",
        [f"| `{level.value}` | {level.label} |" for level in Level],
    )
    lines += _table(
        "Exception requests",
        "| status | words people see |",
        [f"| `{status.value}` | {_cell(status.label)} |" for status in RequestStatus],
    )
    return "\n".join(lines) + "\n"
