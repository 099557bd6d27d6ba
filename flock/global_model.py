"""The next global model: the deterministic aggregate of a settled round's accepted updates."""

from __future__ import annotations

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
