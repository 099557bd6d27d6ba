#!/usr/bin/env bash
# Nightly-style invariant run: the Foundry invariant suite with 10,000 runs (CI runs 1,000).
# Usage: bash scripts/invariants.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10000}
FORGE=$(ls node_modules/@foundry-rs/forge-*/bin/forge | head -n 1)
FOUNDRY_PROFILE=nightly FOUNDRY_INVARIANT_RUNS=$RUNS "$FORGE" test --match-path 'contracts/test/Invariant.t.sol' -vv
echo "invariant_runs: $RUNS"
