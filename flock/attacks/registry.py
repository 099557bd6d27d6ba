"""Behaviours by name, as configs name them."""

from __future__ import annotations

import inspect
from typing import Any

from flock.attacks.base import ProposerBehaviour, VoterBehaviour
from flock.attacks.data import Backdoor, GarbageText, LabelFlip
from flock.attacks.protocol import AggregatePoster, StaleBase, WeightInflation, Withholding
from flock.attacks.statistical import ALIE, MinMax, MinSum
from flock.attacks.update import FreeRider, GaussianNoise, Scaling, SignFlip
from flock.attacks.votes import Colluding, InvertedScore, Lazy, RandomScore

PROPOSER_BEHAVIOURS: dict[str, type[ProposerBehaviour]] = {
    cls.name: cls
    for cls in (
        ProposerBehaviour,
        LabelFlip,
        SignFlip,
        GaussianNoise,
        Scaling,
        ALIE,
        MinMax,
        MinSum,
        FreeRider,
        Backdoor,
        WeightInflation,
        StaleBase,
        Withholding,
        GarbageText,
    )
}
VOTER_BEHAVIOURS: dict[str, type[VoterBehaviour]] = {
    cls.name: cls
    for cls in (VoterBehaviour, RandomScore, InvertedScore, Colluding, Lazy, AggregatePoster)
}


def accepts(cls: type, keyword: str) -> bool:
    """Whether the behaviour class takes the constructor keyword `keyword`."""
    return keyword in inspect.signature(cls).parameters


def make_proposer_behaviour(name: str, *, num_classes: int, **params: Any) -> ProposerBehaviour:
    """Build the proposer behaviour registered as `name` with its config `params` (the
    dataset's `num_classes` goes to the behaviours that take it)."""
    if name not in PROPOSER_BEHAVIOURS:
        raise ValueError(
            f"unknown proposer behaviour {name!r}; valid: {sorted(PROPOSER_BEHAVIOURS)}"
        )
    cls = PROPOSER_BEHAVIOURS[name]
    if accepts(cls, "num_classes"):
        params.setdefault("num_classes", num_classes)
    return cls(**params)


def make_voter_behaviour(name: str, **params: Any) -> VoterBehaviour:
    """Build the voter behaviour registered as `name` with its config `params`."""
    if name not in VOTER_BEHAVIOURS:
        raise ValueError(f"unknown voter behaviour {name!r}; valid: {sorted(VOTER_BEHAVIOURS)}")
    return VOTER_BEHAVIOURS[name](**params)
