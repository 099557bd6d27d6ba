"""`flock alliance`: anvil, a deployed task, a Flower SuperLink and N SuperNodes, one real run."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from flock.dashboard import dashboard_command
from flock.flower.launch import launch_alliance, load_config

log = logging.getLogger(__name__)


def _raise_interrupt(signum: int, frame: object) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so the launcher stops what it started."""
    raise KeyboardInterrupt(f"signal {signum}")


def alliance_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `flock alliance [--run-dir DIR] [hydra overrides...]`."""
    parser = argparse.ArgumentParser(
        prog="flock alliance",
        description=__doc__,
        epilog="Other arguments are Hydra overrides of the flock config, e.g. participants=5 "
        "task.rounds=3, or of the deployment, e.g. flower.message_timeout_s=60 (see "
        "flock.flower.launch.FlowerSettings).",
    )
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="default: outputs/alliance/<time>"
    )
    parser.add_argument("--log-level", default="INFO")
    args, overrides = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    cfg = load_config(overrides)
    run_dir = args.run_dir or Path("outputs/alliance") / datetime.now(UTC).strftime(
        "%Y-%m-%d_%H-%M-%S"
    )
    command, url = dashboard_command(alliance_file=str(run_dir / "alliance.json"))
    print(f"dashboard: {command}  ->  {url}", flush=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        summary = launch_alliance(cfg, run_dir)
    except (KeyboardInterrupt, SystemExit):
        # SystemExit: Flower's gRPC server turns SIGINT/SIGTERM into a "graceful" exit (code 0)
        log.warning("interrupted; every started process was stopped")
        sys.exit(130)
    result = summary.get("result", {})
    metric = result.get("quality_metric", "accuracy")
    for r in result.get("rounds", []):
        log.info(
            "round %d: %s %s=%s %.1fs", r["round"], r["outcome"], metric, r["quality"], r["total_s"]
        )
    log.info(
        "status %s, run %.1fs, wall %.1fs, summary %s",
        summary.get("status"),
        summary.get("run_s", 0.0),
        summary["wall_s"],
        run_dir / "summary.json",
    )
    if result.get("error") or not str(summary.get("status", "")).endswith("completed"):
        sys.exit(1)
