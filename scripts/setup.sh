#!/usr/bin/env bash
# Set up flock on a fresh machine: .venv with pinned torch first, the package with its dev and
# simulation (Ray) extras, then the pinned Node tools (solc, OpenZeppelin, forge, anvil, cast) under node_modules/,
# then Debian's chromium and chromium-driver (the dashboard's browser test).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
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
# Headless Chromium and its driver, for the dashboard's browser test and screenshot (Debian's
# packages; skipped when both are there). Never fails the setup: without apt (or root) the
# browser test skips and says why.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  APT=(apt-get)
  if [ "$(id -u)" -ne 0 ]; then APT=(sudo -n apt-get); fi
  if command -v apt-get >/dev/null 2>&1 && "${APT[@]}" update -qq >/dev/null 2>&1 \
    && DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq --no-install-recommends \
      chromium chromium-driver fonts-liberation >/dev/null 2>&1; then
    echo "chromium installed: $(chromium --version 2>/dev/null)"
  else
    echo "note: could not apt-get install chromium chromium-driver; the dashboard's browser test will skip" >&2
  fi
fi
# Debian's fortunes corpus (/usr/share/games/fortunes): the text task's data (dataset=text).
# Idempotent, and never fails the setup: without apt (or root) the text tests skip and say why.
if [ ! -f /usr/share/games/fortunes/computers ]; then
  APT=(apt-get)
  if [ "$(id -u)" -ne 0 ]; then APT=(sudo -n apt-get); fi
  if command -v apt-get >/dev/null 2>&1 && { DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq \
      --no-install-recommends fortunes >/dev/null 2>&1 || { "${APT[@]}" update -qq >/dev/null 2>&1 \
      && DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq --no-install-recommends fortunes \
      >/dev/null 2>&1; }; }; then
    echo "fortunes installed"
  else
    echo "note: could not apt-get install fortunes; the text task's tests will skip" >&2
  fi
fi
echo "flock setup done: $(.venv/bin/python -c 'import torch, flwr, web3; print("torch", torch.__version__, "flwr", flwr.__version__, "web3", web3.__version__)')"
