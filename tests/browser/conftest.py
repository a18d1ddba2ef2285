"""The real demo (launcher, local sign-in provider, Streamlit server) driven in Debian's Chromium.

One server for the whole session: it is seeded here first (so tests know the review ids), then
started with `closure-readiness demo` exactly as a person would start it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bench.harness import free_port

from closure_readiness.core.review import Review
from closure_readiness.demo.seed import seed, shifted
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_EXAMPLE = REPO_ROOT / "examples" / "ready-three-agencies-sustained-change.json"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
KNOWN_OUTSIDE: tuple[str, ...] = ()
"""Addresses outside 127.0.0.1 the browser may fetch: none. (The favicon is a local image and
the demo provider's page is served with a local stylesheet: demo/provider_page.py.)"""
VIEWPORT = {"width": 1400, "height": 1000}
START_DEADLINE = 90.0
"""Seconds the demo may take to answer its health check (seeding, provider, Streamlit)."""
IDLE = '[data-test-script-state="notRunning"]'
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
STREAMLIT_OWNED: dict[str, str] = {
    # axe rule id: why the violation is in Streamlit's own markup, not in ours
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class Demo:
    """The running demo: where it answers, and the ids of the seeded reviews."""

    url: str
    provider_url: str
    ids: dict[str, int]
    db: Path
    log: Path


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200 and response.read().strip() == b"ok")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl+C for the launcher (it stops Streamlit itself); then make sure of the group."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)  # the launcher's own session: Streamlit
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@contextlib.contextmanager
def running_demo(
    directory: Path, python: Path, *, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[Demo]:
    """`<python> -m closure_readiness.cli demo` on a database seeded here first (so tests know
    the review ids), started in `cwd` as a person would start it, stopped afterwards."""
    db = directory / "closure-readiness-demo.db"
    app_port, provider_port = free_port(), free_port()
    provider_url = f"http://127.0.0.1:{provider_port}"
    ids = seed(db, issuer=provider_url, today=dt.datetime.now(dt.UTC).date())
    log = directory / "demo.log"
    environment = dict(os.environ if env is None else env)
    environment.update({"CLOSURE_ENVIRONMENT": "test", "PYTHONUNBUFFERED": "1"})
    environment.pop("CLOSURE_DB", None)
    command = [
        str(python),
        "-m",
        "closure_readiness.cli",
        "demo",
        "--db",
        str(db),
        "--port",
        str(app_port),
        "--provider-port",
        str(provider_port),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{app_port}"
    try:
        deadline = time.monotonic() + START_DEADLINE
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"The demo exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"No answer within {START_DEADLINE:g} s:\n{log.read_text()}")
            time.sleep(0.2)  # polling interval, not a wait for an outcome
        yield Demo(url=url, provider_url=provider_url, ids=ids, db=db, log=log)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Demo]:
    with running_demo(
        tmp_path_factory.mktemp("demo"), Path(sys.executable), cwd=REPO_ROOT
    ) as running:
        yield running


@pytest.fixture(scope="session")
def make_review(demo: Demo) -> Callable[..., int]:
    """make_review(document, subject="caseworker"): a draft built through the service, so a
    test never depends on what the demo seed happens to hold. `document` is a review (at least
    its case); the worker's staff id and team are filled in by the service."""

    def made(document: dict[str, Any], subject: str = "caseworker") -> int:
        ctx = Context(demo.db)
        worker = staff.identify(ctx, issuer=demo.provider_url, subject=subject)
        review = Review.model_validate(document)
        review_id = reviews.start_review(ctx, worker, review.case)
        if review != Review(case=review.case):
            record = reviews.get_review(ctx, worker, review_id)
            reviews.save_review(ctx, worker, review_id, review, expected_version=record.version)
        return review_id

    return made


@pytest.fixture(scope="session")
def nearly_ready(make_review: Callable[..., int]) -> Callable[..., int]:
    """nearly_ready(change): the ready example review, closing in 14 days under a new case
    reference, after `change(document)` has taken away what the test answers in the browser."""

    def made(change: Callable[[dict[str, Any]], None]) -> int:
        document = json.loads(READY_EXAMPLE.read_text(encoding="utf-8"))
        closure = dt.date.fromisoformat(document["case"]["proposed_closure_on"])
        target = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)
        document = shifted(document, (target - closure).days)
        document["case"]["case_reference"] = f"CR-E2E-{uuid.uuid4().int % 10**8:08d}"
        change(document)
        return make_review(document)

    return made


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, demo: Demo) -> Iterator[Any]:
    """A fresh browser profile (no sign-in cookie) that records requests leaving the demo."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    opened = context.new_page()
    allowed = (demo.url, demo.provider_url, "data:", "blob:", "about:")
    outside: list[str] = []
    opened.on(
        "request",
        lambda request: None if request.url.startswith(allowed) else outside.append(request.url),
    )
    opened.requests_outside = outside
    yield opened
    context.close()
    unexpected = [url for url in outside if not url.startswith(KNOWN_OUTSIDE)]
    assert unexpected == [], "the browser fetched something from outside the demo"


def _settle(page: Any) -> None:
    page.wait_for_selector(IDLE, state="attached")
    page.wait_for_function(
        """() => {
            const root = document.querySelector('[data-test-script-state]');
            return root && root.dataset.testScriptState === 'notRunning'
                && !document.querySelector('[data-stale="true"]');
        }"""
    )


@pytest.fixture(scope="session")
def settle() -> Callable[[Any], None]:
    """Wait until Streamlit has finished its script run and drawn the result."""
    return _settle


def sign_in_at(page: Any, demo: Demo, subject: str) -> None:
    """The real sign-in, the app's button then the provider's."""
    page.goto(demo.url)
    _settle(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{demo.provider_url}/**")
    page.get_by_role("button", name=subject, exact=True).click()
    page.wait_for_url(f"{demo.url}/**")
    _settle(page)


@pytest.fixture(scope="session")
def sign_in(demo: Demo) -> Callable[[Any, str], None]:
    """sign_in(page, subject): the real sign-in on the session's demo."""

    def signed_in(page: Any, subject: str) -> None:
        sign_in_at(page, demo, subject)

    return signed_in


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Any, str], Path]:
    """screenshot(page, name): save the viewport to docs/screenshots/<name>.png."""

    def save(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return save


AXE_FINDINGS: list[dict[str, Any]] = []


@pytest.fixture(scope="session")
def axe_check() -> Callable[[Any, str], list[dict[str, Any]]]:
    """axe_check(page, name): run axe-core; record every violation for the summary; return
    every one in our control, whatever its impact (STREAMLIT_OWNED lists those that are not)."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page: Any, name: str) -> list[dict[str, Any]]:
        results = axe.run(page)
        ours = []
        for violation in results.response["violations"]:
            finding = {
                "page": name,
                "id": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "targets": [node["target"] for node in violation["nodes"]],
                "data": [check.get("data") for node in violation["nodes"] for check in node["any"]][
                    :1
                ],
            }
            AXE_FINDINGS.append(finding)
            if violation["id"] not in STREAMLIT_OWNED:
                ours.append(finding)
        return ours

    return check


def _short(target: list[str]) -> str:
    """The last two steps of an axe CSS selector: enough to find the element by eye."""
    return " > ".join(str(target[-1]).split(" > ")[-2:])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not AXE_FINDINGS:
        return
    terminalreporter.section("axe-core violations (all impacts)")
    for finding in AXE_FINDINGS:
        terminalreporter.write_line(
            f"{finding['page']}: {finding['impact']} {finding['id']} ({finding['help']}) "
            f"x{len(finding['targets'])}: {json.dumps([_short(t) for t in finding['targets'][:2]])}"
            f" {json.dumps(finding['data'])}"
        )


@pytest.fixture(scope="session")
def demo_runner() -> Callable[..., contextlib.AbstractContextManager[Demo]]:
    """running_demo(directory, python, cwd=..., env=...): a demo of one's own (another install)."""
    return running_demo


@pytest.fixture(scope="session")
def sign_in_to() -> Callable[[Any, Demo, str], None]:
    """sign_in_to(page, demo, subject): the real sign-in on a given demo."""
    return sign_in_at
