"""Who is signed in, on every rerun: sign-in, the staff table, session age and idle time."""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

if TYPE_CHECKING:
    from closure_readiness.service.context import Context, Principal
    from closure_readiness.settings import Settings

# The service, the storage and the settings are imported where they are used: the sign-in page,
# a cold start's first page, draws without them (tests/test_cold_start_imports.py).

_LOG = logging.getLogger("closure_readiness.app")

FAULT = "database_fault"
"""Session key: a database fault met in a callback, shown by the page drawn next (app.py)."""


def database_errors() -> tuple[type[BaseException], ...]:
    """The errors a database raises: sqlite3's, and psycopg's once this process has used
    PostgreSQL (named in an `except` clause, so worked out only as an exception passes)."""
    import sys

    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


def database_fault(error: BaseException, *, where: str) -> str:
    """Log a database fault met at `where` (one line for the operator, no case content) and
    return the line to show the person: plain words, nothing else of the exception."""
    from closure_readiness.service import faults

    _LOG.error("Database fault in %s: %s", where, faults.fault_log_line(error))
    return faults.fault_line(error) or faults.UNAVAILABLE


def show_database_fault(error: BaseException, *, where: str) -> None:
    """Say on the page that the database failed; nothing of the exception is shown. (A fault
    a callback met just before is the same fault, or an older one: it is not shown again.)"""
    st.session_state.pop(FAULT, None)
    st.error(database_fault(error, where=where), icon=":material/database:")


def show_callback_fault() -> None:
    """Show, once, the database fault a callback met before this run."""
    line = st.session_state.pop(FAULT, None)
    if line:
        st.error(line, icon=":material/database:")


@st.cache_resource
def settings() -> Settings:
    from closure_readiness.settings import Settings

    loaded = Settings()
    loaded.refuse_unsafe()
    return loaded


@st.cache_resource
def _last_activity() -> dict[tuple[str, str, int], float]:
    """Last activity per sign-in (issuer, subject, issued-at), kept across page reloads."""
    return {}


def context() -> Context:
    from closure_readiness.service.context import Context

    current = settings()
    return Context(
        current.db,
        thresholds=current.thresholds(),
        case_reference_pattern=current.case_reference_pattern,
        separate_exception_and_countersign=current.separate_exception_and_countersign,
        retention=current.retention(),
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


class SessionEnded(Exception):
    """The sign-in may no longer be used: too old, idle too long, or saying too little."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def current_principal() -> Principal:
    """The signed-in member of staff, checked now: the sign-in's age, the idle time and the
    staff table. Draws nothing. Raises SessionEnded, or NotAllowed for an identity the staff
    table does not know or has disabled; a sign-in still in use has its idle clock restarted."""
    if not st.user.is_logged_in:
        raise SessionEnded("You are not signed in. Sign in to continue.")
    return _SignIn.now().check()


class _SignIn:
    """One sign-in (issuer, subject, issued-at) and what checking it needs, taken while the
    script runs so that a check can also run where there is no script (a download's data is
    made on the click, in a thread of its own)."""

    def __init__(self, issuer: Any, subject: Any, issued_at: Any) -> None:
        self.issuer, self.subject, self.issued_at = issuer, subject, issued_at
        self.settings, self.activity, self.context = settings(), _last_activity(), context()

    @classmethod
    def now(cls) -> _SignIn:
        return cls(_claim("iss"), _claim("sub"), _claim("iat"))

    def check(self) -> Principal:
        issuer, subject, issued_at, current = (
            self.issuer,
            self.subject,
            self.issued_at,
            self.settings,
        )
        if not issuer or not subject:
            raise SessionEnded("Your sign-in did not say who you are. Sign in again.")
        now = time.time()
        if not isinstance(issued_at, int | float):
            raise SessionEnded("Your sign-in has no start time. Sign in again.")
        if now - float(issued_at) > current.session_max_age_hours * 3600:
            raise SessionEnded(
                f"You have been signed in for more than {current.session_max_age_hours:g} "
                "hours. Sign in again to continue."
            )
        key = (str(issuer), str(subject), int(issued_at))
        last = self.activity.get(key, now)
        if now - last > current.idle_timeout_minutes * 60:
            # Keep the stale time: a reload must not restart the clock for the same sign-in.
            raise SessionEnded(
                f"You were inactive for more than {current.idle_timeout_minutes:g} minutes, so "
                "you were signed out to protect the records. Sign in again to continue."
            )
        from closure_readiness.service import staff

        principal = staff.identify(self.context, issuer=str(issuer), subject=str(subject))
        self.activity[key] = now
        return principal


def require_principal() -> Principal:
    """The signed-in member of staff, or stop the script showing only the sign-in page."""
    if not st.user.is_logged_in:
        _sign_in_page()
        st.stop()
    from closure_readiness.service.context import NotAllowed

    try:
        return current_principal()
    except SessionEnded as ended:
        _ended(ended.message)
    except NotAllowed as refusal:
        st.title("Closure Readiness", anchor=False)
        st.error(refusal.message)
        st.button("Sign out", key="sign_out_refused", on_click=st.logout)
    st.stop()


P = ParamSpec("P")


def guarded(callback: Callable[P, None]) -> Callable[P, None]:
    """A widget's callback that runs only for a sign-in still valid now.

    Callbacks run before the page script, so before require_principal: without this a click
    after the idle limit, past the maximum age or on a disabled account would still write, as
    the signed-out worker. Refused, the callback does nothing and the run that follows shows
    why (require_principal); a service refusal inside it is shown on the page, not raised, and
    so is a database fault (a full disk, a database busy too long), by the page drawn next."""

    @functools.wraps(callback)
    def checked(*args: P.args, **kwargs: P.kwargs) -> None:
        from closure_readiness.service.context import NotAllowed, ServiceError

        try:
            try:
                st.session_state["principal"] = current_principal()
            except (SessionEnded, NotAllowed):
                return  # the page, drawn next, says why and offers signing in again
            try:
                callback(*args, **kwargs)
            except ServiceError as error:
                st.session_state["flash"] = ("error", error.message)
        except database_errors() as error:
            # The service's transaction was rolled back: nothing of the click was stored.
            st.session_state[FAULT] = database_fault(error, where=callback.__qualname__)

    return checked


def download_data(build: Callable[[], bytes | str]) -> Callable[[], bytes | str]:
    """A download button's data, made on the click only for a sign-in still valid then.

    Streamlit runs it outside the script, so the page cannot check first: refused, it raises
    and no file is made (nothing is stored or audited); the button says the download failed,
    and the page, at the next click, says why. A database fault also makes no file: it is
    logged (one line) and kept for the page drawn next, which says it in plain words."""
    sign_in = _SignIn.now()
    run = get_script_run_ctx()  # the session this button was drawn for
    state = run.session_state if run is not None else None

    def made() -> bytes | str:
        try:
            sign_in.check()
            return build()
        except database_errors() as error:
            line = database_fault(error, where="a download")
            if state is not None:
                state[FAULT] = line
            raise

    return made
