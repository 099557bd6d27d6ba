"""Wall time of a flock round on Flower vs the compute inside it and vs plain Flower FedAvg on
the same work, with N participants, and the 1,000-member run in Flower's simulation engine.

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
3 s), simulation (Flower's simulation engine on Ray).

Plain Flower FedAvg on the same work (flock.flower.reference: Flower's own FedAvg strategy,
`proposers` nodes train flock's model with flock's training spec, as many nodes as a flock
round has voters evaluate) is the yardstick:
  flower_default_deployment_round_s: its round on Flower's default deployment runtime
      (SuperLink, a SuperNode per member, `flwr run`, every Flower default), from
      `--reference-bin` (another Flower release's venv) or this venv
  sim_overhead_s_per_round: flock's simulation round minus plain FedAvg's simulation round
      (both warm: the first round, which starts the actors' imports, is left out)
With `--scale N` (and the simulation route) a second simulation alliance of N members
(partition=sampled, the contract's largest committee: 32 proposers, 64 voters) runs
`--scale-rounds` rounds:
  sim_<N>_participants_round_s: mean wall time of its rounds (every round, the first too)
  sim_<N>_enrol_s: joining, seed reveal and start of the N members
  sim_<N>_deploy_s: deploying the task and funding the N members
  sim_<N>_peak_rss_gb / sim_<N>_peak_pss_gb: the largest sum of resident (proportional) memory
      of this process and all below it (Ray's head and actors, anvil), sampled every second
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path
from statistics import mean
from typing import Any

from flower_reference import deployment_rounds, simulation_rounds
from omegaconf import DictConfig
from tree_memory import PeakMemory

from flock.flower.launch import launch_alliance, load_config
from flock.protocol.role_draw import committee_sizes

log = logging.getLogger("benchmarks.round_overhead")


def task_rounds(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's rounds of a launcher summary (the closing round, voters only, left out).

    Raises
    ------
    RuntimeError
        When the run did not complete or played no round.
    """
    result = summary.get("result") or {}
    rounds = [r for r in result.get("rounds") or [] if int(r["round"]) <= int(result["n_rounds"])]
    if result.get("error") or not rounds:
        raise RuntimeError(f"run failed: status {summary.get('status')}, {result.get('error')}")
    return rounds


def figures(summary: dict[str, Any]) -> dict[str, float]:
    """Per-round means from a launcher summary (every task round, and the warm ones)."""
    rounds = task_rounds(summary)
    wall = mean(r["total_s"] for r in rounds)
    compute = mean(r["train_compute_s"] + r["vote_compute_s"] for r in rounds)
    warm = rounds[1:] or rounds
    return {
        "flock_round_s": wall,
        "compute_s_per_round": compute,
        "overhead_s_per_round": wall - compute,
        "warm_round_s": mean(r["total_s"] for r in warm),
        "enrol_s": float(summary["result"].get("enrol_s", 0.0)),
    }


def run_flock(cfg: DictConfig) -> dict[str, Any]:
    """Launch one alliance of `cfg` in a temporary directory and return its summary."""
    with tempfile.TemporaryDirectory(prefix="flock-overhead-") as tmp:
        summary = launch_alliance(cfg, Path(tmp) / "run")
    summary["result"]["n_rounds"] = int(cfg.task.rounds)
    return summary


def committee(cfg: DictConfig) -> tuple[int, int]:
    """(proposers, voters) of a round of `cfg` as the contract draws them."""
    return committee_sizes(
        int(cfg.participants), int(cfg.task.proposers_per_round), int(cfg.task.max_voters)
    )


def main() -> None:
    """Parse arguments, launch one alliance per route and the references, print the figures."""
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
    parser.add_argument("--scale", type=int, default=0, help="members of the scale run (0: none)")
    parser.add_argument("--scale-rounds", type=int, default=20)
    parser.add_argument("--scale-proposers", type=int, default=32)
    parser.add_argument("--reference-rounds", type=int, default=3)
    parser.add_argument(
        "--reference-bin", type=Path, default=None,
        help="bin directory of the Flower install whose deployment runtime is the reference",
    )  # fmt: skip
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides of the flock config")
    args = parser.parse_args()
    print(f"load_average_1m_at_start: {os.getloadavg()[0]:.2f}")
    base = [
        f"participants={args.participants}",
        f"task.rounds={args.rounds}",
        f"task.proposers_per_round={args.proposers}",
        f"training.epochs={args.epochs}",
        *args.overrides,
    ]
    warm: dict[str, float] = {}
    for route in args.routes:
        values = figures(run_flock(load_config([*base, f"flower.route={route}"])))
        warm[route] = values["warm_round_s"]
        for name, value in values.items():
            print(f"{name}[{route}]: {value:.3f}")
        print(f"overhead_goal_met[{route}]: {values['overhead_s_per_round'] <= args.goal_s}")

    cfg = load_config(base)
    train, evaluate = committee(cfg)
    with tempfile.TemporaryDirectory(prefix="flock-reference-") as tmp:
        deployed = deployment_rounds(
            cfg, Path(tmp), rounds=args.reference_rounds, train=train, evaluate=evaluate,
            bin_dir=args.reference_bin,
        )  # fmt: skip
    deployed_warm = mean(deployed["round_s"][1:] or deployed["round_s"])
    print(f"flower_default_deployment_round_s: {deployed_warm:.3f}")
    print(f"flower_default_deployment_flower_version: {deployed['flower']}")
    print(f"flower_default_deployment_clientapp_processes: {deployed['clientapp_processes']}")
    print(f"flower_default_deployment_messages: {deployed['messages']}")
    if "simulation" in args.routes:
        with tempfile.TemporaryDirectory(prefix="flock-reference-") as tmp:
            fedavg = simulation_rounds(
                cfg, Path(tmp), rounds=args.reference_rounds, train=train, evaluate=evaluate
            )
        fedavg_warm = mean(fedavg[1:] or fedavg)
        print(f"flower_fedavg_sim_round_s: {fedavg_warm:.3f}")
        print(f"sim_overhead_s_per_round: {warm['simulation'] - fedavg_warm:.3f}")
    if args.scale and "simulation" in args.routes:
        scale_cfg = load_config(
            [
                f"participants={args.scale}",
                f"task.rounds={args.scale_rounds}",
                f"task.proposers_per_round={args.scale_proposers}",
                f"training.epochs={args.epochs}",
                "partition=sampled",
                "flower.route=simulation",
                *args.overrides,
            ]
        )
        with PeakMemory() as memory:
            summary = run_flock(scale_cfg)
        rounds = task_rounds(summary)
        n = args.scale
        print(f"sim_{n}_participants_round_s: {mean(r['total_s'] for r in rounds):.3f}")
        print(f"sim_{n}_rounds: {len(rounds)}")
        print(f"sim_{n}_committee: {committee(scale_cfg)}")
        print(f"sim_{n}_max_round_s: {max(r['total_s'] for r in rounds):.3f}")
        print(f"sim_{n}_enrol_s: {float(summary['result']['enrol_s']):.3f}")
        print(f"sim_{n}_deploy_s: {float(summary['deploy_s']):.3f}")
        print(f"sim_{n}_peak_rss_gb: {memory.peak_rss_gb:.2f}")
        print(f"sim_{n}_peak_pss_gb: {memory.peak_pss_gb:.2f}")
        print(f"sim_{n}_errors: {len(summary['result'].get('errors') or [])}")
    print(f"participants: {args.participants}")
    print(f"overhead_goal_s: {args.goal_s}")
    print(f"load_average_1m_at_end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
