"""The operator's nginx configuration (deploy/nginx/closure-readiness.conf), started for real in
front of a real app (`closure-readiness demo` on free ports) and checked over TLS: the security
headers on every answer, the blocked endpoints, the redirect to https, the websocket, the
hidden version, and no answer for a name that is not the service's.

The page in Chromium under the same configuration: tests/browser/test_through_proxy.py.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import re
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
import streamlit

from proxy_support import CONFIG, SERVER_NAME, Proxy, free_port, running_proxy

START_DEADLINE = 90.0
"""Seconds the demo may take to answer its health check (seeding, provider, Streamlit)."""
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`closure-readiness demo` on free ports: the app at http://127.0.0.1:<port>."""
    directory = tmp_path_factory.mktemp("app")
    port, provider_port = free_port(), free_port()
    environment = {**os.environ, "CLOSURE_ENVIRONMENT": "test", "PYTHONUNBUFFERED": "1"}
    environment.pop("CLOSURE_DB", None)
    log = directory / "demo.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "closure_readiness.cli",
                "demo",
                "--db",
                str(directory / "demo.db"),
                "--port",
                str(port),
                "--provider-port",
                str(provider_port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE
        while direct(url, "/_stcore/health")[0] != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"The demo did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)  # polling interval while the demo starts
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # Ctrl+C: the launcher stops Streamlit
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, app: str) -> Iterator[Proxy]:
    app_port = int(app.rsplit(":", 1)[1])
    with running_proxy(tmp_path_factory.mktemp("nginx"), app_port) as running:
        yield running


def direct(url: str, path: str) -> tuple[int, str]:
    """The app itself, on 127.0.0.1 (status and body; 0 when nothing answers)."""
    try:
        with urllib.request.urlopen(f"{url}{path}", timeout=5) as response:
            return int(response.status), response.read().decode(errors="replace")
    except urllib.error.HTTPError as refused:
        return int(refused.code), ""
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, ""


def fetch(
    proxy: Proxy, path: str, *, host: str | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """GET over https through the proxy, trusting only the test's certificate."""
    connection = http.client.HTTPSConnection(
        SERVER_NAME, proxy.https_port, context=proxy.context, timeout=20
    )
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def security_problems(headers: Message) -> list[str]:
    """What is missing or too loose in one answer's headers (empty: all present and tight)."""
    problems = []
    policy = csp_directives(headers.get("Content-Security-Policy", ""))
    if policy.get("default-src") != ["'none'"]:
        problems.append("CSP: default-src is not 'none'")
    if not set(policy.get("img-src", ["*"])) <= {"'self'", "data:"}:
        problems.append("CSP: images may come from outside the app")
    if policy.get("connect-src") != ["'self'"]:
        problems.append("CSP: the page may connect outside the app")
    if policy.get("frame-ancestors") != ["'none'"]:
        problems.append("CSP: frame-ancestors is not 'none'")
    for directive in ("object-src", "base-uri", "frame-src"):
        if policy.get(directive) != ["'none'"]:
            problems.append(f"CSP: {directive} is not 'none'")
    if {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(policy.get("script-src", ["*"])):
        problems.append("CSP: scripts are not limited to the app's own")
    hsts = re.fullmatch(
        r"max-age=(\d+)(; includeSubDomains)?", headers.get("Strict-Transport-Security", "")
    )
    if hsts is None or int(hsts.group(1)) < 31_536_000:
        problems.append("Strict-Transport-Security missing or under a year")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    if headers.get("Referrer-Policy") not in ("no-referrer", "same-origin"):
        problems.append("Referrer-Policy would send addresses elsewhere")
    if headers.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options is not DENY")
    if headers.get("Server", "") != "nginx":
        problems.append(f"the Server header says {headers.get('Server')!r}, not a bare 'nginx'")
    return problems


def test_nginx_accepts_the_configuration(proxy: Proxy) -> None:
    assert "syntax is ok" in proxy.checked
    assert "test is successful" in proxy.checked


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),  # the page
        ("/media/no-such-file.png", 404),  # a 404 from the app
        ("/_stcore/metrics", 404),  # a 404 from nginx
        ("/_stcore/health", 200),
        ("/_stcore/host-config", 200),
    ],
)
def test_every_answer_carries_the_security_headers(proxy: Proxy, path: str, status: int) -> None:
    got, headers, _ = fetch(proxy, path)

    assert got == status
    assert security_problems(headers) == []


def test_a_downloaded_record_is_never_stored_on_the_way(proxy: Proxy) -> None:
    """Streamlit serves downloads under /media/: no browser or cache keeps one; the app's
    scripts may be cached as before."""
    _, media, _ = fetch(proxy, "/media/0123456789abcdef.pdf")
    _, page, _ = fetch(proxy, "/")

    assert "no-store" in ", ".join(media.get_all("Cache-Control") or [])
    assert "no-store" not in ", ".join(page.get_all("Cache-Control") or [])


