"""Fault drills on a real multi-process alliance (anvil, coordinator and participant processes).

Prints `name: value` lines and writes them to results/faults.json (read by scripts/assurance):
  dropout_rounds_finished: rounds settled within the round timeout while a fifth of the
      participant processes is killed (SIGKILL) every round, at a random phase, and restarted
      a round later (of dropout_rounds)
  resume_accuracy_delta_pts: |final accuracy of a run whose coordinator was SIGKILLed at a
      random phase and resumed with --resume - final accuracy of an uninterrupted run|, points
  resume_noise_floor_pts: the same difference between two uninterrupted runs (role draws use
      on-chain randomness that differs between runs, so this is the floor the delta is read
      against)
  double_settlements, double_payments: rounds settled twice, participants paid twice (or more
      than credited), from the chain's events of the resumed run
Goals (issue 6): every dropout round finishes; delta <= 0.5 points; 0 double payments.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

from flock.flower.drills import dropout_drill, resume_drill
from flock.flower.launch import load_config

log = logging.getLogger("benchmarks.faults")


def main() -> None:
    """Run the drills and print their figures."""
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--kill-fraction", type=float, default=0.2)
    parser.add_argument("--round-timeout-s", type=float, default=60.0)
    parser.add_argument("--crash-after", type=int, default=2, help="settled rounds before")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/faults.json"))
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides of the flock config")
    args = parser.parse_args()
    cfg = load_config(
        [
            f"participants={args.participants}",
            f"task.rounds={args.rounds}",
            f"seed={args.seed}",
            *args.overrides,
        ]
    )
    figures: dict[str, float | int] = {}
    with tempfile.TemporaryDirectory(prefix="flock-faults-") as tmp:
        dropout = dropout_drill(
            cfg,
            Path(tmp) / "dropout",
            fraction=args.kill_fraction,
            round_timeout_s=args.round_timeout_s,
            seed=args.seed,
        )
        figures["dropout_rounds"] = dropout["rounds"]
        figures["dropout_rounds_finished"] = dropout["rounds_finished"]
        figures["dropout_processes_killed"] = len(dropout["killed"])
        figures["dropout_round_s_max"] = max(dropout["round_seconds"], default=0.0)
        base = resume_drill(cfg, Path(tmp) / "base", crash_after_rounds=None, seed=args.seed)
        again = resume_drill(cfg, Path(tmp) / "again", crash_after_rounds=None, seed=args.seed)
        crashed = resume_drill(
            cfg, Path(tmp) / "crash", crash_after_rounds=args.crash_after, seed=args.seed
        )
    figures["resume_final_accuracy"] = crashed["final_accuracy"]
    figures["uninterrupted_final_accuracy"] = base["final_accuracy"]
    figures["resume_accuracy_delta_pts"] = round(
        abs(crashed["final_accuracy"] - base["final_accuracy"]) * 100, 2
    )
    figures["resume_noise_floor_pts"] = round(
        abs(again["final_accuracy"] - base["final_accuracy"]) * 100, 2
    )
    figures["resume_rounds"] = crashed["rounds"]
    figures["double_settlements"] = crashed["double_settlements"]
    figures["double_payments"] = crashed["double_payments"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
