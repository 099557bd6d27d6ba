"""Wall time of a flock round on Flower vs the compute inside it, with N participant processes.

Launches a real alliance (anvil, a SuperLink, N SuperNodes; `flock alliance`) and prints
`name: value` lines:
  flock_round_s: mean wall time of a round as the coordinator measured it (train, vote, reveal,
      settle and aggregate phases, dev-chain time travel included)
  compute_s_per_round: mean critical-path compute of a round (slowest proposer's training plus
      slowest voter's scoring, as the ClientApps report it)
  overhead_s_per_round: flock_round_s - compute_s_per_round (Flower messaging and per-message
      ClientApp processes, chain transactions)
  enrol_s: joining, seed reveal and start (once per task)
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from statistics import mean
from typing import Any

from flock.flower.launch import launch_alliance, load_config

log = logging.getLogger("benchmarks.round_overhead")


def figures(summary: dict[str, Any]) -> dict[str, float]:
    """Per-round means from a launcher summary.

    Raises
    ------
    RuntimeError
        When the run did not complete or played no round.
    """
    result = summary.get("result") or {}
    rounds = result.get("rounds") or []
    if result.get("error") or not rounds:
        raise RuntimeError(f"run failed: status {summary.get('status')}, {result.get('error')}")
    wall = mean(r["total_s"] for r in rounds)
    compute = mean(r["train_compute_s"] + r["vote_compute_s"] for r in rounds)
    return {
        "flock_round_s": wall,
        "compute_s_per_round": compute,
        "overhead_s_per_round": wall - compute,
        "enrol_s": float(result.get("enrol_s", 0.0)),
    }


def main() -> None:
    """Parse arguments, launch the alliance, print the figures."""
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--proposers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--run-dir", type=Path, default=None, help="default: a temp dir")
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides of the flock config")
    args = parser.parse_args()
    cfg = load_config(
        [
            f"participants={args.participants}",
            f"task.rounds={args.rounds}",
            f"task.proposers_per_round={args.proposers}",
            f"training.epochs={args.epochs}",
            *args.overrides,
        ]
    )
    with tempfile.TemporaryDirectory(prefix="flock-overhead-") as tmp:
        run_dir = args.run_dir or Path(tmp) / "run"
        summary = launch_alliance(cfg, run_dir)
    for name, value in figures(summary).items():
        print(f"{name}: {value:.2f}")
    print(f"participants: {args.participants}")


if __name__ == "__main__":
    main()
