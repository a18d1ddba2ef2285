"""Who is signed in, on every rerun: sign-in, the staff table, session age and idle time."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from closure_readiness.service import staff
from closure_readiness.service.context import Context, NotAllowed, Principal
from closure_readiness.settings import Settings


@st.cache_resource
def settings() -> Settings:
    loaded = Settings()
    loaded.refuse_unsafe()
    return loaded


@st.cache_resource
def _last_activity() -> dict[tuple[str, str, int], float]:
    """Last activity per sign-in (issuer, subject, issued-at), kept across page reloads."""
    return {}


def context() -> Context:
    current = settings()
    return Context(
        current.db,
        thresholds=current.thresholds(),
        case_reference_pattern=current.case_reference_pattern,
    )


def _claim(name: str) -> Any:
    try:
        return st.user[name]
    except (KeyError, AttributeError):
        return None


def _sign_in_page(message: str | None = None) -> None:
    st.title("Closure Readiness", anchor=False)
    st.write(
        "Check that a young person's case is ready to close: evidence of change that someone "
        "independent has seen, a plan for keeping it going, and support after we step back."
    )
    if message:
        st.warning(message)
    st.button("Sign in", key="sign_in", type="primary", on_click=st.login)
    st.caption("You sign in with your council account. Nothing is shown until you do.")


def _ended(message: str) -> None:
    st.title("Closure Readiness", anchor=False)
    st.warning(message)
    st.button("Sign in again", key="sign_in_again", type="primary", on_click=st.logout)
    st.stop()


def require_principal() -> Principal:
    """The signed-in member of staff, or stop the script showing only the sign-in page."""
    if not st.user.is_logged_in:
        _sign_in_page()
        st.stop()
    issuer, subject, issued_at = _claim("iss"), _claim("sub"), _claim("iat")
    if not issuer or not subject:
        _ended("Your sign-in did not say who you are. Sign in again.")
    current = settings()
    now = time.time()
    if not isinstance(issued_at, int | float):
        _ended("Your sign-in has no start time. Sign in again.")
    if now - float(issued_at) > current.session_max_age_hours * 3600:
        _ended(
            f"You have been signed in for more than {current.session_max_age_hours:g} hours. "
            "Sign in again to continue."
        )
    activity = _last_activity()
    key = (str(issuer), str(subject), int(issued_at))
    last = activity.get(key, now)
    if now - last > current.idle_timeout_minutes * 60:
        # Keep the stale time: a reload must not restart the clock for the same sign-in.
        _ended(
            f"You were inactive for more than {current.idle_timeout_minutes:g} minutes, so you "
            "were signed out to protect the records. Sign in again to continue."
        )
    activity[key] = now
    try:
        return staff.identify(context(), issuer=str(issuer), subject=str(subject))
    except NotAllowed as refusal:
        st.title("Closure Readiness", anchor=False)
        st.error(refusal.message)
        st.button("Sign out", key="sign_out_refused", on_click=st.logout)
        st.stop()
