"""The layers' imports point down only (architecture.md); ruff's banned-api guards third parties."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "closure_readiness"

# Which of our own layers each layer may import (itself always allowed).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "evidence": {"core"},
    "checks": {"core", "evidence"},
    "storage": {"core"},
    "report": {"core", "evidence", "checks"},
    "service": {"core", "evidence", "checks", "storage", "report", "settings"},
    "views": {"core", "evidence", "checks", "service", "settings"},
    "settings": {"core", "checks"},
    "demo": {"core", "checks", "service", "settings"},
    "app": {"core", "checks", "service", "views", "settings"},
    "cli": {"core", "evidence", "checks", "storage", "report", "service", "settings", "demo"},
}
PURE = {"core", "evidence", "checks"}
THIRD_PARTY_FOR_PURE = {"streamlit", "sqlite_utils", "sqlite3", "reportlab", "pandas"}


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_layers_below_it(path: Path) -> None:
    layer = _layer(path)
    assert layer in ALLOWED, f"{layer} is not a known layer: add it to ALLOWED"
    for name in _imports(path):
        if name.startswith("closure_readiness."):
            target = name.split(".")[1]
            assert target == layer or target in ALLOWED[layer], f"{layer} imports {name}"
        if layer in PURE:
            assert name.split(".")[0] not in THIRD_PARTY_FOR_PURE, f"{layer} imports {name}"


def test_layer_check_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from closure_readiness.storage import database\n", encoding="utf-8")
    assert "closure_readiness.storage" in _imports(bad)
    assert "storage" not in ALLOWED["core"]
