"""Attacks on the protocol around the vote: the global model's attestation, the aggregation
weight, the base model, and the availability of a proposal's blob."""

from __future__ import annotations

from collections.abc import Callable

from flock.attacks.base import ProposerBehaviour, VoterBehaviour


class AggregatePoster(VoterBehaviour):
    """Attests a poisoned model's hash as the round's base model (the aggregate the chain is
    about to adopt), as early as the chain allows: in its vote commitment. Every attacker of a
    run attests the same poisoned model (seeded by `seed` and the round), so colluders pool
    their votes.

    Parameters
    ----------
    seed : int
        Seed of the poisoned model (shared by colluding posters).
    """

    name = "aggregate_poster"

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = int(seed)

    def attestation(
        self, honest_hash: bytes, *, round: int, poison: Callable[[int], bytes]
    ) -> bytes:
        return poison(self.seed * 1_000_003 + round)


class WeightInflation(ProposerBehaviour):
    """Claims a huge sample count so that its update dominates a sample-weighted aggregate.

    Parameters
    ----------
    claim : int or None
        The count to claim; None claims the task's on-chain cap (the most the chain accepts).
    """

    name = "weight_inflation"

    def __init__(self, *, claim: int | None = None) -> None:
        if claim is not None and int(claim) < 1:
            raise ValueError(f"claim must be >= 1, got {claim}")
        self.claim = None if claim is None else int(claim)

    def claimed_samples(self, num_train: int, max_samples: int) -> int:
        return max_samples if self.claim is None else min(self.claim, max_samples)


class StaleBase(ProposerBehaviour):
    """Trains from the initial model instead of the round's base (a lagging or lazy member
    that ignores the alliance's progress) and names that stale base in its proposal."""

    name = "stale_base"
    stale = True


class Withholding(ProposerBehaviour):
    """Trains honestly and proposes the blob's hash, but never serves the blob."""

    name = "withholding"
    publishes = False
