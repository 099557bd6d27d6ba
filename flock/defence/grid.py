"""The defence benchmark's grid: its defences, attacks, attacker fractions and seeds, and where
its runs and results live (`benchmarks/defence.py` is the command line over this package)."""

from __future__ import annotations

from pathlib import Path

from flock.defence.baselines import BASELINES
from flock.defence.config import AGGREGATOR_DEFENCES

#: The repository root (flock/defence/grid.py -> the checkout).
ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "configs"
#: One Hydra multirun directory per grid: `multirun/defence/<grid>/`.
RUNS_DIR = ROOT / "multirun" / "defence"
#: `defence.md`, `defence.txt`, `defence_diagnose.txt` and the plots.
RESULTS_DIR = ROOT / "results"
#: The benchmark's command line, which every Hydra multirun of the grid re-invokes.
SCRIPT = ROOT / "benchmarks" / "defence.py"
#: Logger of the sweep and the smoke run (the command line keeps `flock` at WARNING).
LOGGER = "benchmarks.defence"

ROBUST_FLOWER = BASELINES[1:]
#: The grid's settling rules: unlike :data:`flock.defence.RULES`, with the variants `flock_v0`
#: and `flock_clip` (accepted updates clipped to the median accepted norm in the aggregate).
RULES = ("flock", "flock_v0", "flock_clip", "flock_paper")
#: Defences without a vote, which play the clean run under the vote-only attacks: the Flower
#: baselines and flock's robust rules that Flower lacks (geometric median, centered clipping).
UNVOTED = (*BASELINES, *AGGREGATOR_DEFENCES)
#: The grid's defences: its settling rules, then the Flower baselines, then flock's rules.
DEFENCES = (*RULES, *UNVOTED)
SIMPLE_ATTACKS = ("label_flip", "sign_flip", "gaussian_noise", "scaling", "free_rider")
STATISTICAL_ATTACKS = ("alie", "min_max", "min_sum")
PROPOSER_ATTACKS = (*SIMPLE_ATTACKS, *STATISTICAL_ATTACKS, "backdoor")
#: Attacks on the vote; colluding voters need a cartel to favour: colluding_cartel flips
#: labels when its members propose.
VOTER_ATTACKS = ("random_score", "inverted_score", "colluding_cartel", "lazy")
#: Attacks without a malicious proposer: the baselines hold no vote, so they play the clean run.
VOTE_ONLY = ("random_score", "inverted_score", "lazy")
ATTACKS = (*PROPOSER_ATTACKS, *VOTER_ATTACKS, "cartel")
ETAS = (0.1, 0.2, 0.3, 0.4)
SEEDS = (0, 1, 2)
#: The attacker-majority cell family (in the `full` grid, alone as grid `majority`): digits
#: with 3 proposers a round, so attackers at eta 0.4 hold 2 or 3 of the seats in about 35 % of
#: the rounds (the robust aggregators then aggregate a majority of attackers); labelled
#: `digits_majority` in the report.
MAJORITY_FAMILY = "majority"
MAJORITY_OVERRIDES = ("task.proposers_per_round=3",)
MAJORITY_ETA = 0.4
MAJORITY_ATTACKS = ("label_flip", "sign_flip", "gaussian_noise", "scaling", "alie", "min_max",
                    "min_sum")  # fmt: skip
SMOKE_ATTACKS = ("none", "label_flip", "colluding_cartel", "aggregate_poster", "weight_inflation")
SMOKE_ETA = 0.3

__all__ = [
    "AGGREGATOR_DEFENCES",
    "ATTACKS",
    "BASELINES",
    "CONFIG_DIR",
    "DEFENCES",
    "ETAS",
    "LOGGER",
    "MAJORITY_ATTACKS",
    "MAJORITY_ETA",
    "MAJORITY_FAMILY",
    "MAJORITY_OVERRIDES",
    "PROPOSER_ATTACKS",
    "RESULTS_DIR",
    "ROBUST_FLOWER",
    "ROOT",
    "RULES",
    "RUNS_DIR",
    "SCRIPT",
    "SEEDS",
    "SIMPLE_ATTACKS",
    "SMOKE_ATTACKS",
    "SMOKE_ETA",
    "STATISTICAL_ATTACKS",
    "UNVOTED",
    "VOTER_ATTACKS",
    "VOTE_ONLY",
]
