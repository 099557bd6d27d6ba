#!/usr/bin/env bash
# Static analysis: Slither over the production contracts (contracts/*.sol; not contracts/test/,
# not node_modules/), compiled as forge compiles them: remappings, via-IR, evm version and
# optimizer come from `forge config --json`, the compiler is scripts/solc.js. Then
# scripts/slither_triage.py checks every High/Medium finding against contracts/slither-triage.json
# and fails when one is not triaged there.
# Slither 0.11.6 requires web3 < 8, so it runs from its own venv (.venv-slither, made on first use).
# Usage: bash scripts/slither.sh        (the findings land in results/slither.json)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
VENV=.venv-slither
SLITHER_VERSION=0.11.6
if [ "$("$VENV/bin/slither" --version 2>/dev/null)" != "$SLITHER_VERSION" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet "slither-analyzer==$SLITHER_VERSION" 2>&1 | grep -v "is ignored" || true
fi
FORGE=$(ls node_modules/@foundry-rs/forge-*/bin/forge | head -n 1)

# Work outside the repository: crytic-compile walks up from its working directory and, finding
# foundry.toml, would run its own `forge build --force` (rewriting out/ and cache/).
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The standard-JSON input forge would hand the compiler, with absolute paths.
"$FORGE" config --json | "$VENV/bin/python" -c '
import glob, json, os, sys
root, cfg = sys.argv[1], json.load(sys.stdin)
files = sorted(glob.glob(os.path.join(root, cfg["src"], "*.sol")))
remaps = []
for remap in cfg["remappings"]:
    prefix, target = remap.split("=", 1)
    remaps.append(prefix + "=" + os.path.join(root, target))
settings = {
    "remappings": remaps,
    "viaIR": cfg["via_ir"],
    "evmVersion": cfg["evm_version"],
    "optimizer": {"enabled": cfg["optimizer"], "runs": cfg["optimizer_runs"]},
}
sources = {f: {"urls": [f]} for f in files}
json.dump({"language": "Solidity", "sources": sources, "settings": settings}, sys.stdout)
' "$ROOT" > "$WORK/input.json"

# Slither exits non-zero whenever it reports anything: the triage step decides.
(cd "$WORK" && "$ROOT/$VENV/bin/slither" input.json \
  --compile-force-framework solc-json --solc-standard-json --solc "$ROOT/scripts/solc.js" \
  --filter-paths 'node_modules|contracts/test' \
  --json "$WORK/slither.json" > "$WORK/slither.log" 2>&1) || true
mkdir -p results
if [ ! -s "$WORK/slither.json" ]; then
  tail -n 40 "$WORK/slither.log" >&2
  echo "slither produced no JSON output" >&2
  exit 2
fi
cp "$WORK/slither.json" results/slither.json
PY=.venv/bin/python
[ -x "$PY" ] || PY=$PYTHON
"$PY" scripts/slither_triage.py results/slither.json contracts/slither-triage.json --root "$ROOT"
