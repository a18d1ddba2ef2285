"""Page scripts: each file is one page of st.navigation and calls its view module."""
