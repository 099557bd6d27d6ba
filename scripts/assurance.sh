#!/usr/bin/env bash
# flock's assurance figures (invariant runs and violations, re-entrancy drain, role-draw
# chi-square, untriaged Slither findings, the fault drills' figures), each against its goal;
# exits non-zero when any falls short. See scripts/assurance.py for the figures and options.
# Usage: bash scripts/assurance.sh [--invariant-runs N] [--measurements results/faults.json]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/assurance.py "$@"
