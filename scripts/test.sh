#!/usr/bin/env bash
# The whole test suite: lint, types, dashboard tests, then every Python tier against real
# services (the machine's Postgres and Redis where they answer, embedded ones otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/mypy
if [ -d dashboard/node_modules ]; then
    (cd dashboard && npm run --silent typecheck && npm test --silent)
fi
.venv/bin/pytest "$@"
