"""Closure Readiness: decision support for closing children's social care cases safely."""

__version__ = "0.1.0"
