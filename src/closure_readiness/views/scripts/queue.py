"""Streamlit runs this file as the queue page (tiny, so it compiles in no time)."""

from closure_readiness.views.queue import page

page()
