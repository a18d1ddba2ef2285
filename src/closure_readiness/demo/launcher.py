"""Start the app: with a local sign-in provider and demo staff (demo), or for real use (run).

The demo's provider runs on 127.0.0.1 only and refuses to start when the environment is
production. No passwords exist anywhere: the provider lets you pick a demo account.

The launcher owns what it starts: Ctrl+C, SIGTERM or SIGHUP to it stops the provider and the
Streamlit server, so both ports are free again. The provider's access log, Streamlit's output and
third-party warnings go to log files beside the demo database (logs/), not to the terminal.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from types import FrameType
from typing import IO

from closure_readiness.settings import Environment, Settings, missing_sign_in, streamlit_flags

APP = Path(__file__).resolve().parents[1] / "app.py"
PROJECT = Path(__file__).resolve().parents[3]
CLIENT_ID = "closure-readiness-demo"
READY_WITHIN = 90.0
"""Seconds Streamlit may take to answer its health check before the launcher stops waiting."""
STOP_WITHIN = 10.0
"""Seconds a child may take to stop when asked before it is killed."""
PROVIDER_LOGGERS = ("werkzeug", "oidc_provider_mock", "authlib", "py.warnings")
"""The provider's access log, its own messages and Python warnings: to provider.log."""


class LaunchRefused(RuntimeError):
    """The launcher will not start with these settings; the message says why."""


class Stopped(BaseException):
    """SIGTERM or SIGHUP: stop as Ctrl+C would, stopping every child on the way out."""


