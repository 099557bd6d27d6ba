"""`flock run`: the Hydra app that runs a local alliance (embedded chain by default)."""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def run_app(cfg: DictConfig) -> float | None:
    """Hydra entry point of `flock run`; returns the final accuracy, or the language-model
    task's final held-out loss (for sweepers)."""
    from flock.dashboard import dashboard_command
    from flock.local.experiment import run

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    command, url = dashboard_command(run_dir=str(run_dir))
    print(f"dashboard: {command}  ->  {url}", flush=True)
    summary = run(cfg, run_dir)
    if "final_accuracy" in summary:
        print(f"final_accuracy: {summary['final_accuracy']:.4f}")
    for key in ("base_eval_loss", "final_eval_loss", "best_single_member_eval_loss"):
        if summary.get(key) is not None:
            print(f"{key}: {summary[key]:.4f}")
    if "topics_improved" in summary:
        print(f"topics_improved: {summary['topics_improved']} of {summary['topics']}")
        print(f"adapter_bytes: {summary['adapter_bytes']}")
    print(f"adopted_aggregate_mismatches: {summary['adopted_aggregate_mismatches']}")
    print(f"run_dir: {run_dir}")
    if "final_accuracy" in summary:
        return summary["final_accuracy"]
    return summary["final_eval_loss"]
