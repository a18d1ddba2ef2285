"""A throwaway PostgreSQL cluster on 127.0.0.1, for the tests and the load benchmark.

Debian's packages put the server in /usr/lib/postgresql/VERSION/bin (`scripts/setup.sh`
installs them). The cluster lives in a temporary folder, listens only on loopback with trust
authentication for its one role, and is removed when stopped. PostgreSQL refuses to run as
root, so as root (CI) it runs as the `postgres` account the Debian package creates.

    with Cluster.started() as cluster:
        url = cluster.create_database("store")   # postgresql://closure@127.0.0.1:PORT/store
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import free_port

ROLE = "closure"


class NoPostgres(RuntimeError):
    """The server's programs are not installed: `bash scripts/setup.sh` installs them."""


def bin_dir() -> Path:
    """The newest installed server's programs (initdb, postgres, pg_ctl)."""
    override = os.environ.get("CLOSURE_PG_BIN")
    if override:
        return Path(override)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise NoPostgres(
            "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "`bash scripts/setup.sh` installs Debian's postgresql package."
        )
    return found[-1].parent


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass
class Cluster:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    databases: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{database}"

    @classmethod
    @contextlib.contextmanager
    def started(cls, *, durable: bool = False) -> Iterator[Cluster]:
        """A new cluster, stopped and removed afterwards. `durable`: fsync as in production
        (the load benchmark, comparing with SQLite's synchronous=FULL); off for the tests."""
        cluster = cls.start(durable=durable)
        try:
            yield cluster
        finally:
            cluster.stop()

    @classmethod
    def start(cls, *, durable: bool = False) -> Cluster:
        programs = bin_dir()
        root = Path(tempfile.mkdtemp(prefix="closure-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        cluster = cls(root=root, port=free_port())
        subprocess.run(
            _as_server_user(
                [
                    str(programs / "initdb"),
                    "-D",
                    str(cluster.data),
                    "-U",
                    ROLE,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        settings = [
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"unix_socket_directories={root}",
            "-c", "max_connections=200",
            "-c", f"fsync={'on' if durable else 'off'}",
            "-c", f"synchronous_commit={'on' if durable else 'off'}",
            "-c", f"full_page_writes={'on' if durable else 'off'}",
        ]  # fmt: skip
        log = open(root / "server.log", "wb")  # noqa: SIM115 (the server writes to it)
        cluster.process = subprocess.Popen(
            _as_server_user(
                [
                    str(programs / "postgres"),
                    "-D",
                    str(cluster.data),
                    "-p",
                    str(cluster.port),
                    *settings,
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        cluster._wait_ready()
        return cluster

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL did not start:\n{self.log()}")
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not answer:\n{self.log()}") from None
                time.sleep(0.1)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new, empty database (or a copy of `template`), and its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template is not None:
                statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            conn.execute(statement)
        self.databases.append(name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # SIGINT to the whole group (the server, and runuser when root started it):
            # PostgreSQL's "fast" shutdown, which ends its sessions instead of waiting for them.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
