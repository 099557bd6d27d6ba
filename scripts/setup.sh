#!/usr/bin/env bash
# Set up flock on a fresh machine: .venv with pinned torch first, the package with its dev and
# simulation (Ray) extras, then the pinned Node tools (solc, OpenZeppelin, forge, anvil, cast) under node_modules/,
# and, in parallel, Debian's chromium, chromium-driver and fortunes (browser test, text task).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# Debian packages, installed in the background while pip works (one apt-get run; skipped when
# all are there): headless Chromium and its driver, for the dashboard's browser test and
# screenshot, and the fortunes corpus (/usr/share/games/fortunes), the text task's data
# (dataset=text). Never fails the setup: without apt (or root) those tests skip and say why.
apt_packages() {
  local wanted=()
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    wanted+=(chromium chromium-driver fonts-liberation)
  fi
  if [ ! -f /usr/share/games/fortunes/computers ]; then wanted+=(fortunes); fi
  if [ ${#wanted[@]} -eq 0 ]; then return 0; fi
  local apt=(apt-get)
  if [ "$(id -u)" -ne 0 ]; then apt=(sudo -n apt-get); fi
  if command -v apt-get >/dev/null 2>&1 && "${apt[@]}" update -qq >/dev/null 2>&1 \
    && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends \
      "${wanted[@]}" >/dev/null 2>&1; then
    echo "installed: ${wanted[*]}"
  else
    echo "note: could not apt-get install ${wanted[*]}; the dashboard's browser test and the" \
      "text task's tests skip without them" >&2
  fi
}
apt_packages &
APT_JOB=$!
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
# torch first and pinned: anything unpinned pulls a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[dev,simulation]"
if [ ! -x node_modules/.bin/forge ] || [ ! -x node_modules/.bin/cast ] || [ ! -d node_modules/solc ] || [ ! -d node_modules/@openzeppelin/contracts ]; then
  # npm install (not npm ci): foundry ships per-platform optional packages a lock cannot hold.
  npm install --no-audit --no-fund --loglevel=error
fi
wait "$APT_JOB"
echo "flock setup done: $(.venv/bin/python -c 'import torch, flwr, web3; print("torch", torch.__version__, "flwr", flwr.__version__, "web3", web3.__version__)')"
