"""Wall time of a flock round on Flower vs the compute inside it, with N participant processes.

Launches a real alliance per route (`flock alliance flower.route=<route>`: anvil, the
coordinator, N participants) and prints `name[route]: value` lines:
  flock_round_s: mean wall time of a round as the coordinator measured it (train, vote, reveal,
      settle and aggregate phases, dev-chain time travel included)
  compute_s_per_round: mean critical-path compute of a round (slowest proposer's training plus
      slowest voter's scoring, as the ClientApps report it)
  overhead_s_per_round: flock_round_s - compute_s_per_round (Flower messaging and per-message
      ClientApp processes, chain transactions)
  enrol_s: joining, seed reveal and start (once per task)
Routes: grpc (long-lived Flower gRPC clients, the default), superlink (Flower's deployment
runtime; the ServerApp pulls replies every flower.grid_poll_s instead of send_and_receive's
3 s), simulation (Flower's simulation engine on Ray). Goal: overhead <= 0.5 s per round with 10
participant processes, chain transactions included.
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
    """Parse arguments, launch one alliance per route, print the figures."""
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--proposers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--routes", nargs="+", default=["grpc"], choices=["grpc", "superlink", "simulation"]
    )
    parser.add_argument("--goal-s", type=float, default=0.5, help="overhead goal per round")
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides of the flock config")
    args = parser.parse_args()
    for route in args.routes:
        cfg = load_config(
            [
                f"participants={args.participants}",
                f"task.rounds={args.rounds}",
                f"task.proposers_per_round={args.proposers}",
                f"training.epochs={args.epochs}",
                f"flower.route={route}",
                *args.overrides,
            ]
        )
        with tempfile.TemporaryDirectory(prefix="flock-overhead-") as tmp:
            summary = launch_alliance(cfg, Path(tmp) / "run")
        values = figures(summary)
        for name, value in values.items():
            print(f"{name}[{route}]: {value:.3f}")
        print(f"overhead_goal_met[{route}]: {values['overhead_s_per_round'] <= args.goal_s}")
    print(f"participants: {args.participants}")
    print(f"overhead_goal_s: {args.goal_s}")


if __name__ == "__main__":
    main()
