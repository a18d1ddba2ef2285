"""One module of checks per theme; importing this package registers them all."""

from closure_readiness.checks.themes import (
    cause,
    change,
    curiosity,
    diversion,
    exit,
    exploit,
    family,
    mh,
    pace,
    route,
    sharing,
    support,
    sustain,
)

__all__ = [
    "cause",
    "change",
    "curiosity",
    "diversion",
    "exit",
    "exploit",
    "family",
    "mh",
    "pace",
    "route",
    "sharing",
    "support",
    "sustain",
]
