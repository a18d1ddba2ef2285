"""Fixtures shared by the test modules.

- Hypothesis profiles (fast for development, thorough in CI) and the shared example review.
- The app's demo database: `template` (seeded once per module) and `demo` (a private copy for
  each test, with the app pointed at it), for AppTest tests.
- The workflow's staffed database: `staffed` (made once per module), `ctx` (a private copy for
  each test, held open) and `team` (the staff's principals), for service-layer tests.

The helpers behind them stay in `app_support` and `workflow_fixtures`, imported inside each
fixture so that a module which uses none of them does not pay for importing Streamlit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

from closure_readiness.core.review import Review

if TYPE_CHECKING:
    from bench.postgres_cluster import Cluster

    from app_support import DemoDatabase
    from closure_readiness.service.context import Context
    from workflow_fixtures import Team

# No deadline anywhere: the machine is small (2 cores) and timings vary under load.
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_connection_kept_between_tests() -> Iterator[None]:
    """Each test starts and ends as a process of its own would: no connection kept open from
    an earlier test or a module's fixture (storage keeps connections per database). Closing
    the last one folds the write-ahead log into the file, so a plain copy of a module's
    database (copy_database, the CLI tests' stores) is the whole database."""
    _release_kept_connections()
    yield
    _release_kept_connections()


def _release_kept_connections() -> None:
    """Close storage's idle connections, if storage was imported (a test that never touches a
    database does not pay for importing it)."""
    database = sys.modules.get("closure_readiness.storage.database")
    release = getattr(database, "release", None)
    if release is not None:
        release()


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every run of the checks by the review service, counted (its caches emptied first and
    after)."""
    from closure_readiness.service import reviews

    ran: list[Any] = []
    real = reviews.evaluate

    def counted(review: Any, **kwargs: Any) -> Any:
        ran.append(review)
        return real(review, **kwargs)

    monkeypatch.setattr(reviews, "evaluate", counted)
    reviews.forget_evaluations()
    yield ran
    reviews.forget_evaluations()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def ready_review(repo_root: Path) -> Review:
    """The complete review that passes every check (frozen, so safe to share)."""
    path = repo_root / "examples" / "ready-three-agencies-sustained-change.json"
    return Review.model_validate_json(path.read_text(encoding="utf-8"))


# The app's demo database


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> DemoDatabase:
    """The demo staff and cases, seeded once per module (seeding takes a second)."""
    from app_support import seeded_database

    return seeded_database(tmp_path_factory.mktemp("seeded"))


@pytest.fixture
def demo(template: DemoDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DemoDatabase:
    """This test's own copy of the demo data, used by the app."""
    from app_support import copy_database, point_app_at

    database = copy_database(template, tmp_path)
    point_app_at(monkeypatch, database)
    return database


# The workflow's staffed database


# Both storage engines (issue 12, item 10)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`engine` is "sqlite" everywhere, and also "postgresql" in a module or test marked
    `both_engines` (the storage, workflow, tamper and concurrency suites)."""
    if "engine" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_engines") is not None
        engines = ["sqlite", "postgresql"] if both else ["sqlite"]
        metafunc.parametrize("engine", engines, scope="module")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 for this test process (each xdist worker
    has its own), started on first use and removed at the end. Never skipped: the README's
    test command installs PostgreSQL (scripts/setup.sh)."""
    from bench.postgres_cluster import Cluster

    with Cluster.started() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def staffed(
    engine: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Context, Team]]:
    """A database with the test staff, made once per module and copied for each test."""
    from workflow_fixtures import add_team, forget, make_engine_context

    ctx = make_engine_context(engine, tmp_path_factory.mktemp("staffed"), request)
    yield ctx, add_team(ctx)
    forget(ctx)


@pytest.fixture
def ctx(staffed: tuple[Context, Team], tmp_path: Path) -> Iterator[Context]:
    """This test's own copy of the staffed database, held open while the test runs (on
    PostgreSQL, dropped afterwards)."""
    from workflow_fixtures import held_open, private_copy

    with private_copy(staffed[0], tmp_path) as ctx, held_open(ctx):
        yield ctx


@pytest.fixture
def team(staffed: tuple[Context, Team]) -> Team:
    """The test staff's principals in `staffed` (the same in every copy)."""
    return staffed[1]


@pytest.fixture
def clean_cli_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CLOSURE_ setting and no sign-in secrets leak in from the machine running the tests
    (the CLI reads both; `HOME` is where Streamlit looks for secrets)."""
    for name in [name for name in os.environ if name.startswith("CLOSURE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
