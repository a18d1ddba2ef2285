"""Closure Readiness: the Streamlit app. Sign-in, then the pages for the signed-in role.

Started by `closure-readiness run` (or `demo`), which runs this file with the hardened
settings, or by `streamlit run app.py` from a checkout (the root app.py calls `main`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from closure_readiness.hardening import streamlit_options
from closure_readiness.views import downloads, heap, session

# The first page of a cold start is the sign-in page: it draws with Streamlit alone, so the
# service, the storage, the checks and the settings (pydantic) are imported once someone has
# signed in (in _signed_in_page and views/session.py), not before the sign-in button shows.
# tests/test_cold_start_imports.py keeps it so; bench/cold_start_bench.py measures it.

# A local icon: a Material icon name would make every page load fetch it from a font CDN.
ICON = Path(__file__).parent / "views" / "icon.png"


SCRIPTABLE = ("client.showErrorDetails", "client.toolbarMode")
"""The hardened settings an app may set itself (Streamlit allows only client settings)."""


def _hold_client_settings() -> None:
    """Set the client settings again from inside the app, in case the server was started
    without the package's options (`streamlit run` of the installed file from elsewhere): a
    traceback can hold case data and must never reach a browser."""
    wanted = streamlit_options()
    for key in SCRIPTABLE:
        if st.get_option(key) != wanted[key]:
            st.set_option(key, wanted[key])


def main() -> None:
    _hold_client_settings()
    heap.freeze_imports()  # collections skip what lives as long as the server
    heap.collect_now_and_then()
    downloads.serve_downloads_once()  # a downloaded file stops being served once fetched
    st.set_page_config(page_title="Closure Readiness", page_icon=str(ICON), layout="wide")
    where = ["the sign-in check"]
    try:
        _signed_in_page(where)
    except session.database_errors() as error:
        # Every page and the sign-in check meet a database fault here (a full disk, a database
        # busy beyond the wait): one plain line, never the crash page. The service's
        # transaction was rolled back, so nothing half-written is left; st.rerun and st.stop
        # are not database errors and pass through.
        session.show_database_fault(error, where=where[0])


def _signed_in_page(where: list[str]) -> None:
    """The signed-in person's page; `where` is set to the page once it is known (for the log)."""
    principal = session.require_principal()  # stops at the sign-in page, before the imports
    from closure_readiness.core.workflow import Role
    from closure_readiness.views import pages
    from closure_readiness.views.safe import escape_markdown

    st.session_state["principal"] = principal
    with st.sidebar:
        name = escape_markdown(principal.display_name)  # set by an administrator: not our text
        st.caption(f"Signed in as {name} ({principal.role.label})")
        if principal.team:
            st.caption(escape_markdown(principal.team))
        st.button("Sign out", key="sign_out", on_click=st.logout)
    if principal.role is Role.ADMIN:
        st.title("Closure Readiness", anchor=False)
        st.info("Administration is done with the closure-readiness command line.")
        st.stop()
    current = st.navigation(pages.pages_for(principal))
    if current.url_path != "decision":
        # Leaving the decision page ends the visit: coming back is another (audited) view,
        # and the decision read for it is let go (a session kept one per decision it opened).
        st.session_state.pop(pages.SHOWN_DECISION, None)
    if current.title != "Decisions":  # (the default page's url_path is empty)
        # Coming back to the list searches again, so decisions made meanwhile show.
        st.session_state.pop("last_query", None)
    where[0] = f"the page /{current.url_path}"
    session.show_callback_fault()
    current.run()


if __name__ == "__main__":  # run as Streamlit's script (the root app.py imports it instead)
    main()
