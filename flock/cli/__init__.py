"""Command line: `flock run` (Hydra app: a local alliance) and `flock deploy` (real network)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")
USAGE = """usage: flock <command> [hydra overrides...]

commands:
  run       run a local alliance (default: digits, 10 participants, 10 rounds, embedded chain)
  deploy    deploy token (optional), factory and a task to an RPC endpoint; print addresses
  alliance  launch a real multi-process alliance on Flower (anvil, coordinator, N participants)
  participant  run one participant process (long-lived Flower gRPC client); see --help
  coordinator  relay a deployed alliance's rounds to connected participants; see --help
"""

log = logging.getLogger("flock")


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def run_app(cfg: DictConfig) -> float | None:
    """Hydra entry point of `flock run`; returns the final accuracy (for sweepers)."""
    from flock.local.experiment import run

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    summary = run(cfg, run_dir)
    print(f"final_accuracy: {summary['final_accuracy']:.4f}")
    print(f"adopted_aggregate_mismatches: {summary['adopted_aggregate_mismatches']}")
    print(f"run_dir: {run_dir}")
    return summary["final_accuracy"]


def main() -> None:
    """Dispatch `flock <command>`."""
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help"}:
        print(USAGE)
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    command = sys.argv.pop(1)
    if command == "run":
        run_app()
    elif command == "deploy":
        from flock.cli.deploy import deploy_app

        deploy_app()
    elif command == "alliance":
        from flock.flower.launch import alliance_main

        alliance_main()
    elif command == "participant":
        from flock.flower.grpc_route import participant_main

        participant_main()
    elif command == "coordinator":
        from flock.flower.grpc_route import coordinator_main

        coordinator_main()
    else:
        print(f"unknown command {command!r}\n{USAGE}", file=sys.stderr)
        sys.exit(2)

