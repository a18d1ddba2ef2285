"""Hypothesis profiles (fast for development, thorough in CI) and the shared example review."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from closure_readiness.core.review import Review

# No deadline anywhere: the machine is small (2 cores) and timings vary under load.
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def ready_review(repo_root: Path) -> Review:
    """The complete review that passes every check (frozen, so safe to share)."""
    path = repo_root / "examples" / "ready-three-agencies-sustained-change.json"
    return Review.model_validate_json(path.read_text(encoding="utf-8"))
