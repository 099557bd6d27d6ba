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
node_modules/.bin/forge test
echo "== pytest"
$PY -m pytest -q -p no:cacheprovider "$@"
