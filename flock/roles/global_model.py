"""The global model: the deterministic aggregate of a settled round's accepted updates, which
every member recomputes, and the base model each round trains from.

Round r trains from the aggregate of the round the chain names as pending
(`pendingAggregateRound`), recomputed here from on-chain data and verified blobs; its voters
attest that hash and the chain adopts it only when a strict majority agrees. With nothing
pending, round r trains from the adopted global model (`globalModelHash`). A member never
trains from a hash someone posted: only from its own recomputation or an adopted model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from flock.aggregation import get_aggregator
from flock.contracts import Outcome, TaskClient
from flock.protocol.commitments import MAX_SCORE
from flock.protocol.consensus import consensus_scores
from flock.protocol.types import Proposal
from flock.roles.screening import moved_update_norms
from flock.store import BlobStore, StoreError

log = logging.getLogger(__name__)


def _accepted_updates(
    task: TaskClient, store: BlobStore, round_: int
) -> tuple[list[Proposal], list[torch.Tensor]] | None:
    """Settled `round_`'s accepted proposals and their blobs (verified against their on-chain
    hashes); None when the round did not settle or accepted nothing."""
    info = task.round_info(round_)
    accepted = [p for p in task.proposals(round_) if info.accepted_mask >> p.index & 1]
    if info.outcome != Outcome.SETTLED or not accepted:
        return None
    return accepted, [store.get(p.update_hash).vector for p in accepted]


def aggregate_from_chain(
    aggregation: Any, task: TaskClient, store: BlobStore, round_: int
) -> tuple[bytes, torch.Tensor] | None:
    """Aggregate settled `round_`'s accepted updates from on-chain data only.

    The accepted proposals, their sample counts and the revealed scores come from the chain,
    the blobs from the store (verified against their on-chain hashes). `aggregation` is the
    `aggregation` config group (name and kwargs). Keeps the result in this member's store (not
    published: every member recomputes it) and returns (hash, vector), or None when the round
    did not settle or accepted nothing.
    """
    updates = _accepted_updates(task, store, round_)
    if updates is None:
        return None
    return _aggregate(aggregation, task, store, round_, *updates)


def _aggregate(
    aggregation: Any,
    task: TaskClient,
    store: BlobStore,
    round_: int,
    accepted: list[Proposal],
    vectors: list[torch.Tensor],
) -> tuple[bytes, torch.Tensor]:
    """:func:`aggregate_from_chain` of the accepted updates at hand."""
    medians = consensus_scores(list(task.revealed_scores(round_).values()))
    counts = [p.num_samples for p in accepted]
    scores = [medians[p.index + 1] for p in accepted]
    aggregate = aggregate_accepted(
        aggregation,
        vectors,
        counts,
        scores,
        base=lambda: _named_base(store, accepted),
        proposals=len(medians) - 1,  # a revealed ballot scores the base, then every proposal
    )
    # kept, not published: every member recomputes it from the chain and the accepted blobs
    digest = store.put(aggregate, {"kind": "aggregate", "round": str(round_)}, publish=False)
    return digest, aggregate


#: Rules whose aggregate depends on the origin: they get the accepted updates' base model as
#: their `reference` (the updates are full models; their origin is the model they moved from).
REFERENCED_RULES = ("centered_clipping",)


def aggregate_accepted(
    aggregation: Any,
    vectors: list[torch.Tensor],
    counts: list[int],
    scores: list[int] | None,
    *,
    base: Callable[[], torch.Tensor],
    proposals: int | None = None,
) -> torch.Tensor:
    """The aggregate of accepted updates as the `aggregation` config group says: every
    member's recomputation and the defence benchmark's simulation call this one function.

    `consensus` weights by median score x claimed samples (with every weight 0, by samples,
    at least 1 each), with `kwargs.clip_ratio` clips around the base model, and with
    `kwargs.damp_rejected` leaves each of the round's `proposals` that was not accepted one
    proposal's share of the step at the base model when they are more than
    `kwargs.damp_above_rejected_bps` of the proposals (:func:`damped_rejections`); `fedavg`
    weights by samples; every other rule gets its `kwargs` (and, for :data:`REFERENCED_RULES`,
    the base model as `reference`), unweighted. `base` is asked only when needed.

    Raises
    ------
    ValueError
        With `kwargs.damp_rejected` and `proposals` missing or below the accepted count, or a
        `kwargs.damp_above_rejected_bps` that is not an integer in 0..10000 (checked with the
        damping off too, so a bad share is never silently kept for later).
    """
    name = str(aggregation.name)
    kwargs = dict(aggregation.get("kwargs") or {})
    if name == "consensus":
        if scores is None or not any(s * c for s, c in zip(scores, counts, strict=True)):
            # accepted, yet every weight is 0 (e.g. a test split so small that each median
            # score is 0): the scores carry no information; weigh by samples, at least 1 each
            scores = [1] * len(vectors)
            counts = [max(c, 1) for c in counts]
        above_bps = _checked_share(kwargs.pop("damp_above_rejected_bps", 0))
        if kwargs.pop("damp_rejected", False):
            if proposals is None or proposals < len(vectors):
                raise ValueError(
                    f"damp_rejected needs the round's proposal count (got {proposals} for "
                    f"{len(vectors)} accepted updates)"
                )
            kwargs["rejected"] = damped_rejections(proposals, len(vectors), above_bps)
        if kwargs.get("clip_ratio") is not None or kwargs.get("rejected"):
            kwargs["reference"] = base()
        return get_aggregator(name)(vectors, counts, scores=scores, **kwargs)
    if name == "fedavg":
        return get_aggregator(name)(vectors, counts)
    if name in REFERENCED_RULES:
        kwargs["reference"] = base()
    return get_aggregator(name)(vectors, **kwargs)


def damped_rejections(proposals: int, accepted: int, above_bps: int) -> int:
    """How many of a round's rejected proposals keep their share of the step at the base
    (`kwargs.damp_rejected`): all ``proposals - accepted`` of them when they are more than
    `above_bps` basis points of the round's `proposals` (integers, no rounding), else none.
    0 damps on every rejection; 5000 only when the rejected outnumber the accepted.

    Raises
    ------
    ValueError
        For an `above_bps` that is not an integer in 0..10000.
    """
    above_bps = _checked_share(above_bps)
    rejected = proposals - accepted
    return rejected if rejected * MAX_SCORE > above_bps * proposals else 0


def _checked_share(above_bps: object) -> int:
    """`above_bps` if it is an integer share in 0..10000 (a bool or a float is refused)."""
    if (
        isinstance(above_bps, bool)
        or not isinstance(above_bps, int)
        or not 0 <= above_bps <= MAX_SCORE
    ):
        raise ValueError(
            f"damp_above_rejected_bps must be an integer in 0..{MAX_SCORE}, got {above_bps!r}"
        )
    return above_bps


def _named_base(store: BlobStore, accepted: list[Proposal]) -> torch.Tensor:
    """The base model the first accepted proposal names (honest voters refuse another base
    than their own, so every accepted proposal names it unless a voter majority lies)."""
    return store.get(accepted[0].base_hash).vector


@dataclass(frozen=True)
class BaseModel:
    """The model a round trains from and its voters attest.

    Attributes
    ----------
    round : int
        The round whose aggregate it is (0: the initial model).
    model_hash : bytes
        Its content hash (what voters attest and proposers name as their base).
    params : torch.Tensor
        Its flat parameters.
    adopted : bool
        Whether the chain has adopted it (False: the pending aggregate, recomputed here).
    update_norms : tuple of float
        The norms of the accepted updates it aggregates, each against the model it was trained
        from: the reference voters pool with the next round's update norms to screen them
        (:func:`flock.roles.screening.screen_updates`). Empty for the initial model or when
        those updates are not at hand.
    """

    round: int
    model_hash: bytes
    params: torch.Tensor
    adopted: bool
    update_norms: tuple[float, ...] = ()


def accepted_update_norms(task: TaskClient, store: BlobStore, round_: int) -> tuple[float, ...]:
    """The norms of settled `round_`'s accepted updates that moved, each against the base model
    it names (blobs verified against their on-chain hashes); empty when it accepted nothing.
    The accepted set is the committee's decision, so no proposer of a later round moves it.

    Raises
    ------
    flock.store.StoreError
        When a needed blob is missing or does not hash to its on-chain hash.
    """
    updates = _accepted_updates(task, store, round_)
    return () if updates is None else _norms_against_base(store, *updates)


def _norms_against_base(
    store: BlobStore, accepted: list[Proposal], vectors: list[torch.Tensor]
) -> tuple[float, ...]:
    """The norms of the accepted `vectors` against the one base model their proposals name
    (empty when they name two: honest voters refuse another base than theirs, so that takes a
    voter majority)."""
    bases = {p.base_hash for p in accepted}
    if len(bases) != 1 or len(next(iter(bases))) != 32:
        return ()
    return moved_update_norms(store.get(bases.pop()).vector, vectors)


def _yardstick(measure: Callable[[], tuple[float, ...]], round_: int) -> tuple[float, ...]:
    """`measure()` (the norms of round `round_`'s accepted updates), or empty (screening falls
    back to the round's own updates) when a blob it needs is not at hand."""
    try:
        return measure()
    except StoreError as exc:
        log.warning("round %d's updates are not at hand (%s): no screening reference", round_, exc)
        return ()


def _adopted_vector(
    aggregation: Any, task: TaskClient, store: BlobStore, digest: bytes, round_: int, n: int
) -> torch.Tensor:
    """The adopted model's parameters: from the store, else (a member whose cache lacks the
    aggregate, which nobody publishes) recomputed from round `round_`'s accepted updates."""
    try:
        return store.get(digest, expected_numel=n).vector
    except StoreError:
        built = aggregate_from_chain(aggregation, task, store, round_) if round_ > 0 else None
        if built is None or built[0] != digest:
            raise
        return built[1]


def base_model(aggregation: Any, task: TaskClient, store: BlobStore, num_params: int) -> BaseModel:
    """The base model of the task's current round: the pending aggregate as recomputed here
    from the chain and verified blobs, else the adopted global model read from the store.

    Raises
    ------
    flock.store.StoreError
        When a needed blob is missing or does not hash to its on-chain hash.
    """
    pending = task.pending_aggregate_round()
    if pending:
        updates = _accepted_updates(task, store, pending)
        if updates is None:  # the chain only marks a round pending when it accepted updates
            raise RuntimeError(f"round {pending} is pending but accepted nothing")
        digest, vector = _aggregate(aggregation, task, store, pending, *updates)
        norms = _yardstick(lambda: _norms_against_base(store, *updates), pending)
        return BaseModel(pending, digest, vector, adopted=False, update_norms=norms)
    digest, round_ = task.global_model()
    vector = _adopted_vector(aggregation, task, store, digest, round_, num_params)
    reference: tuple[float, ...] = ()
    if round_ > 0:
        reference = _yardstick(lambda: accepted_update_norms(task, store, round_), round_)
    return BaseModel(round_, digest, vector, adopted=True, update_norms=reference)