def test_the_app_alone_sends_none_of_them(app: str) -> None:
    """The check above fails without the proxy: the app itself sends none of these headers."""
    with urllib.request.urlopen(f"{app}/", timeout=5) as response:
        problems = security_problems(response.headers)

    assert len(problems) >= 10, problems


@pytest.mark.parametrize(
    "path",
    [
        "/_stcore/metrics",
        "/_stcore/metrics/",
        "/_stcore/metrics?format=json",
        "/_stcore/%6Detrics",  # nginx matches the decoded path
        "//_stcore/metrics",
        "/_stcore/script-health-check",
        "/_stcore/agent/openapi.json",
        "/_stcore/agent/interact",
    ],
)
def test_metrics_and_the_other_internal_endpoints_are_refused(
    proxy: Proxy, app: str, path: str
) -> None:
    status, _, body = fetch(proxy, path)

    assert status == 404
    assert b"streamlit" not in body.lower()


def test_the_app_answers_metrics_and_health_itself(app: str) -> None:
    """What the proxy refuses is there on 127.0.0.1, for monitoring on the server."""
    assert direct(app, "/_stcore/metrics")[0] == 200
    assert direct(app, "/_stcore/health") == (200, "ok")


def test_health_passes_to_the_app_for_the_pages_cookie(proxy: Proxy) -> None:
    """Health is not refused: Streamlit's page will not start without a 200 from it, and the
    app's answer sets the cookie the page's websocket must show before a sign-in counts
    (tests/browser/test_through_proxy.py signs in through the proxy)."""
    status, headers, body = fetch(proxy, "/_stcore/health")

    assert (status, body) == (200, b"ok")
    assert "_streamlit_xsrf=" in headers.get("Set-Cookie", "")


def test_the_error_page_when_the_app_is_stopped_carries_the_headers(tmp_path: Path) -> None:
    with running_proxy(tmp_path, free_port()) as without_app:
        status, headers, body = fetch(without_app, "/")

    assert status == 502
    assert security_problems(headers) == []
    assert b"nginx/" not in body  # no version on the error page either


def test_plain_http_is_sent_to_https(proxy: Proxy) -> None:
    connection = http.client.HTTPConnection(SERVER_NAME, proxy.http_port, timeout=20)
    try:
        connection.request("GET", "/reviews?review=7")
        response = connection.getresponse()
    finally:
        connection.close()

    assert response.status == 301
    assert response.headers["Location"] == f"https://{SERVER_NAME}/reviews?review=7"
    assert response.headers["Server"] == "nginx"


def _handshake(proxy: Proxy, *, origin: str) -> tuple[str, dict[str, str], str]:
    """A websocket opening handshake by hand over TLS: status line, headers, and the key."""
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {SERVER_NAME}:{proxy.https_port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n"
        f"Origin: {origin}\r\n"
        "\r\n"
    )
    with (
        socket.create_connection((SERVER_NAME, proxy.https_port), timeout=20) as raw,
        proxy.context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls,
    ):
        tls.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = tls.recv(4096)
            if not chunk:
                break
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return head[0], headers, key


def test_the_websocket_opens_through_the_proxy(proxy: Proxy) -> None:
    status, headers, key = _handshake(proxy, origin=proxy.url)

    assert status.startswith("HTTP/1.1 101"), status
    accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()
    assert headers["sec-websocket-accept"] == accept
    assert headers["upgrade"].lower() == "websocket"


def test_the_websocket_waits_an_hour_for_a_quiet_page() -> None:
    """nginx would cut a websocket quiet for a minute (its default): the page's stays open."""
    text = CONFIG.read_text(encoding="utf-8")
    stream = text.split("location = /_stcore/stream {", 1)[1].split("}", 1)[0]

    assert re.search(r"proxy_read_timeout 1h;", stream)
    assert "proxy_set_header Upgrade $http_upgrade;" in stream


def test_a_name_that_is_not_the_service_gets_no_answer(proxy: Proxy) -> None:
    """Another name on the same address (DNS rebinding, a name pointed here by someone else):
    no TLS handshake, and nothing at all over plain http."""
    other = ssl.create_default_context(cafile=str(proxy.cert))
    other.check_hostname = False
    with (
        pytest.raises(ssl.SSLError),
        socket.create_connection((SERVER_NAME, proxy.https_port), timeout=20) as raw,
        other.wrap_socket(raw, server_hostname="elsewhere.invalid"),
    ):
        pass
    connection = http.client.HTTPConnection(SERVER_NAME, proxy.http_port, timeout=20)
    try:
        connection.request("GET", "/", headers={"Host": "elsewhere.invalid"})
        with pytest.raises(http.client.RemoteDisconnected):
            connection.getresponse()
    finally:
        connection.close()


def test_the_script_hash_in_the_policy_is_streamlits_inline_script() -> None:
    """The policy allows Streamlit's one inline script by its hash. When an upgrade of
    Streamlit changes that script, this says which hash the configuration needs instead."""
    page = (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    inline = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    policy = CONFIG.read_text(encoding="utf-8")

    assert inline, "Streamlit's page has no inline script any more: drop the hash from the CSP"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy, f"put 'sha256-{digest}' in script-src"
