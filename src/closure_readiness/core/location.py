"""Where the data is: an SQLite file (the embedded default) or a PostgreSQL database.

`CLOSURE_DB` takes a path or a `postgresql://` URL (decision #72). Every layer carries the
location as it came and asks storage to open it; only storage tells them apart. A URL's
password never appears in a message, a log line or a page (`str` and `repr` leave it out).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class PostgresURL:
    """A PostgreSQL database, as a libpq connection URL."""

    url: str = field(repr=False)

    def __repr__(self) -> str:
        return f"PostgresURL({str(self)!r})"

    def __str__(self) -> str:
        """The URL without its password: safe for a message, a log line or a page."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))


Store = Path | PostgresURL


def is_postgres_url(text: str) -> bool:
    return text.strip().lower().startswith(_SCHEMES)


def parse_store(value: str | Path | PostgresURL) -> Store:
    """A setting's text as a location: a `postgresql://` URL, otherwise a file path."""
    if isinstance(value, PostgresURL | Path):
        return value
    text = value.strip()
    if is_postgres_url(text):
        return PostgresURL(re.sub(r"^postgres://", "postgresql://", text, flags=re.IGNORECASE))
    return Path(text)


def store_key(store: Store) -> str:
    """One text per database, for caches and pools: the resolved path, or the URL."""
    if isinstance(store, PostgresURL):
        return store.url
    return resolved(store)


def resolved(path: Path) -> str:
    """The path made absolute with its links followed, as text, worked out once per path.

    Every page run asks for it several times (the pool, migrations, audited reads), and
    resolving stats each component of the path: under load each stat gives up the GIL and
    waits its turn to get it back. A link changed after the server started is not followed
    again; the pool still checks which file the path names before each use (`_identity`)."""
    text = str(path)
    return _resolved(text, "" if path.is_absolute() else os.getcwd())


@functools.lru_cache(maxsize=256)
def _resolved(text: str, cwd: str) -> str:
    return str(Path(cwd, text).resolve())
