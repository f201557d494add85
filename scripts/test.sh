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
if [ "$#" -gt 0 ]; then
    exec .venv/bin/pytest "$@"
fi
# The tiers that mostly wait on sockets and sleeps run side by side, a test file per worker
# (each worker has its own database, moto and LocalStack); the ones that time processes,
# kill them or drive a browser run alone, so nothing else competes for the two cores.
.venv/bin/pytest -n "${EMAILSCHED_TEST_WORKERS:-3}" --dist loadfile --durations=15 \
    tests/unit tests/integration tests/infra tests/bench
.venv/bin/pytest --durations=15 tests/e2e tests/browser
# Alone again: the browser session's Chromium and stack stay up until their session ends.
.venv/bin/pytest --durations=15 tests/reliability
