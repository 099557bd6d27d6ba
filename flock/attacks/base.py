"""The behaviour interfaces: how a participant acts as proposer and as voter (honest bases)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch

from flock.protocol.types import Proposal


def _none() -> Sequence[torch.Tensor]:
    return ()


@dataclass
class TamperContext:
    """What a proposer may know when it decides what to publish in one round.

    The threat model is the standard one of the model-poisoning literature: colluding
    attackers pool their own honest updates (each trains honestly on its private data, then
    the cartel shares the results) and never see the benign participants' private updates.
    On top of that, every blob already proposed in the round is public (its hash is on chain,
    its bytes in the store), so a late proposer may read those too.

    Parameters
    ----------
    round : int
        The round being proposed for.
    num_proposers : int
        n: the proposer committee of the round (the updates the aggregate averages).
    num_attackers : int
        m: how many of them belong to the attacker's cartel (itself included).
    cartel_source : callable
        Returns the honest trained vectors (full parameters) of the cartel's members for this
        round, the attacker's own included; called at most once, when an attack asks.
    published_source : callable
        Returns the vectors of the round's proposals published so far, in index order.
    """

    round: int = 0
    num_proposers: int = 1
    num_attackers: int = 1
    cartel_source: Callable[[], Sequence[torch.Tensor]] = field(default=_none, repr=False)
    published_source: Callable[[], Sequence[torch.Tensor]] = field(default=_none, repr=False)

    @cached_property
    def cartel_updates(self) -> list[torch.Tensor]:
        """The cartel's honest updates of this round (empty when nobody shared any)."""
        return list(self.cartel_source())

    @cached_property
    def published(self) -> list[torch.Tensor]:
        """The round's already published proposals (empty when none or unknown)."""
        return list(self.published_source())


class ProposerBehaviour:
    """How a participant acts when it proposes. The honest base changes nothing.

    Hooks: :meth:`training_data` (data poisoning, before training), :meth:`tamper` (model
    poisoning, after training), :meth:`claimed_samples` (the sample count it claims on chain)
    and `stale` (train from, and name, the initial model instead of the round's base).
    `trains = False` skips local training altogether (the update handed to :meth:`tamper` is
    then the base model itself); `publishes = False` proposes the blob's hash without ever
    putting the blob in the store (withholding).
    """

    name = "honest"
    trains = True
    publishes = True
    stale = False

    def claimed_samples(self, num_train: int, max_samples: int) -> int:
        """The sample count claimed on chain (its aggregation weight), given the true count
        and the task's on-chain cap."""
        return num_train

    def training_data(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The data the proposer actually trains on."""
        return x, y

    def tamper(
        self, update: torch.Tensor, *, global_params: torch.Tensor, context: TamperContext
    ) -> torch.Tensor:
        """The vector the proposer publishes, given its trained vector `update`.

        Parameters
        ----------
        update : torch.Tensor
            The locally trained parameters (flat float32); the update proper is
            ``update - global_params``.
        global_params : torch.Tensor
            The round's global model the training started from.
        context : TamperContext
            What the proposer may know about the round (its cartel, published proposals).

        Returns
        -------
        torch.Tensor
            Flat float32 parameters of the same shape, to store and propose.
        """
        return update


class VoterBehaviour:
    """How a participant acts when it votes. The honest base reports its measured scores and
    its own recomputation of the base model's hash, and reveals them; `reveals = False`
    commits and then never reveals (a lazy voter)."""

    name = "honest"
    reveals = True

    def attestation(
        self, honest_hash: bytes, *, round: int, poison: Callable[[int], bytes]
    ) -> bytes:
        """The base-model hash the voter attests, given its honest recomputation.

        Parameters
        ----------
        honest_hash : bytes
            The hash of the base model as this voter recomputed it.
        round : int
            The round being voted in.
        poison : callable
            Stores a poisoned model for a seed and returns its hash (for attacks).
        """
        return honest_hash

    def scores(
        self,
        measured: Sequence[int],
        rng: np.random.Generator,
        proposals: Sequence[Proposal] = (),
    ) -> list[int]:
        """The scores the voter commits, given what it measured.

        Parameters
        ----------
        measured : sequence of int
            Measured scores in basis points: the current global model first, then each
            proposal in index order.
        rng : numpy.random.Generator
            The voter's own random source.
        proposals : sequence of Proposal
            The round's proposals, in index order (who proposed what).
        """
        return list(measured)
