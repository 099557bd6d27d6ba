"""How a voter turns what it measured on its private test split into a contract score
(1..10000, higher is better): accuracy in basis points, or evaluation loss on a log scale."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flock.protocol.commitments import MAX_SCORE

SCORINGS: tuple[str, ...] = ("accuracy", "loss")


def accuracy_to_score(accuracy: float) -> int:
    """Accuracy in [0, 1] as an integer score in basis points."""
    return int(round(min(max(accuracy, 0.0), 1.0) * MAX_SCORE))


def loss_to_score(loss: float, *, loss_min: float, loss_max: float) -> int:
    """Map an evaluation loss to a score in 1..MAX_SCORE, lower loss scoring higher.

    The map is linear in log(loss): ``score = round(MAX_SCORE * ln(loss_max / loss) /
    ln(loss_max / loss_min))``, clipped to [1, MAX_SCORE] (a loss at or above `loss_max`, or
    NaN, scores 1; at or below `loss_min` scores MAX_SCORE). It is monotone, and one score unit
    is the same *relative* change of the loss everywhere in [loss_min, loss_max]: a factor of
    ``(loss_max / loss_min) ** (1 / MAX_SCORE)``, i.e. about ``ln(loss_max / loss_min) / 100``
    per cent (0.053 % for the default range 0.05..10 nats).

    Parameters
    ----------
    loss : float
        Mean per-token (or per-sample) cross-entropy, in nats.
    loss_min, loss_max : float
        The range that matters, ``0 < loss_min < loss_max``.

    Returns
    -------
    int
        The score; never 0 (0 is a voter's refusal).
    """
    if not 0 < loss_min < loss_max:
        raise ValueError(f"need 0 < loss_min < loss_max, got {loss_min}, {loss_max}")
    if not math.isfinite(loss) or loss >= loss_max:
        return 1
    if loss <= loss_min:
        return MAX_SCORE
    fraction = math.log(loss_max / loss) / math.log(loss_max / loss_min)
    return min(MAX_SCORE, max(1, int(round(fraction * MAX_SCORE))))


def relative_step(loss_min: float, loss_max: float) -> float:
    """The relative loss change one score unit stands for under :func:`loss_to_score`."""
    return float((loss_max / loss_min) ** (1.0 / MAX_SCORE) - 1.0)


@dataclass(frozen=True)
class Scoring:
    """The `scoring` config group: what voters measure (`metric`) and how it becomes a score.

    ``accuracy`` (the default): accuracy in basis points, at least 1. ``loss``: the mean
    evaluation loss through :func:`loss_to_score`; `loss_min`/`loss_max` must make one score
    unit at most `max_relative_step` (0.1 %) of the loss.
    """

    name: str = "accuracy"
    loss_min: float = 0.05
    loss_max: float = 10.0
    max_relative_step: float = 0.001

    def __post_init__(self) -> None:
        if self.name not in SCORINGS:
            raise ValueError(f"unknown scoring {self.name!r}; valid: {', '.join(SCORINGS)}")
        if self.name == "loss":
            if not 0 < self.loss_min < self.loss_max:
                raise ValueError(
                    f"scoring.loss_min/loss_max must satisfy 0 < min < max, got "
                    f"{self.loss_min}, {self.loss_max}"
                )
            step = relative_step(self.loss_min, self.loss_max)
            if step > self.max_relative_step:
                raise ValueError(
                    f"one score unit is {step:.3%} of the loss over [{self.loss_min}, "
                    f"{self.loss_max}]: narrow the range (at most {self.max_relative_step:.3%})"
                )

    @property
    def metric(self) -> str:
        """What the evaluation measures: ``accuracy`` or ``loss``."""
        return "loss" if self.name == "loss" else "accuracy"

    @classmethod
    def from_config(cls, cfg: Any) -> Scoring:
        """From the `scoring` config group (None: accuracy)."""
        if cfg is None:
            return cls()
        return cls(
            name=str(cfg.get("name", "accuracy")),
            loss_min=float(cfg.get("loss_min", 0.05)),
            loss_max=float(cfg.get("loss_max", 10.0)),
            max_relative_step=float(cfg.get("max_relative_step", 0.001)),
        )

    def score(self, value: float) -> int:
        """The score (1..MAX_SCORE) of a model that passed every check and measured `value`."""
        if self.name == "loss":
            return loss_to_score(value, loss_min=self.loss_min, loss_max=self.loss_max)
        return max(1, accuracy_to_score(value))

    def raw_score(self, value: float) -> int:
        """The score of `value` without the floor of 1 (accuracy 0 scores 0), for the record."""
        if self.name == "loss":
            return self.score(value)
        return accuracy_to_score(value)
