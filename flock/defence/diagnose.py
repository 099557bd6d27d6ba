"""Why flock's rule rejected honest proposals at K = 50 (`benchmarks/defence.py --diagnose`):
score steps of the voters' small test splits against the rule's tolerances."""

from __future__ import annotations

import statistics

from hydra import compose, initialize_config_dir

from flock.defence.config import resolve_variant
from flock.defence.engine import simulate
from flock.defence.grid import CONFIG_DIR
from flock.learning.alliance_data import alliance_data
from flock.spec import score_tolerances


def diagnose(dataset: str = "digits", seed: int = 0) -> list[str]:
    """Why flock's rule rejected honest proposals at K = 50, and what the fix changed: the clean
    run of `flock_v0` (fixed tolerances, no screening) and `flock` with `defence.diagnose`,
    against the size of the voters' test splits."""
    lines = []
    for defence in ("flock_v0", "flock"):
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                config_name="config",
                overrides=[
                    "+experiment=defence",
                    f"dataset={dataset}",
                    "attack=none",
                    "defence.attack_name=none",
                    f"defence.name={defence}",
                    "defence.diagnose=true",
                    f"seed={seed}",
                ],
            )
        tolerance = score_tolerances(resolve_variant(cfg))["tolerance_bps"] / 100
        if defence == "flock_v0":
            parts = alliance_data(cfg).participants
            tests = statistics.median(p.num_test for p in parts)
            lines += [
                f"test_split_samples[{dataset}]: {tests:g}",
                f"train_split_samples[{dataset}]: {statistics.median(p.num_train for p in parts)}",
                f"score_quantum_pts[{dataset}]: {100 / tests:.1f}",
            ]
        lines.append(f"tolerance_pts[{defence},{dataset}]: {tolerance:g}")
        result = simulate(cfg)
        gaps = [g / 100 for g in result.score_gaps]  # empty when no round settled (all washes)
        late = gaps[len(gaps) // 2 :]
        lines += [
            f"honest_holdout_gap_pts[{defence},{dataset}]: {_median(result.holdout_gaps)}",
            f"honest_score_gap_pts[{defence},{dataset}]: {_median(gaps)}",
            f"honest_score_gap_late_mode_pts[{defence},{dataset}]: "
            f"{f'{statistics.mode(late):.1f}' if late else 'n/a'}",
            f"honest_score_gap_over_tolerance_pct[{defence},{dataset}]: "
            f"{100 * sum(g > tolerance for g in gaps) / max(len(gaps), 1):.1f}",
            f"honest_rejected_pct[{defence},{dataset}]: "
            f"{100 * result.honest_rejected / max(result.honest_proposals, 1):.1f}",
            f"honest_slashed[{defence},none,{dataset}]: {result.honest_slashed()}",
        ]
        lines += [
            f"honest_slashes[{defence},{reason.lower()},{dataset}]: {count}"
            for reason, count in sorted(result.honest_slash_reasons.items())
        ]
    return lines


def _median(values: list[float]) -> str:
    """The median to one decimal, or `n/a` for no values."""
    return f"{statistics.median(values):.1f}" if values else "n/a"
