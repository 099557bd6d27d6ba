"""Flower's own robust strategies as defence baselines: their aggregation on one round's updates.

Each baseline is the real Flower class (`flwr.serverapp.strategy`): FedAvg, Krum, MultiKrum,
FedMedian, FedTrimmedAvg and Bulyan. A round's flat update vectors become the train replies a
ServerApp would receive (one ArrayRecord and a `num-examples` MetricRecord each) and the
strategy's own `aggregate_train` aggregates them. Strategies that need the number of malicious
nodes get the true count of the round. FedTrimmedAvg, FedMedian and Bulyan empty the arrays of
the replies they aggregate, so every reply carries its own copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, Message, Metadata, MetricRecord, RecordDict
from flwr.serverapp.strategy import (
    Bulyan,
    FedAvg,
    FedMedian,
    FedTrimmedAvg,
    Krum,
    MultiKrum,
    Strategy,
)

#: Baselines by their benchmark names.
BASELINES: tuple[str, ...] = ("fedavg", "krum", "multikrum", "fedmedian", "fedtrimmedavg", "bulyan")
#: Key of the weight in each reply's MetricRecord (Flower's default `weighted_by_key`).
WEIGHT_KEY = "num-examples"
_ARRAYS, _METRICS, _PARAMS = "arrays", "metrics", "params"


def make_strategy(name: str, *, num_updates: int, num_malicious: int) -> Strategy:
    """The Flower strategy `name`, configured for a round of `num_updates` updates of which
    `num_malicious` are malicious (the true count).

    MultiKrum keeps n - f updates; FedTrimmedAvg cuts f updates from each tail (beta just above
    f / n, below 0.5).

    Raises
    ------
    ValueError
        For an unknown name or counts out of range.
    """
    if not 0 <= num_malicious <= num_updates:
        raise ValueError(f"need 0 <= malicious <= updates, got {num_malicious}/{num_updates}")
    f = num_malicious
    if name == "fedavg":
        return FedAvg()
    if name == "krum":
        return Krum(num_malicious_nodes=f)
    if name == "multikrum":
        return MultiKrum(num_malicious_nodes=f, num_nodes_to_select=max(num_updates - f, 1))
    if name == "fedmedian":
        return FedMedian()
    if name == "fedtrimmedavg":
        beta = min((f + 0.5) / max(num_updates, 1), 0.499)
        return FedTrimmedAvg(beta=beta)
    if name == "bulyan":
        return Bulyan(num_malicious_nodes=f)
    raise ValueError(f"unknown baseline {name!r}; valid: {', '.join(BASELINES)}")


def bulyan_runs(num_updates: int, num_malicious: int) -> bool:
    """Whether Bulyan can aggregate: n >= 4 f + 3."""
    return num_updates >= 4 * num_malicious + 3


def train_replies(
    vectors: Sequence[torch.Tensor], num_samples: Sequence[int], *, round_: int
) -> list[Message]:
    """One round's updates as the train replies a ServerApp receives (node ids 1..n)."""
    now = time.time()
    replies = []
    for i, (vector, samples) in enumerate(zip(vectors, num_samples, strict=True)):
        content = RecordDict(
            {
                _ARRAYS: ArrayRecord({_PARAMS: Array(vector.detach().numpy().copy())}),
                _METRICS: MetricRecord({WEIGHT_KEY: int(samples)}),
            }
        )
        metadata = Metadata(
            run_id=0,
            message_id=f"{round_}-{i}",
            src_node_id=i + 1,
            dst_node_id=0,
            reply_to_message_id="",
            group_id=str(round_),
            created_at=now,
            ttl=3600.0,
            message_type="train",
        )
        # a reply as the runtime delivers it (its metadata set directly: the public overloads
        # build a reply from the instruction message, which needs a running ServerApp)
        replies.append(Message(content, metadata=metadata))  # type: ignore[call-overload]
    return replies


def flower_aggregate(
    name: str,
    vectors: Sequence[torch.Tensor],
    num_samples: Sequence[int],
    *,
    num_malicious: int,
    round_: int = 1,
) -> torch.Tensor | None:
    """Aggregate one round's flat update vectors with Flower's strategy `name`.

    Parameters
    ----------
    name : str
        One of :data:`BASELINES`.
    vectors : sequence of torch.Tensor
        The round's updates (flat float32 parameter vectors).
    num_samples : sequence of int
        Training samples behind each update (the weight of the weighted rules).
    num_malicious : int
        The true number of malicious updates among them.
    round_ : int
        The server round (passed on to the strategy).

    Returns
    -------
    torch.Tensor or None
        The aggregate (float32), or None when the strategy declines (Bulyan with n < 4f + 3).
    """
    if not vectors:
        return None
    strategy = make_strategy(name, num_updates=len(vectors), num_malicious=num_malicious)
    flwr_logger = logging.getLogger("flwr")
    level = flwr_logger.level
    flwr_logger.setLevel(logging.ERROR)  # one INFO line per call otherwise; Bulyan warns
    try:
        arrays, _ = strategy.aggregate_train(
            round_, train_replies(vectors, num_samples, round_=round_)
        )
    finally:
        flwr_logger.setLevel(level)
    if arrays is None:
        return None
    aggregate = np.asarray(arrays[_PARAMS].numpy(), dtype=np.float32)
    return torch.from_numpy(aggregate.copy())
