#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine: a virtual environment with the
# pinned packages, and (for browser tests and PDF checks) Debian's Chromium, fonts and poppler,
# and PostgreSQL's server for the second storage engine's tests.
# Safe to run again: it only installs what is missing, and says nothing when nothing is.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
VENV="${VENV:-.venv}"
STEPS=3

step() { # step NUMBER WHAT: one line per stage, so a first set-up is never minutes of silence
    echo "Setting up: $2 ($1/$STEPS)..."
}

if [ ! -x "$VENV/bin/python" ]; then
    step 1 "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    step 2 "installing the pinned Python packages (a few minutes the first time)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -c constraints.txt -e '.[dev]'
    rm -f "$VENV"/.installed-*
    touch "$stamp"
    echo "Setting up: Python packages installed."
fi

if [ "${SKIP_SYSTEM_PACKAGES:-0}" != "1" ]; then
    missing=()
    if [ "${SKIP_BROWSER:-0}" != "1" ]; then
        [ -x /usr/bin/chromium ] || missing+=(chromium)
    fi
    [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
    command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
    # nginx: tests/test_reverse_proxy.py starts it on deploy/nginx/closure-readiness.conf.
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    # PostgreSQL's server: the tests start a throwaway cluster of their own on 127.0.0.1
    # (bench/postgres_cluster.py) to run the storage suites on the second engine.
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
    if [ "${#missing[@]}" -gt 0 ]; then
        step 3 "installing Debian packages: ${missing[*]}"
        if [ "$(id -u)" = "0" ]; then
            apt-get update -q
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
        else
            sudo apt-get update -q
            sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
        fi
        echo "Setting up: Debian packages installed."
    fi
fi
