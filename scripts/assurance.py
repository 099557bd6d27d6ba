"""flock's assurance figures, each against its goal; exits 1 when any falls short.

Usage: .venv/bin/python scripts/assurance.py [--invariant-runs N] [--measurements PATH]
(or `bash scripts/assurance.sh`). About 12 minutes on 2 cores, most of it the 10,000-run
invariant campaign.

Figures (name: value, then `# goal ... (met | SHORT)`):
  invariant_runs                 runs of the Foundry invariant campaign (scripts/invariants.sh)
  violations                     invariants that failed in it
  reentrancy_drained_wei         tokens re-entrant attackers took beyond their entitlement,
                                 summed over contracts/test/Reentrancy.t.sol
  chi2_p                         chi-square p-value of how often each of 10 participants is
                                 drawn proposer over 10,000 seeds (flock.roles.fairness)
  slither_high_medium_untriaged  Slither High/Medium findings not triaged in
                                 contracts/slither-triage.json (scripts/slither.sh)
  dropout_rounds_finished        the fault drills' figures, read from results/faults.json
  resume_accuracy_delta_pts      (benchmarks/faults.py; --measurements picks another file):
  double_payments                {"dropout_rounds": R, "dropout_rounds_finished": F,
                                  "resume_accuracy_delta_pts": D, "double_payments": P}
A figure that could not be measured prints `<name>: not measured` and falls short.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEASUREMENTS = ROOT / "results" / "faults.json"  # written by benchmarks/faults.py
INVARIANT_RUNS_GOAL = 10_000
CHI2_P_MIN = 0.01
RESUME_DELTA_MAX_PTS = 0.5


@dataclass(frozen=True)
class Figure:
    """One measured figure against its goal (value None: not measured)."""

    name: str
    value: float | int | None
    goal: str
    met: bool

    def line(self) -> str:
        if self.value is None:
            return f"{self.name}: not measured  # goal {self.goal} (SHORT)"
        shown = f"{self.value:.4f}" if isinstance(self.value, float) else str(self.value)
        return f"{self.name}: {shown}  # goal {self.goal} ({'met' if self.met else 'SHORT'})"


def _figure(name: str, value: float | int | None, goal: str, ok: Callable[[float], bool]) -> Figure:
    return Figure(name, value, goal, value is not None and ok(value))


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    print(f"assurance: running {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    return proc.returncode, proc.stdout + proc.stderr


def _forge() -> str:
    return str(next((ROOT / "node_modules" / "@foundry-rs").glob("forge-*/bin/forge")))


def invariant_figures(runs: int) -> list[Figure]:
    """invariant_runs and violations from scripts/invariants.sh."""
    rc, out = _run(["bash", "scripts/invariants.sh", str(runs)])
    # "[PASS] invariant_x() (runs: N, ...)"; a failure prints its call sequence first
    done = [int(n) for n in re.findall(r"invariant_\w+\(\) \(runs: (\d+)", out)]
    failed = [int(n) for n in re.findall(r"Suite result: \w+\. \d+ passed; (\d+) failed", out)]
    if not done or not failed and rc != 0:
        print(out[-3000:], file=sys.stderr)
    violations = sum(failed) if failed else None
    if rc != 0 and not violations:
        violations = None  # the run failed for a reason its output does not name
    return [
        _figure(
            "invariant_runs",
            min(done) if done else None,
            f">= {INVARIANT_RUNS_GOAL}",
            lambda v: v >= INVARIANT_RUNS_GOAL,
        ),
        _figure("violations", violations, "== 0", lambda v: v == 0),
    ]


def reentrancy_figure() -> Figure:
    """Sum of the `reentrancy_drained_wei` lines the re-entrancy suite logs."""
    cmd = [_forge(), "test", "--match-path", "contracts/test/Reentrancy.t.sol", "-vv"]
    rc, out = _run(cmd)
    drained = [int(n) for n in re.findall(r"reentrancy_drained_wei: (\d+)", out)]
    if rc != 0 or not drained:
        print(out[-3000:], file=sys.stderr)
    value = sum(drained) if drained else None
    goal = "== 0, every re-entrancy test passing"
    return _figure("reentrancy_drained_wei", value, goal, lambda v: v == 0 and rc == 0)


def chi2_figure() -> Figure:
    """p-value of the proposer frequencies of 10,000 role draws (10 participants, 3 proposers)."""
    from flock.roles.fairness import proposer_fairness

    report = proposer_fairness(participants=10, proposers_per_round=3, draws=10_000)
    return _figure("chi2_p", report.p_value, f"> {CHI2_P_MIN}", lambda v: v > CHI2_P_MIN)


def slither_figure() -> Figure:
    """Untriaged High/Medium Slither findings (scripts/slither.sh)."""
    rc, out = _run(["bash", "scripts/slither.sh"])
    found = re.findall(r"^slither_high_medium_untriaged: (\d+)$", out, flags=re.M)
    if not found:
        print(out[-3000:], file=sys.stderr)
    for line in out.splitlines():
        if line.startswith("slither_") and "untriaged" not in line:
            print(f"assurance: {line}", file=sys.stderr)
    value = int(found[0]) if found else None
    return _figure("slither_high_medium_untriaged", value, "== 0", lambda v: v == 0)


def drill_figures(path: Path) -> list[Figure]:
    """The drills' figures, read from `path` (absent file or key: not measured)."""
    data: dict[str, float] = {}
    if path.is_file():
        data = json.loads(path.read_text())
    else:
        print(f"assurance: no measurement file {path}", file=sys.stderr)
    planned = data.get("dropout_rounds")
    finished = data.get("dropout_rounds_finished")
    delta = data.get("resume_accuracy_delta_pts")
    doubles = data.get("double_payments")
    return [
        _figure(
            "dropout_rounds_finished",
            finished,
            f"== dropout_rounds ({planned if planned is not None else 'not measured'})",
            lambda v: planned is not None and v >= planned,
        ),
        _figure(
            "resume_accuracy_delta_pts",
            delta,
            f"|delta| <= {RESUME_DELTA_MAX_PTS}",
            lambda v: abs(v) <= RESUME_DELTA_MAX_PTS,
        ),
        _figure("double_payments", doubles, "== 0", lambda v: v == 0),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invariant-runs", type=int, default=INVARIANT_RUNS_GOAL)
    parser.add_argument(
        "--measurements",
        type=Path,
        default=Path(os.environ.get("FLOCK_ASSURANCE_MEASUREMENTS", MEASUREMENTS)),
        help="JSON file with the drills' figures",
    )
    args = parser.parse_args(argv)
    figures = [
        *invariant_figures(args.invariant_runs),
        reentrancy_figure(),
        chi2_figure(),
        slither_figure(),
        *drill_figures(args.measurements),
    ]
    for figure in figures:
        print(figure.line())
    short = [f.name for f in figures if not f.met]
    print(f"assurance: {len(figures) - len(short)} of {len(figures)} figures meet their goals")
    if short:
        print(f"assurance: short: {', '.join(short)}", file=sys.stderr)
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
