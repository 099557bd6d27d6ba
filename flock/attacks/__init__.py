"""Attacks as participant behaviours: data and model poisoning, free riding, vote attacks."""

from flock.attacks.base import ProposerBehaviour, TamperContext, VoterBehaviour
from flock.attacks.data import Backdoor, LabelFlip, apply_trigger, backdoor_success_rate
from flock.attacks.plan import AttackPlan, Cartel, draw_attackers, plan_attacks
from flock.attacks.protocol import AggregatePoster, StaleBase, WeightInflation, Withholding
from flock.attacks.registry import (
    PROPOSER_BEHAVIOURS,
    VOTER_BEHAVIOURS,
    make_proposer_behaviour,
    make_voter_behaviour,
)
from flock.attacks.statistical import ALIE, MinMax, MinSum, alie_z, gamma_search
from flock.attacks.update import FreeRider, GaussianNoise, Scaling, SignFlip
from flock.attacks.votes import Colluding, InvertedScore, Lazy, RandomScore

__all__ = [
    "ALIE",
    "AggregatePoster",
    "AttackPlan",
    "Backdoor",
    "Cartel",
    "Colluding",
    "FreeRider",
    "GaussianNoise",
    "InvertedScore",
    "LabelFlip",
    "Lazy",
    "MinMax",
    "MinSum",
    "PROPOSER_BEHAVIOURS",
    "ProposerBehaviour",
    "RandomScore",
    "Scaling",
    "SignFlip",
    "StaleBase",
    "TamperContext",
    "VOTER_BEHAVIOURS",
    "VoterBehaviour",
    "WeightInflation",
    "Withholding",
    "alie_z",
    "apply_trigger",
    "backdoor_success_rate",
    "draw_attackers",
    "gamma_search",
    "make_proposer_behaviour",
    "make_voter_behaviour",
    "plan_attacks",
]
