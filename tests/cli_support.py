"""Running the command line in-process, as the CLI tests do: click's CliRunner, with the
program's own name, and never a traceback or an exception other than the exit."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from closure_readiness.cli import cli


def invoke(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, [str(arg) for arg in args], prog_name="closure-readiness")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    return result