@dataclass(frozen=True)
class Addresses:
    app_port: int
    provider_port: int

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.provider_port}"


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class _Stopping:
    """What the stop signals do while the launcher runs: raise Stopped (KeyboardInterrupt for
    SIGINT) in the main thread, or, while a child is being started, after it is in hand."""

    holding = False
    pending: int | None = None

    @classmethod
    def handle(cls, signum: int, frame: FrameType | None) -> None:
        if cls.holding:
            cls.pending = signum
            return
        cls.stop(signum)

    @staticmethod
    def stop(signum: int) -> None:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Stopped(signal.Signals(signum).name)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop the launcher as Ctrl+C does, so `finally` blocks stop children.

    Python's default for SIGTERM ends the process at once and leaves the children running.
    """
    if not _main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _Stopping.handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def signals_held() -> Iterator[None]:
    """A stop signal that arrives while a child starts takes effect once the child is in hand
    (assigned inside the `try` whose `finally` stops it), so no child is started and forgotten.
    """
    _Stopping.holding, _Stopping.pending = True, None
    try:
        yield
    finally:
        _Stopping.holding = False
    if _Stopping.pending is not None:
        _Stopping.stop(_Stopping.pending)


def _refuse_busy_port(port: int, what: str, option: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: only a listening socket makes the port busy, not old connections.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise LaunchRefused(
                f"Port {port} on 127.0.0.1 is in use, so the {what} cannot start there. Is "
                f"another demo still running? Stop it, or choose another port with {option}."
            ) from None


@contextmanager
def provider_log(path: Path) -> Iterator[Path]:
    """The provider's access log and Python warnings written to `path`, not the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in PROVIDER_LOGGERS]
    saved = [(logger, logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    logging.captureWarnings(True)
    try:
        yield path
    finally:
        logging.captureWarnings(False)
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
        handler.close()


@contextmanager
def sign_in_provider(port: int) -> Iterator[str]:
    """A local OpenID Connect provider with the demo accounts, on 127.0.0.1, in a thread.

    Its pages load nothing from outside 127.0.0.1 (`provider_page.LocalPages`).
    """
    # The mock announces authlib's deprecations as it is imported: to the log, not the terminal.
    # Imported here, not above: the provider is the [demo] extra, and `run` does without it.
    import oidc_provider_mock
    import werkzeug.serving

    from closure_readiness.demo.seed import DEMO_ACCOUNTS

    users = [
        oidc_provider_mock.User(
            sub=account.subject,
            claims={"email": f"{account.subject}@demo.invalid", "name": account.display_name},
        )
        for account in DEMO_ACCOUNTS
    ]
    app = oidc_provider_mock.app(user_claims=users, require_nonce=True)
    # The mock enables Werkzeug's interactive debugger; a sign-in server must never run code.
    app.debug = False
    from closure_readiness.demo.provider_page import LocalPages

    app.wsgi_app = LocalPages(getattr(app.wsgi_app, "app", app.wsgi_app))
    try:
        server = werkzeug.serving.make_server("127.0.0.1", port, app, threaded=True)
    except OSError:
        _refuse_busy_port(port, "sign-in provider", "--provider-port")
        raise
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="oidc-provider")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_secrets(path: Path, *, app_url: str, issuer: str) -> Path:
    """Streamlit's [auth] section for the local provider, readable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "[auth]\n"
        f'redirect_uri = "{app_url}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{secrets.token_urlsafe(16)}"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
    )
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")
    return path


def streamlit_command(*, port: int, secrets_file: Path | None) -> list[str]:
    """`streamlit run` of the package's app with every hardened setting given as an option, so
    they apply however the app was installed and wherever it is started (decision #39)."""
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        *streamlit_flags(),
        f"--server.port={port}",
    ]
    if secrets_file is not None:
        command.append(f"--secrets.files={secrets_file}")
    return command


def _cwd() -> Path | None:
    """A checkout's own folder, where its `.streamlit/secrets.toml` is (the settings come as
    options); elsewhere the folder the command was started in."""
    return PROJECT if (PROJECT / ".streamlit" / "config.toml").exists() else None


def _healthy(url: str) -> bool:
    try:
        # Always http://127.0.0.1:<port>, built here.
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait_until_ready(process: subprocess.Popen[bytes], url: str) -> bool:
    """Whether Streamlit answers its health check (False: it exited, or took too long)."""
    deadline = time.monotonic() + READY_WITHIN
    while process.poll() is None and time.monotonic() < deadline:
        if _healthy(url):
            return True
        time.sleep(0.2)  # polling interval while the server starts
    return False


def _end(process: subprocess.Popen[bytes]) -> None:
    """Stop a child: ask (SIGTERM), then insist (SIGKILL) if it has not gone in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_WITHIN)


def _last_lines(path: Path, count: int = 15) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(f"  {line}" for line in lines[-count:])


def _start_streamlit(
    port: int, secrets_file: Path | None, log: IO[bytes], env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        streamlit_command(port=port, secrets_file=secrets_file),
        cwd=_cwd(),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


DEMO_EXTRA = "closure-readiness[demo]"
"""What to install for the demo's local sign-in provider."""


def missing_demo_parts() -> list[str]:
    """The demo's packages that are not installed (none when the [demo] extra is)."""
    return [name for name in ("oidc_provider_mock", "werkzeug") if find_spec(name) is None]


def demo(settings: Settings, addresses: Addresses, *, seed_if_missing: bool = True) -> int:
    """Seed (or reuse) the demo database, start the provider and the app, wait for Ctrl+C.

    Ctrl+C, SIGTERM or SIGHUP stops both; the exit status is then 0.
    """
    if settings.environment is Environment.PROD:
        raise LaunchRefused("The demo sign-in cannot run in production (CLOSURE_ENVIRONMENT=prod).")
    if missing_demo_parts():
        raise LaunchRefused(
            "The demo needs its local sign-in provider, which is not installed. Install it with: "
            f"pip install '{DEMO_EXTRA}'"
        )
    with stopped_by_signals():
        try:
            return _demo(settings, addresses, seed_if_missing=seed_if_missing)
        except (KeyboardInterrupt, Stopped):
            print("Demo stopped.", flush=True)
            return 0


def _demo(settings: Settings, addresses: Addresses, *, seed_if_missing: bool) -> int:
    import datetime as dt

    from closure_readiness.demo.seed import DEMO_ACCOUNTS, seed

    if not isinstance(settings.db, Path):
        raise LaunchRefused(
            "The demo keeps its synthetic data in an SQLite file of its own (--db FILE); it "
            "does not run on a PostgreSQL database. Use `closure-readiness run` for one."
        )
    _refuse_busy_port(addresses.app_port, "app", "--port")
    _refuse_busy_port(addresses.provider_port, "sign-in provider", "--provider-port")
    if not settings.db.exists() and seed_if_missing:
        print("Setting up the demo database with synthetic cases...", flush=True)
        seed(settings.db, issuer=addresses.issuer, today=dt.datetime.now(dt.UTC).date())
    logs = settings.db.parent / "logs"
    print(f"Starting the sign-in provider and the app (logs in {logs}/)...", flush=True)
    # Streamlit starts first: it takes the longest and needs nothing from the provider until
    # someone signs in, whose address is known from its port. The provider and the check of a
    # reused database run while Streamlit starts (decision #62).
    secrets_file = write_secrets(
        settings.db.parent / "demo-secrets.toml", app_url=addresses.app_url, issuer=addresses.issuer
    )
    env = {
        **os.environ,
        "CLOSURE_DB": str(settings.db.resolve()),
        "CLOSURE_ENVIRONMENT": settings.environment.value,
        "CLOSURE_DEMO_SIGN_IN": "true",
    }
    streamlit_log = logs / "streamlit.log"
    logs.mkdir(parents=True, exist_ok=True)
    process = None
    try:
        with signals_held(), streamlit_log.open("wb") as log:
            process = _start_streamlit(addresses.app_port, secrets_file, log, env)
        _refuse_other_issuer(settings, addresses)
        with (
            provider_log(logs / "provider.log"),
            sign_in_provider(addresses.provider_port) as issuer,
        ):
            if not _wait_until_ready(process, addresses.app_url):
                return _failed(process, streamlit_log)
            print(f"Closure Readiness demo: {addresses.app_url}")
            print(f"Sign-in provider (local, demo only): {issuer}")
            print("Demo accounts (choose one on the sign-in page):")
            for account in DEMO_ACCOUNTS:
                team = f", {account.team}" if account.team else ""
                print(f"  {account.subject:<12} {account.role.label}{team}")
            print(f"Logs: {logs / 'provider.log'} and {streamlit_log}")
            print("Press Ctrl+C to stop.", flush=True)
            code = process.wait()
            if code != 0:
                return _failed(process, streamlit_log)
            return 0
    finally:
        if process is not None:
            _end(process)


def _failed(process: subprocess.Popen[bytes], log: Path) -> int:
    """Say that the app stopped (or never answered), with the end of its log."""
    _end(process)
    code = process.returncode
    print(
        f"The app stopped unexpectedly (exit code {code}). The end of {log}:\n{_last_lines(log)}",
        file=sys.stderr,
        flush=True,
    )
    return code if code else 1


def _refuse_other_issuer(settings: Settings, addresses: Addresses) -> None:
    """Demo staff are keyed by the provider's address: a reused database must match it."""
    from closure_readiness.service import staff
    from closure_readiness.service.context import SYSTEM, Context

    issuers = {m.issuer for m in staff.list_staff(Context(settings.db), SYSTEM)}
    assert isinstance(settings.db, Path)  # _demo refused a PostgreSQL database
    if issuers and addresses.issuer not in issuers:
        raise LaunchRefused(
            f"The demo database {settings.db} was made for sign-in at {', '.join(sorted(issuers))}"
            f"; start with that --provider-port, or delete {settings.db.parent} to start afresh."
        )


MAX_PROCESSES = 16
"""More server processes than this on one host is a mistake in the number, not a plan."""
RESTART_AFTER = 1.0
"""Seconds before a server process that stopped unexpectedly is started again."""
QUICK_FAILURE = 30.0
"""A process that stops within this many seconds of starting, three times running, is not
restarted again: it is failing on start (a bad setting, a busy port), not crashing in use."""


def run(settings: Settings, *, port: int, processes: int = 1) -> int:
    """Start the app for real use: settings and [auth] secrets from the environment.

    With `processes` above 1, that many Streamlit servers listen on `port`, `port` + 1, ...
    (the reverse proxy shares the sessions among them, each person staying with one: see
    deploy/nginx/closure-readiness.conf), all on the same database. A server that stops
    unexpectedly is started again on its port; the others carry on.

    Streamlit's output stays on this terminal (the service manager's log); Ctrl+C, SIGTERM or
    SIGHUP stops every server. Refuses (LaunchRefused) to start without the sign-in settings,
    naming each one missing: nobody could sign in.
    """
    if not 1 <= processes <= MAX_PROCESSES:
        raise LaunchRefused(
            f"--processes must be between 1 and {MAX_PROCESSES} (one per core is a good start)."
        )
    settings.refuse_unsafe()
    try:
        settings.retention()  # a schedule that cannot be read stops the start, not a sign-off
    except ValueError as problem:
        raise LaunchRefused(str(problem)) from None
    folder = _cwd() or Path.cwd()
    missing = missing_sign_in(folder)
    if missing:
        raise LaunchRefused(
            "Sign-in is not set up, so nobody could sign in. Missing from Streamlit's secrets "
            f"(.streamlit/secrets.toml in {folder}, or in the home folder): {'; '.join(missing)}. "
            "docs/deployment.md says what to put there."
        )
    ports = [port + index for index in range(processes)]
    if processes > 1:
        for each in ports:
            _refuse_busy_port(each, "app", "--port")
    servers: dict[int, subprocess.Popen[bytes]] = {}
    with stopped_by_signals():
        try:
            for each in ports:
                with signals_held():
                    servers[each] = _start_app(each)
            if processes == 1:
                return servers[port].wait()
            return _supervise(servers)
        except (KeyboardInterrupt, Stopped):
            return 0
        finally:
            for process in servers.values():
                _end(process)


def _start_app(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        streamlit_command(port=port, secrets_file=None),
        cwd=_cwd(),
        stdin=subprocess.DEVNULL,
    )


def _supervise(servers: dict[int, subprocess.Popen[bytes]]) -> int:
    """Keep every server running until a stop signal: one that stops is started again, unless
    it keeps failing as it starts (then every server stops, with its exit code)."""
    started = dict.fromkeys(servers, time.monotonic())
    quick_failures = dict.fromkeys(servers, 0)
    print(
        f"Closure Readiness: {len(servers)} server processes on ports "
        f"{min(servers)}-{max(servers)} (127.0.0.1).",
        flush=True,
    )
    while True:
        for port, process in list(servers.items()):
            code = process.poll()
            if code is None:
                continue
            ran_for = time.monotonic() - started[port]
            quick_failures[port] = quick_failures[port] + 1 if ran_for < QUICK_FAILURE else 0
            if quick_failures[port] >= 3:
                print(
                    f"The app process on port {port} keeps stopping as it starts (exit code "
                    f"{code}); stopping every process.",
                    file=sys.stderr,
                    flush=True,
                )
                return code or 1
            print(
                f"The app process on port {port} stopped (exit code {code}); starting it "
                "again. The people it served sign in again; nothing they saved is lost.",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(RESTART_AFTER)
            with signals_held():
                servers[port] = _start_app(port)
            started[port] = time.monotonic()
        time.sleep(0.5)  # polling interval: a stopped process is noticed within half a second
