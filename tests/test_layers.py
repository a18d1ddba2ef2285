"""The layers' imports point down only (architecture.md), as import-linter's contracts in
pyproject.toml say; ruff's banned-api guards third parties.

The contracts are run on the package, and on copies of it with one forbidden import added, to
show that each kind of breach is reported (a check that cannot fail proves nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "closure_readiness"
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _contracts() -> list[dict[str, object]]:
    with PYPROJECT.open("rb") as file:
        contracts: list[dict[str, object]] = tomllib.load(file)["tool"]["importlinter"]["contracts"]
    return contracts


def _contract_name(contract_id: str) -> str:
    return str(next(c["name"] for c in _contracts() if c["id"] == contract_id))


def _lint_imports(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the contracts against the package found first in `src`."""
    env = {**os.environ, "PYTHONPATH": str(src), "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(PYPROJECT)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_package_keeps_every_import_contract(tmp_path: Path) -> None:
    done = _lint_imports(ROOT / "src", tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in done.stdout


def test_every_part_of_the_package_has_a_layer() -> None:
    """A new top-level module or package outside the layers would be checked by no contract."""
    layers = next(c for c in _contracts() if c["type"] == "layers")
    assert isinstance(layers["layers"], list)
    named = {name.strip() for row in layers["layers"] for name in str(row).split("|")}
    parts = {
        path.name.removesuffix(".py")
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py")
        or (path.is_dir() and (path / "__init__.py").exists())
    }

    assert parts == named


@pytest.mark.parametrize(
    ("layer", "statement", "contract_id"),
    [
        # `from package import layer` slipped past the hand-written walk this replaces.
        ("core", "from closure_readiness import storage", "layers"),
        ("evidence", "import closure_readiness.service.context", "layers"),
        ("checks", "import streamlit", "pure"),
        ("core", "import sqlite3", "pure"),
        ("views", "from closure_readiness.storage import database", "views"),
        ("storage", "from closure_readiness.checks import REGISTRY", "storage"),
    ],
)
def test_the_contracts_report_a_forbidden_import(
    tmp_path: Path, layer: str, statement: str, contract_id: str
) -> None:
    copy = tmp_path / "src" / "closure_readiness"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / layer / "forbidden_here.py").write_text(statement + "\n", encoding="utf-8")

    done = _lint_imports(tmp_path / "src", tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{_contract_name(contract_id)} BROKEN" in done.stdout
    assert f"closure_readiness.{layer}.forbidden_here" in done.stdout
