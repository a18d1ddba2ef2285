"""Streamlit runs this file as the decision page (tiny, so it compiles in no time)."""

from closure_readiness.views.decision import page

page()
