"""Streamlit runs this file as the start review page (tiny, so it compiles in no time)."""

from closure_readiness.views.start_review import page

page()
