"""Streamlit runs this file as the my reviews page (tiny, so it compiles in no time)."""

from closure_readiness.views.my_reviews import page

page()
