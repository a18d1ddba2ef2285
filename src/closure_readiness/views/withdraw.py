"""Withdrawing a review: a collapsed panel asking why, then back to the list with a message.

Drawn on the review page and in the caseworker's and manager's lists, for whoever may withdraw
the review (its caseworker, or a manager of its team) while it is a draft, returned or waiting
for countersignature; nothing at all for anyone else. The service is the guard.
"""

from __future__ import annotations

import streamlit as st

from closure_readiness.core.workflow import ReviewStatus
from closure_readiness.service import reviews
from closure_readiness.service.context import InvalidInput, Principal, Role, ServiceError
from closure_readiness.service.records import ReviewRecord, ReviewSummary
from closure_readiness.views import pages, session
from closure_readiness.views.safe import escape_markdown

WITHDRAW_LABEL = "Withdraw this review"


def _team(record: ReviewRecord | ReviewSummary, principal: Principal) -> str:
    # A summary comes from the principal's own team list (the service scopes it).
    return record.team if isinstance(record, ReviewRecord) else principal.team


def offered(record: ReviewRecord | ReviewSummary, principal: Principal) -> bool:
    """Whether this person is offered the withdrawal of this review."""
    return reviews.may_withdraw(
        principal,
        status=record.status,
        worker_id=record.worker_id,
        team=_team(record, principal),
    )


def list_page_for(principal: Principal) -> str:
    """The list a withdrawn review leaves, where the person goes back to."""
    return "team_reviews" if principal.role is Role.TEAM_MANAGER else "my_reviews"


def opener_key(review_id: int) -> str:
    """The key of the expander that opens the withdraw form (its state: open or not)."""
    return f"withdraw.{review_id}.open"


def withdraw_control(
    record: ReviewRecord | ReviewSummary,
    principal: Principal,
    *,
    label: str = WITHDRAW_LABEL,
    in_list: bool = False,
) -> None:
    """A collapsed "Withdraw this review" panel: a required reason and a confirm button.

    On success, a message is left for the list page (the caseworker's My reviews, the
    manager's Team reviews) and the app goes there. An empty reason is explained right under
    the field; what was typed stays. Draws nothing for someone who may not withdraw it.
    `in_list`: drawn inside a list's card, as a light toggle that does not outweigh the card.
    """
    if not offered(record, principal):
        return
    reference = record.case_reference
    # Drawn only once opened (a rerun): a list of reviews or a task list does not carry a form
    # per review on every page load (decision #38).
    box = st.expander(
        label,
        type="compact" if in_list else "default",
        key=opener_key(record.id),
        on_change="rerun",
    )
    if not box.open:
        return
    with box:
        if not _withdraw_form(record, principal):
            return
    st.session_state["flash"] = (
        "success",
        f"Review of {escape_markdown(reference)} withdrawn. It has left the working lists; "
        "the review and your reason are kept in the audit trail.",
    )
    pages.go(list_page_for(principal))


def _withdraw_form(record: ReviewRecord | ReviewSummary, principal: Principal) -> bool:
    """What withdrawing means, the reason and the confirm button: whether it was withdrawn.
    A refusal is said where it belongs (an empty reason right under the field)."""
    lines = [
        "Withdraw a review that will not lead to closure now, for example when new "
        "concerns mean the case stays open. It leaves the working lists and cannot be "
        "undone; the review and your reason stay in the record for audit. Start a new "
        "review when the case is ready to close."
    ]
    if record.status == ReviewStatus.SUBMITTED:
        lines.append("The sign-off waiting for countersignature is withdrawn with it.")
    st.caption(" ".join(lines))
    with st.form(f"withdraw.{record.id}", border=False):
        reason = st.text_area(
            "Reason for withdrawing (required)",
            max_chars=reviews.MAX_WITHDRAWAL_REASON,
            key=f"withdraw.{record.id}.reason",
        )
        beside_field = st.empty()
        confirmed = st.form_submit_button(
            f"Confirm withdrawal of {escape_markdown(record.case_reference)}"
        )
    if not confirmed:
        return False
    try:
        reviews.withdraw(session.context(), principal, record.id, reason=reason)
    except InvalidInput as problem:
        beside_field.error(problem.message)
        return False
    except ServiceError as refusal:
        st.error(refusal.message)
        return False
    return True
