"""Settings from the environment (prefix CLOSURE_); production refuses unsafe combinations."""

from __future__ import annotations

import functools
import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, PlainValidator, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from closure_readiness.checks.thresholds import DEFAULT_THRESHOLDS, Thresholds
from closure_readiness.core.case_reference import NAME_SAMPLES
from closure_readiness.core.location import Store, parse_store
from closure_readiness.core.retention import DEFAULT_POLICY, RetentionPolicy, read_policy
from closure_readiness.hardening import STREAMLIT_SETTINGS as STREAMLIT_SETTINGS
from closure_readiness.hardening import streamlit_flags as streamlit_flags
from closure_readiness.hardening import streamlit_options as streamlit_options

DEFAULT_DB = Path("data/closure-readiness.db")


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class UnsafeSettings(ValueError):
    """Production was asked to start with settings that would put data at risk."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLOSURE_", extra="ignore")

    environment: Environment = Environment.DEV
    db: Annotated[Store, PlainValidator(parse_store)] = Field(
        default=DEFAULT_DB,
        description="SQLite database file, or a postgresql:// URL (CLOSURE_DB)",
    )
    thresholds_file: Path | None = Field(default=None, description="JSON thresholds to use")
    session_max_age_hours: float = Field(default=10.0, gt=0, le=24)
    idle_timeout_minutes: float = Field(default=30.0, gt=0, le=480)
    demo_sign_in: bool = Field(default=False, description="local OIDC provider with demo staff")
    case_reference_pattern: str | None = Field(
        default=None,
        description="the council's case reference form, a regular expression the whole "
        "reference (in capitals) must match (CLOSURE_CASE_REFERENCE_PATTERN); unset: the "
        "default rule (at least one number, not written like a name)",
    )

    separate_exception_and_countersign: bool = Field(
        default=True,
        description="separation of duties (CLOSURE_SEPARATE_EXCEPTION_AND_COUNTERSIGN): a "
        "manager who granted an exception a decision relies on may not countersign it; "
        "another manager of the team must",
    )

    retention_file: Path | None = Field(
        default=None,
        description="the council's retention schedule, a TOML file with one table per type of "
        "involvement (CLOSURE_RETENTION_FILE); unset: the defaults in docs/operations.md",
    )

    @field_validator("case_reference_pattern")
    @classmethod
    def _pattern_refuses_names(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            pattern = re.compile(value)
        except re.error as error:
            raise ValueError(
                f"the case reference pattern is not a regular expression: {error}"
            ) from None
        accepted = [name for name in NAME_SAMPLES if pattern.fullmatch(name)]
        if accepted:
            raise ValueError(
                f"the case reference pattern accepts a name ({accepted[0]}); it must refuse names"
            )
        return value

    def thresholds(self) -> Thresholds:
        if self.thresholds_file is None:
            return DEFAULT_THRESHOLDS
        return Thresholds.model_validate_json(self.thresholds_file.read_text(encoding="utf-8"))

    def retention(self) -> RetentionPolicy:
        if self.retention_file is None:
            return DEFAULT_POLICY
        return _policy(self.retention_file)

    def refuse_unsafe(self) -> None:
        """Raise UnsafeSettings when production would run with demo or data-losing settings."""
        if self.environment is not Environment.PROD:
            return
        problems = []
        if self.demo_sign_in:
            problems.append("demo sign-in is enabled (CLOSURE_DEMO_SIGN_IN)")
        if isinstance(self.db, Path) and (self.db == DEFAULT_DB or not self.db.is_absolute()):
            problems.append("the database path is the default or relative; set CLOSURE_DB")
        if problems:
            raise UnsafeSettings("Refusing to start in production: " + "; ".join(problems))


@functools.cache
def _policy(path: Path) -> RetentionPolicy:
    """Read once per process (the app builds a context on every run): a changed schedule
    applies from the next start."""
    return read_policy(path)


class SettingsProblem(ValueError):
    """A CLOSURE_ setting is not valid; the message names each one and says why."""


def load_settings() -> Settings:
    """The settings from the environment, or SettingsProblem naming each setting at fault."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"CLOSURE_{'_'.join(map(str, e['loc'])).upper()}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in error.errors(include_url=False)
        )
        raise SettingsProblem(f"The settings are not valid: {problems}") from None


SIGN_IN_KEYS = (
    "redirect_uri",
    "cookie_secret",
    "client_id",
    "client_secret",
    "server_metadata_url",
)
"""What Streamlit's [auth] section must hold for the app's sign-in (docs/deployment.md)."""


def missing_sign_in(folder: Path) -> list[str]:
    """The sign-in settings that the secrets files Streamlit reads for an app started in `folder`
    (~/.streamlit/secrets.toml, then the folder's .streamlit/secrets.toml) leave out, written as
    `[auth] name`; or, for a file that is not readable TOML, what is wrong with it."""
    auth: dict[str, object] = {}
    problems: list[str] = []
    for where in (Path.home(), folder):
        path = where / ".streamlit" / "secrets.toml"
        try:
            with path.open("rb") as file:
                section = tomllib.load(file).get("auth", {})
        except FileNotFoundError:
            continue
        except (OSError, tomllib.TOMLDecodeError) as error:
            problems.append(f"{path} cannot be read ({error})")
            continue
        if isinstance(section, dict):
            auth.update(section)
    missing = [f"[auth] {key}" for key in SIGN_IN_KEYS if not str(auth.get(key, "")).strip()]
    return problems + missing
