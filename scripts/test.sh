#!/usr/bin/env bash
# The whole test suite: setup (idempotent), lint, types, artifact freshness, Solidity tests, pytest.
# The three Solidity compiles (forge's build, slither's and the artifact check's) each run on one
# core in the wasm compiler, so forge's build and slither start in the background while ruff,
# mypy and the artifact check run; their logs are printed in order when each is waited for.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
# the native binary: node_modules/.bin/forge is a node wrapper that does not pass on the exit code
FORGE=$(ls node_modules/@foundry-rs/forge-*/bin/forge | head -n 1)
LOGS=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$LOGS"' EXIT
"$FORGE" build > "$LOGS/forge-build.log" 2>&1 &
FORGE_BUILD=$!
bash scripts/slither.sh > "$LOGS/slither.log" 2>&1 &
SLITHER=$!
# print a background step's log, then fail with its exit code if it failed
finish() {
  local pid=$1 log=$2 rc=0
  wait "$pid" || rc=$?
  cat "$log"
  return "$rc"
}
echo "== ruff"
.venv/bin/ruff check flock tests benchmarks
.venv/bin/ruff format --check flock tests benchmarks
echo "== mypy"
.venv/bin/mypy flock
echo "== contract artifacts"
$PY -m flock.contracts.build --check
echo "== forge build"
finish "$FORGE_BUILD" "$LOGS/forge-build.log"
echo "== forge test"
"$FORGE" test
echo "== slither"
finish "$SLITHER" "$LOGS/slither.log"
echo "== pytest"
# two workers (FLOCK_TEST_WORKERS): tests that start processes share one (tests/conftest.py)
$PY -m pytest -q -p no:cacheprovider -n "${FLOCK_TEST_WORKERS:-2}" --dist loadgroup "$@"
