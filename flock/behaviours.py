"""Participant behaviours assignable from config: honest by default, and the first attacks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from flock.contracts.commitments import MAX_SCORE


class ProposerBehaviour:
    """How a participant acts when it proposes. The honest base changes nothing."""

    name = "honest"

    def training_data(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The data the proposer actually trains on."""
        return x, y


class LabelFlip(ProposerBehaviour):
    """Trains on flipped labels: class c becomes num_classes - 1 - c."""

    name = "label_flip"

    def __init__(self, *, num_classes: int) -> None:
        self.num_classes = num_classes

    def training_data(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, (self.num_classes - 1) - y


class VoterBehaviour:
    """How a participant acts when it votes. The honest base reports its measured scores."""

    name = "honest"

    def scores(self, measured: Sequence[int], rng: np.random.Generator) -> list[int]:
        """The scores the voter commits, given what it measured."""
        return list(measured)


class RandomScore(VoterBehaviour):
    """Commits uniformly random scores, ignoring what it measured."""

    name = "random_score"

    def scores(self, measured: Sequence[int], rng: np.random.Generator) -> list[int]:
        return [int(v) for v in rng.integers(0, MAX_SCORE + 1, size=len(measured))]


PROPOSER_BEHAVIOURS: dict[str, type[ProposerBehaviour]] = {
    "honest": ProposerBehaviour,
    "label_flip": LabelFlip,
}
VOTER_BEHAVIOURS: dict[str, type[VoterBehaviour]] = {
    "honest": VoterBehaviour,
    "random_score": RandomScore,
}


def make_proposer_behaviour(name: str, *, num_classes: int) -> ProposerBehaviour:
    """Build the proposer behaviour registered as `name`."""
    if name not in PROPOSER_BEHAVIOURS:
        raise ValueError(
            f"unknown proposer behaviour {name!r}; valid: {sorted(PROPOSER_BEHAVIOURS)}"
        )
    if name == "label_flip":
        return LabelFlip(num_classes=num_classes)
    return PROPOSER_BEHAVIOURS[name]()


def make_voter_behaviour(name: str) -> VoterBehaviour:
    """Build the voter behaviour registered as `name`."""
    if name not in VOTER_BEHAVIOURS:
        raise ValueError(f"unknown voter behaviour {name!r}; valid: {sorted(VOTER_BEHAVIOURS)}")
    return VOTER_BEHAVIOURS[name]()
