"""The global model: the deterministic aggregate of a settled round's accepted updates, which
every member recomputes, and the base model each round trains from.

Round r trains from the aggregate of the round the chain names as pending
(`pendingAggregateRound`), recomputed here from on-chain data and verified blobs; its voters
attest that hash and the chain adopts it only when a strict majority agrees. With nothing
pending, round r trains from the adopted global model (`globalModelHash`). A member never
trains from a hash someone posted: only from its own recomputation or an adopted model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from flock.aggregation import get_aggregator
from flock.consensus import consensus_scores
from flock.contracts import Outcome, TaskClient
from flock.store import UpdateStore


def aggregate_from_chain(
    aggregation: Any, task: TaskClient, store: UpdateStore, round_: int
) -> tuple[bytes, torch.Tensor] | None:
    """Aggregate settled `round_`'s accepted updates from on-chain data only.

    The accepted proposals, their sample counts and the revealed scores come from the chain,
    the blobs from the store (verified against their on-chain hashes). `aggregation` is the
    `aggregation` config group (name and kwargs). Stores the result and returns (hash, vector),
    or None when the round did not settle or accepted nothing.
    """
    info = task.round_info(round_)
    accepted = [p for p in task.proposals(round_) if info.accepted_mask >> p.index & 1]
    if info.outcome != Outcome.SETTLED or not accepted:
        return None
    medians = consensus_scores(list(task.revealed_scores(round_).values()))
    vectors = [store.get(p.update_hash).vector for p in accepted]
    counts = [p.num_samples for p in accepted]
    name = str(aggregation.name)
    kwargs = dict(aggregation.get("kwargs") or {})
    if name == "consensus":
        scores = [medians[p.index + 1] for p in accepted]
        if not any(s * c for s, c in zip(scores, counts, strict=True)):
            # accepted, yet every weight is 0 (e.g. a test split so small that each median
            # score is 0): the scores carry no information; weigh by samples, at least 1 each
            scores = [1] * len(accepted)
            counts = [max(c, 1) for c in counts]
        aggregate = get_aggregator(name)(vectors, counts, scores=scores)
    elif name == "fedavg":
        aggregate = get_aggregator(name)(vectors, counts)
    else:
        aggregate = get_aggregator(name)(vectors, **kwargs)
    digest = store.put(aggregate, {"kind": "aggregate", "round": str(round_)})
    return digest, aggregate


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
    """

    round: int
    model_hash: bytes
    params: torch.Tensor
    adopted: bool


def base_model(
    aggregation: Any, task: TaskClient, store: UpdateStore, num_params: int
) -> BaseModel:
    """The base model of the task's current round: the pending aggregate as recomputed here
    from the chain and verified blobs, else the adopted global model read from the store.

    Raises
    ------
    flock.store.StoreError
        When a needed blob is missing or does not hash to its on-chain hash.
    """
    pending = task.pending_aggregate_round()
    if pending:
        built = aggregate_from_chain(aggregation, task, store, pending)
        if built is None:  # the chain only marks a round pending when it accepted updates
            raise RuntimeError(f"round {pending} is pending but accepted nothing")
        digest, vector = built
        return BaseModel(pending, digest, vector, adopted=False)
    digest, round_ = task.global_model()
    vector = store.get(digest, expected_numel=num_params).vector
    return BaseModel(round_, digest, vector, adopted=True)
