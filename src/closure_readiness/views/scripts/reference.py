"""Streamlit runs this file as the reference page (tiny, so it compiles in no time)."""

from closure_readiness.views.reference import page

page()
