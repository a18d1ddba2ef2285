"""Streamlit runs this file as the review page (tiny, so it compiles in no time)."""

from closure_readiness.views.review import page

page()
