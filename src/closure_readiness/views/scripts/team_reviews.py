"""Streamlit runs this file as the team reviews page (tiny, so it compiles in no time)."""

from closure_readiness.views.team_reviews import page

page()
