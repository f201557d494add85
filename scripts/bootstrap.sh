#!/usr/bin/env bash
# Prepares a fresh checkout: a virtualenv with emailsched and its tools, and the built
# dashboard. Quick when nothing changed (it compares stamps with the files they come from).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "emailsched needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[dev]"
    touch .venv/.installed
fi

if command -v npm >/dev/null 2>&1; then
    if [ ! -d dashboard/node_modules ] || [ dashboard/package-lock.json -nt dashboard/node_modules/.package-lock.json ]; then
        (cd dashboard && npm ci --no-audit --no-fund --loglevel=error)
    fi
    if [ ! -f dashboard/dist/index.html ] || [ -n "$(find dashboard/src dashboard/index.html -newer dashboard/dist/index.html -print -quit)" ]; then
        (cd dashboard && npm run --silent build)
    fi
else
    echo "npm not found: the API runs, but without the dashboard (install Node.js 20)" >&2
fi
