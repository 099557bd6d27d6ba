"""Voter: fetches the round's proposals, checks them against the chain, scores them locally."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from flock.aggregation import fedavg
from flock.attacks import VoterBehaviour
from flock.learning.scoring import Scoring, accuracy_to_score
from flock.learning.training import evaluate_many
from flock.protocol.commitments import UNAVAILABLE
from flock.protocol.types import Proposal
from flock.roles.base import RoleContext
from flock.roles.screening import ScreeningRules, screen_updates
from flock.store import BlobHashMismatchError, BlobNotFoundError, StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ballot:
    """What a voter measured: scores to commit (base model first), the base-model hash it
    attests, and diagnostics (`rejected_blobs`: refused or unavailable proposals, by index)."""

    scores: list[int]
    measured: list[int]
    aggregate_score: int | None
    rejected_blobs: dict[int, str]
    attestation: bytes = bytes(32)
    unavailable: frozenset[int] = frozenset()


def valid_model_score(accuracy: float) -> int:
    """The score of a model that passed every check: its accuracy in basis points, at least 1.
    Score 0 is reserved for an update a voter refuses (the contract never accepts it)."""
    return max(1, accuracy_to_score(accuracy))


class Voter:
    """Scores the round's base model (baseline) and every proposal on the private test split,
    and attests the base model's hash.

    A proposal whose blob cannot be fetched (missing, or bytes that do not hash to the on-chain
    hash) scores UNAVAILABLE (0xFFFF; counted as 0, and the contract tells it apart). A
    proposal that is malformed, names another author or round than its on-chain record, names
    another base model than this voter's recomputation, claims more samples than
    `max_sample_ratio` times this voter's own train split, or fails update screening (an
    update norm far from the yardstick norm, or a copy of an earlier proposal:
    :mod:`flock.roles.screening`) scores 0; every other model scores at least 1.
    """

    def __init__(
        self,
        ctx: RoleContext,
        behaviour: VoterBehaviour,
        *,
        seed: int,
        screening: ScreeningRules | None = None,
        scoring: Scoring | None = None,
    ) -> None:
        self.ctx = ctx
        self.scoring = scoring if scoring is not None else Scoring()
        self.behaviour = behaviour
        self.rng = np.random.default_rng(seed)
        self.screening = screening if screening is not None else ScreeningRules()

    def _fetch(self, proposal: Proposal) -> torch.Tensor:
        blob = self.ctx.store.get(proposal.update_hash, expected_numel=self.ctx.num_params)
        meta = blob.metadata
        if meta.get("proposer", "").lower() != proposal.proposer.lower():
            raise StoreError(
                f"blob names proposer {meta.get('proposer')}, chain says {proposal.proposer}"
            )
        if meta.get("round") != str(proposal.round):
            raise StoreError(f"blob is for round {meta.get('round')}, chain says {proposal.round}")
        # the store checked that a named blob's tensors are the layout it names
        if self.ctx.layout is not None and meta.get("layout") != self.ctx.layout.digest:
            raise StoreError(
                f"blob names adapter layout {str(meta.get('layout'))[:12]}, the spec's is "
                f"{self.ctx.layout.digest[:12]}"
            )
        return blob.vector

    def _refusal(self, proposal: Proposal, base_hash: bytes | None) -> str | None:
        """Why `proposal` is refused before its blob is read (None: it is not)."""
        if base_hash is not None and proposal.base_hash != base_hash:
            return f"built on base {proposal.base_hash.hex()[:12]}, not {base_hash.hex()[:12]}"
        ratio = self.screening.max_sample_ratio
        if ratio and proposal.num_samples > ratio * self.ctx.data.num_train:
            return (
                f"claims {proposal.num_samples} samples, over {ratio:g}x this voter's "
                f"{self.ctx.data.num_train}"
            )
        return None

    def _poison(self, seed: int) -> bytes:
        """Store a random-noise model (for attacks that attest one) and return its hash."""
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(self.ctx.num_params, generator=generator)
        return self.ctx.store.put(noise, {"kind": "poison", "seed": str(seed)}, publish=False)

    def ballot(
        self,
        global_params: torch.Tensor,
        proposals: list[Proposal],
        *,
        base_hash: bytes | None = None,
        round_: int = 0,
        reference_norms: Sequence[float] = (),
    ) -> Ballot:
        """Fetch, verify and score every proposal (and their plain average, for the record),
        given the round's base model (`global_params`, hashing to `base_hash` as this voter
        recomputed it; None skips the base check and attests nothing) and the screening
        reference (`reference_norms`: the norms of the accepted updates that built the base,
        pooled with this round's; empty: the round's alone, see
        :func:`flock.roles.screening.screen_updates`)."""
        vectors: list[torch.Tensor] = []
        valid: list[int] = []
        rejected: dict[int, str] = {}
        unavailable: set[int] = set()
        for proposal in proposals:
            refusal = self._refusal(proposal, base_hash)
            if refusal is not None:
                rejected[proposal.index] = refusal
                log.info("%s scores proposal %d 0: %s", self.ctx.address, proposal.index, refusal)
                continue
            try:
                vectors.append(self._fetch(proposal))
                valid.append(proposal.index)
            except (BlobNotFoundError, BlobHashMismatchError) as exc:
                rejected[proposal.index] = str(exc)
                unavailable.add(proposal.index)
                log.warning(
                    "%s cannot fetch proposal %d: %s", self.ctx.address, proposal.index, exc
                )
            except StoreError as exc:
                rejected[proposal.index] = str(exc)
                log.warning("%s rejects proposal %d: %s", self.ctx.address, proposal.index, exc)
        for position, reason in screen_updates(
            global_params, vectors, self.screening, reference_norms
        ).items():
            rejected[valid[position]] = reason
            log.info("%s scores proposal %d 0: %s", self.ctx.address, valid[position], reason)
        candidates = [global_params, *vectors]
        if vectors:
            candidates.append(fedavg(vectors, [1.0] * len(vectors)))
        model = self.ctx.make_model()
        stacked = torch.stack(candidates)
        values = evaluate_many(
            model,
            stacked,
            self.ctx.data.x_test,
            self.ctx.data.y_test,
            metric=self.scoring.metric,
        )
        measured_by_index = {
            idx: self.scoring.score(float(a))
            for idx, a in zip(valid, values[1:], strict=False)
            if idx not in rejected
        }
        measured = [self.scoring.score(float(values[0]))] + [
            UNAVAILABLE if p.index in unavailable else measured_by_index.get(p.index, 0)
            for p in proposals
        ]
        aggregate = self.scoring.raw_score(float(values[-1])) if vectors else None
        honest_hash = base_hash if base_hash is not None else bytes(32)
        return Ballot(
            scores=self.behaviour.scores(measured, self.rng, proposals),
            measured=measured,
            aggregate_score=aggregate,
            rejected_blobs=rejected,
            attestation=self.behaviour.attestation(honest_hash, round=round_, poison=self._poison),
            unavailable=frozenset(unavailable),
        )
