"""Start the app: with a local sign-in provider and demo staff (demo), or for real use (run).

The demo's provider runs on 127.0.0.1 only and refuses to start when the environment is
production. No passwords exist anywhere: the provider lets you pick a demo account.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from closure_readiness.demo.seed import DEMO_ACCOUNTS
from closure_readiness.settings import Environment, Settings

APP = Path(__file__).resolve().parents[1] / "app.py"
PROJECT = Path(__file__).resolve().parents[3]
CLIENT_ID = "closure-readiness-demo"


class LaunchRefused(RuntimeError):
    """The launcher will not start with these settings; the message says why."""


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


@contextmanager
def sign_in_provider(port: int) -> Iterator[str]:
    """A local OpenID Connect provider with the demo accounts, on 127.0.0.1, in a thread."""
    import warnings

    import werkzeug.serving

    with warnings.catch_warnings():
        # The mock imports authlib modules that announce their own deprecation: demo noise.
        warnings.simplefilter("ignore")
        import oidc_provider_mock

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
    app.wsgi_app = getattr(app.wsgi_app, "app", app.wsgi_app)
    server = werkzeug.serving.make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="oidc-provider")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
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
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
    ]
    if secrets_file is not None:
        command.append(f"--secrets.files={secrets_file}")
    return command


def demo(settings: Settings, addresses: Addresses, *, seed_if_missing: bool = True) -> int:
    """Seed (or reuse) the demo database, start the provider and the app, wait for Ctrl+C."""
    if settings.environment is Environment.PROD:
        raise LaunchRefused("The demo sign-in cannot run in production (CLOSURE_ENVIRONMENT=prod).")
    import datetime as dt

    from closure_readiness.demo.seed import seed

    if not settings.db.exists() and seed_if_missing:
        seed(settings.db, issuer=addresses.issuer, today=dt.datetime.now(dt.UTC).date())
    _refuse_other_issuer(settings, addresses)
    with sign_in_provider(addresses.provider_port) as issuer:
        secrets_file = write_secrets(
            settings.db.parent / "demo-secrets.toml", app_url=addresses.app_url, issuer=issuer
        )
        env = {
            **os.environ,
            "CLOSURE_DB": str(settings.db.resolve()),
            "CLOSURE_ENVIRONMENT": settings.environment.value,
            "CLOSURE_DEMO_SIGN_IN": "true",
        }
        print(f"Closure Readiness demo: {addresses.app_url}")
        print(f"Sign-in provider (local, demo only): {issuer}")
        print("Demo accounts (choose one on the sign-in page):")
        for account in DEMO_ACCOUNTS:
            team = f", {account.team}" if account.team else ""
            print(f"  {account.subject:<12} {account.role.label}{team}")
        print("Press Ctrl+C to stop.", flush=True)
        process = subprocess.Popen(
            streamlit_command(port=addresses.app_port, secrets_file=secrets_file),
            cwd=PROJECT if (PROJECT / ".streamlit" / "config.toml").exists() else None,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait(timeout=10)
            return 0


def _refuse_other_issuer(settings: Settings, addresses: Addresses) -> None:
    """Demo staff are keyed by the provider's address: a reused database must match it."""
    from closure_readiness.service import staff
    from closure_readiness.service.context import SYSTEM, Context

    issuers = {m.issuer for m in staff.list_staff(Context(settings.db), SYSTEM)}
    if issuers and addresses.issuer not in issuers:
        raise LaunchRefused(
            f"The demo database {settings.db} was made for sign-in at {', '.join(sorted(issuers))}"
            f"; start with that --provider-port, or delete {settings.db.parent} to start afresh."
        )


def run(settings: Settings, *, port: int) -> int:
    """Start the app for real use: settings and [auth] secrets from the environment."""
    settings.refuse_unsafe()
    process = subprocess.Popen(
        streamlit_command(port=port, secrets_file=None),
        cwd=PROJECT if (PROJECT / ".streamlit" / "config.toml").exists() else None,
        stdin=subprocess.DEVNULL,
    )
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=10)
        return 0
