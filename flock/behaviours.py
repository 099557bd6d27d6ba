"""Participant behaviours assignable from config (the roles and orchestrations import them from
here); the attacks themselves live in :mod:`flock.attacks`."""

from flock.attacks import (
    PROPOSER_BEHAVIOURS,
    VOTER_BEHAVIOURS,
    LabelFlip,
    ProposerBehaviour,
    RandomScore,
    TamperContext,
    VoterBehaviour,
    make_proposer_behaviour,
    make_voter_behaviour,
)

__all__ = [
    "LabelFlip",
    "PROPOSER_BEHAVIOURS",
    "ProposerBehaviour",
    "RandomScore",
    "TamperContext",
    "VOTER_BEHAVIOURS",
    "VoterBehaviour",
    "make_proposer_behaviour",
    "make_voter_behaviour",
]
