"""Streamlit runs this file as the learning page (tiny, so it compiles in no time)."""

from closure_readiness.views.learning import page

page()
