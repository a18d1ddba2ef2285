"""The check reference, drawn from the registry: what each check asks and what satisfies it."""

from __future__ import annotations

import streamlit as st

from closure_readiness.checks import REGISTRY, CheckSpec
from closure_readiness.checks.questions import THEMES
from closure_readiness.checks.runner import CHECKS_VERSION
from closure_readiness.core.vocabulary import Route
from closure_readiness.views.findings import LEVEL_WORDS


def page() -> None:
    st.title("Check reference", anchor=False)
    st.write(
        f"Checks version {CHECKS_VERSION}. Blockers stop sign-off; an overridable blocker can be "
        "resolved by a team manager's written exception. Cautions need a rationale. Notes never "
        "block. The closure reason decides the closure route, and each check applies on the "
        "routes it names."
    )
    # A finding's card links here with ?check=<id>: that check first, its theme open.
    wanted = st.query_params.get("check", "")
    if wanted in REGISTRY:
        with st.container(border=True):
            _entry(REGISTRY[wanted])
    for theme in THEMES:
        opened = wanted.split(".", 1)[0] == theme.key
        with st.expander(f"{theme.title}: {theme.question}", expanded=opened):
            st.caption(theme.learning)
            st.write(theme.guidance)
            for spec in REGISTRY.for_theme(theme.key):
                _entry(spec)


def _entry(spec: CheckSpec) -> None:
    overridable = " (overridable)" if spec.overridable else ""
    # No icon in Markdown: Streamlit reads it out by its name ("block icon").
    st.markdown(f"**{LEVEL_WORDS[spec.level]}{overridable}** `{spec.id}` {spec.title}")
    st.markdown(
        f"- Asks: {spec.question}\n- Satisfied by: {spec.satisfied_by}\n"
        f"- What to do: {spec.hint}\n- Applies to: {_routes(spec.routes)}"
    )


def _routes(routes: frozenset[Route]) -> str:
    if routes >= frozenset(Route):
        return "every closure route"
    return "; ".join(route.label for route in Route if route in routes)
