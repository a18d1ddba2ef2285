#!/usr/bin/env bash
# Set up and show the product. For now: evaluate the example reviews from the command line.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_SYSTEM_PACKAGES=1 bash scripts/setup.sh
VENV="${VENV:-.venv}"
for file in examples/ready-three-agencies-sustained-change.json examples/blocked-*.json; do
    [ -f "$file" ] || continue
    echo "== closure-readiness check $file"
    "$VENV/bin/closure-readiness" check "$file" || true
    echo
done
