"""The Streamlit configuration a server would actually run with, and where each option came from.

`streamlit run` is run for real in a child process, up to the moment it would start serving:
Streamlit's own command line parses the options and loads the config files it finds, then the
child prints the options Streamlit holds and stops. So a test reads what Streamlit applied, not
the text of a settings file or of a command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

FROM_THE_COMMAND_LINE = "command-line argument or environment variable"
"""What Streamlit says of an option given as `--section.option=value`."""

_REPORT = """
import json, os, sys
from streamlit import config
from streamlit.web import bootstrap, cli

def report(*args, **kwargs):
    keys = json.loads(os.environ["OPTIONS_TO_REPORT"])
    print(json.dumps({k: [config.get_option(k), config.get_where_defined(k)] for k in keys}))
    sys.exit(0)

bootstrap.run = report  # where the server would start
cli.check_credentials = lambda: None  # never ask for an e-mail address on standard input
sys.argv = ["streamlit", *sys.argv[1:]]
cli.main()
"""


@dataclass(frozen=True)
class Applied:
    """Option -> (value Streamlit applied, where it was defined)."""

    options: dict[str, tuple[object, str]]

    def value(self, key: str) -> object:
        return self.options[key][0]

    def source(self, key: str) -> str:
        return self.options[key][1]


def applied_options(
    streamlit_args: Sequence[str], keys: Iterable[str], *, cwd: Path, home: Path
) -> Applied:
    """Run `streamlit <streamlit_args>` in `cwd` (HOME=`home`) until it would serve; report `keys`.

    No STREAMLIT_* variable of this environment is passed on, so only the command line and the
    config files Streamlit finds count.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env["HOME"] = str(home)
    env["OPTIONS_TO_REPORT"] = json.dumps(sorted(keys))
    done = subprocess.run(
        [sys.executable, "-c", _REPORT, *streamlit_args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    reported = json.loads(done.stdout.strip().splitlines()[-1])
    return Applied({key: (value, where) for key, (value, where) in reported.items()})


def launcher_args(command: Sequence[str]) -> list[str]:
    """The `streamlit ...` arguments of the launcher's `python -m streamlit ...` command."""
    assert list(command[:3]) == [sys.executable, "-m", "streamlit"], command
    return list(command[3:])
