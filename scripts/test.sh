#!/usr/bin/env bash
# The whole test suite: setup (idempotent), lint, types, artifact freshness, Solidity tests, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
echo "== ruff"
.venv/bin/ruff check flock tests benchmarks
.venv/bin/ruff format --check flock tests benchmarks
echo "== mypy"
.venv/bin/mypy flock
echo "== contract artifacts"
$PY -m flock.contracts.build --check
echo "== forge test"
# the native binary: node_modules/.bin/forge is a node wrapper that does not pass on the exit code
FORGE=$(ls node_modules/@foundry-rs/forge-*/bin/forge | head -n 1)
"$FORGE" test
echo "== slither"
bash scripts/slither.sh
echo "== pytest"
# two workers (FLOCK_TEST_WORKERS): tests that start processes share one (tests/conftest.py)
$PY -m pytest -q -p no:cacheprovider -n "${FLOCK_TEST_WORKERS:-2}" --dist loadgroup "$@"
