"""Every participant's private data and the public holdout, as an alliance's config draws them.

One function for the four places that need the same draw (a local run, a participant process,
the defence sweep, the task's tolerances), so that they cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from flock.learning.data import (
    Dataset,
    ParticipantData,
    holdout_split,
    load_dataset,
    make_participant_data,
)
from flock.protocol.commitments import MAX_SCORE


@dataclass(frozen=True)
class AllianceData:
    """The dataset, its public holdout and each participant's private train/test split."""

    dataset: Dataset
    holdout: Dataset
    participants: list[ParticipantData]

    @property
    def smallest_test_split(self) -> int:
        """Test samples of the participant with the fewest."""
        return min(p.num_test for p in self.participants)


def alliance_data(cfg: DictConfig) -> Any:
    """Load the config's dataset, set the holdout aside and split the rest among
    `cfg.participants` by `cfg.partition`, each share into private train and test parts
    (:class:`AllianceData`; `dataset=text`: a :class:`flock.learning.text.TextSplits`, one
    topic per member, with the same attributes)."""
    if str(cfg.dataset.name) == "text":
        from flock.learning.text_data import text_alliance_data

        return text_alliance_data(cfg)
    seed = int(cfg.seed)
    dataset, pool, holdout = _split_off_holdout(cfg)
    participants = make_participant_data(
        pool,
        int(cfg.participants),
        scheme=str(cfg.partition.scheme),
        alpha=float(cfg.partition.alpha),
        size=cfg.partition.get("size"),
        test_fraction=float(cfg.test_fraction),
        seed=seed,
    )
    return AllianceData(dataset=dataset, holdout=holdout, participants=participants)


def _split_off_holdout(cfg: DictConfig) -> tuple[Dataset, Dataset, Dataset]:
    """The config's classification dataset, the pool the members share and the holdout."""
    dataset = load_dataset(str(cfg.dataset.name))
    pool, holdout = holdout_split(
        dataset, holdout_fraction=float(cfg.holdout_fraction), seed=int(cfg.seed)
    )
    return dataset, pool, holdout


def reporting_holdout(cfg: DictConfig) -> Any:
    """The public holdout `alliance_data` sets aside (the same draw), without splitting the
    rest among the members: a :class:`Dataset`, or the text task's
    :class:`flock.learning.text.TextHoldout`."""
    if str(cfg.dataset.name) == "text":
        from flock.learning.text_data import text_alliance_data

        return text_alliance_data(cfg).holdout
    return _split_off_holdout(cfg)[2]


def score_floor_bps(score_steps: float, test_samples: int) -> int:
    """`score_steps` steps of the accuracy score of a `test_samples`-sample test split, in basis
    points (one sample moves accuracy by 10000 / n), rounded up and capped at the maximum."""
    if test_samples < 1:
        raise ValueError(f"test_samples must be >= 1, got {test_samples}")
    if score_steps < 0:
        raise ValueError(f"score_steps must be >= 0, got {score_steps}")
    return min(MAX_SCORE, math.ceil(score_steps * MAX_SCORE / test_samples))
