"""Streamlit runs this file as the decisions page (tiny, so it compiles in no time)."""

from closure_readiness.views.decisions import page

page()
