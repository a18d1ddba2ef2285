"""The check reference, drawn from the registry: what each check asks and what satisfies it."""

from __future__ import annotations

import streamlit as st

from closure_readiness.checks import REGISTRY
from closure_readiness.checks.questions import THEMES
from closure_readiness.checks.runner import CHECKS_VERSION
from closure_readiness.views.findings import LEVEL_ICONS, LEVEL_WORDS


def page() -> None:
    st.title("Check reference")
    st.write(
        f"Checks version {CHECKS_VERSION}. Blockers stop sign-off; an overridable blocker can be "
        "resolved by a team manager's written exception. Cautions need a rationale. Notes never "
        "block."
    )
    for theme in THEMES:
        with st.expander(f"{theme.title}: {theme.question}"):
            st.caption(theme.learning)
            st.write(theme.guidance)
            for spec in REGISTRY.for_theme(theme.key):
                overridable = " (overridable)" if spec.overridable else ""
                st.markdown(
                    f"{LEVEL_ICONS[spec.level]} **{LEVEL_WORDS[spec.level]}{overridable}** "
                    f"`{spec.id}` {spec.title}"
                )
                st.markdown(
                    f"- Asks: {spec.question}\n- Satisfied by: {spec.satisfied_by}\n"
                    f"- What to do: {spec.hint}"
                )
