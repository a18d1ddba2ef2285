#!/usr/bin/env bash
# Run every check the project has: lint, format, types, generated docs, and the whole test suite.
# Sets the machine up first (scripts/setup.sh), so it works on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${VENV:-.venv}"
export PATH="$PWD/$VENV/bin:$PATH"

echo "== ruff (lint and format)"
ruff check .
ruff format --check .
echo "== mypy"
mypy
echo "== import contracts (layers point down only)"
lint-imports --no-cache --no-logo
echo "== generated check reference is up to date"
closure-readiness docs --check --out docs/checks.md
echo "== pytest"
if [ -n "${CI:-}" ]; then export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"; fi
pytest -n "${PYTEST_WORKERS:-2}" "$@"
