"""Streamlit pages and widgets: read state, call one service, render. No SQL, no rules."""
