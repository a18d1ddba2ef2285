"""Debian's nginx started on deploy/nginx/closure-readiness.conf, for the reverse-proxy tests.

The file is used as an operator copies it: only its PLACEHOLDER values change (the service's
name, the certificate and key, the app's port), plus the two listening ports, which the test
moves from 80 and 443 to free ports on 127.0.0.1. The certificate is self-signed, made with
`openssl` in the test's own folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench.harness import free_port

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "nginx" / "closure-readiness.conf"
SERVER_NAME = "localhost"
"""A name, not an address: browsers and Python send no server name (SNI) for an address, and
the configuration refuses a TLS handshake without the service's name."""
PLACEHOLDERS = {
    "closure-readiness.example.gov.uk": SERVER_NAME,
    "/etc/ssl/certs/closure-readiness.pem": "{cert}",
    "/etc/ssl/private/closure-readiness.key": "{key}",
    "127.0.0.1:8501": "127.0.0.1:{app_port}",
}
START_WITHIN = 20.0
"""Seconds nginx may take to listen (it takes well under one)."""


def nginx_binary() -> str:
    """Debian's nginx. Missing is a failure, never a skip: scripts/setup.sh installs it."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        pytest.fail(
            "nginx is not installed, so the reverse-proxy configuration cannot be tested. "
            "Run scripts/setup.sh, or: apt-get install -y nginx"
        )
    return found


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for SERVER_NAME, valid for a day, made with `openssl`."""
    cert, key = directory / "proxy.pem", directory / "proxy.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={SERVER_NAME}",
            "-addext",
            f"subjectAltName=DNS:{SERVER_NAME}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def render(
    text: str, *, cert: Path, key: Path, app_port: int | list[int], http: int, https: int
) -> str:
    """The operator's file with its placeholders filled in and the test's ports. Several app
    ports (`run --processes N`) get one `server` line each in the upstream, as the file says."""
    if isinstance(app_port, list):
        line = "    server 127.0.0.1:8501;"
        assert line in text, f"the upstream's server line is gone from {CONFIG.name}"
        text = text.replace(
            line, "\n".join(f"    server 127.0.0.1:{port};" for port in app_port[1:]) + "\n" + line
        )
        app_port = app_port[0]
    for placeholder, value in PLACEHOLDERS.items():
        assert placeholder in text, f"the placeholder {placeholder} is gone from {CONFIG.name}"
        text = text.replace(placeholder, value.format(cert=cert, key=key, app_port=app_port))
    for port, moved in ((80, http), (443, https)):
        listen = f"listen {port}"
        assert listen in text
        text = text.replace(f"{listen} ", f"listen 127.0.0.1:{moved} ")
        text = text.replace(f"{listen};", f"listen 127.0.0.1:{moved};")
    assert "listen 80" not in text
    assert "listen 443" not in text
    return text


def main_config(directory: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives a site, with every path in the test's folder."""
    # Started as root (as in CI), nginx's workers would otherwise run as "nobody" and could not
    # use the test's private folder for large answers.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
worker_processes 1;
error_log {directory}/error.log notice;
events {{ worker_connections 768; }}  # as Debian sets it
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format upstream '$upstream_addr $cookie_closure_readiness_node $status "$request"';
    access_log {directory}/access.log upstream;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {site};
}}
"""


@dataclass
class Proxy:
    """nginx running on the rendered configuration."""

    url: str
    """https://localhost:<port>"""
    http_port: int
    https_port: int
    context: ssl.SSLContext
    """Trusts the test's self-signed certificate, and checks the name."""
    cert: Path
    directory: Path
    checked: str
    """What `nginx -t` said."""


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """nginx's master and workers are one process group of their own: end all of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # any worker left behind


@contextlib.contextmanager
def running_proxy(
    directory: Path, app_port: int | list[int], *, config: Path = CONFIG
) -> Iterator[Proxy]:
    """nginx in the foreground as a child of the test, stopped (the whole group) afterwards."""
    nginx = nginx_binary()
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(directory)
    http, https = free_port(), free_port()
    site = directory / "closure-readiness.conf"
    site.write_text(
        render(
            config.read_text(encoding="utf-8"),
            cert=cert,
            key=key,
            app_port=app_port,
            http=http,
            https=https,
        ),
        encoding="utf-8",
    )
    main = directory / "nginx.conf"
    main.write_text(main_config(directory, site), encoding="utf-8")
    command = [nginx, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(main)]
    checked = subprocess.run(
        [*command, "-t", "-g", f"pid {directory}/nginx.pid;"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, f"nginx -t refused the configuration:\n{checked.stderr}"
    process = subprocess.Popen(
        [*command, "-g", f"daemon off; pid {directory}/nginx.pid;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(directory / "nginx.out").open("wb"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_WITHIN
        while not (_listening(https) and _listening(http)):
            if process.poll() is not None or time.monotonic() > deadline:
                errors = (directory / "error.log").read_text(errors="replace")
                pytest.fail(f"nginx did not start:\n{errors}")
            time.sleep(0.05)  # polling interval while nginx binds its ports
        context = ssl.create_default_context(cafile=str(cert))
        yield Proxy(
            url=f"https://{SERVER_NAME}:{https}",
            http_port=http,
            https_port=https,
            context=context,
            cert=cert,
            directory=directory,
            checked=checked.stderr,
        )
    finally:
        _stop(process)
