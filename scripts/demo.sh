#!/usr/bin/env bash
# Set up and start the demo: synthetic data, local sign-in and the app, all on 127.0.0.1.
# Reuses the demo database in data/demo/ if it exists; delete that folder to start afresh.
# Ctrl+C, or SIGTERM to this process (it becomes the launcher), stops the provider and the app;
# their logs are in data/demo/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_BROWSER=1 bash scripts/setup.sh
VENV="${VENV:-.venv}"
exec "$VENV/bin/closure-readiness" demo "$@"
