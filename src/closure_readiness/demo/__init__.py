"""The demo: synthetic staff and cases, and (later) the local sign-in provider and launcher."""
