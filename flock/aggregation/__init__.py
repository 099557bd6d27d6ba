"""Pure aggregation rules over flattened client updates."""

from flock.aggregation._checks import stack_updates
from flock.aggregation.bulyan import bulyan
from flock.aggregation.centered_clipping import centered_clipping
from flock.aggregation.clipping import clip_to_norm, exact_norms
from flock.aggregation.consensus import consensus
from flock.aggregation.errors import AggregationError, UnknownAggregatorError
from flock.aggregation.fedavg import fedavg
from flock.aggregation.geometric_median import geometric_median
from flock.aggregation.krum import krum, multikrum
from flock.aggregation.median import median
from flock.aggregation.registry import AGGREGATORS, get_aggregator
from flock.aggregation.trimmed_mean import trim_count, trimmed_mean

__all__ = [
    "AGGREGATORS",
    "AggregationError",
    "UnknownAggregatorError",
    "bulyan",
    "centered_clipping",
    "clip_to_norm",
    "consensus",
    "exact_norms",
    "fedavg",
    "geometric_median",
    "get_aggregator",
    "krum",
    "median",
    "multikrum",
    "stack_updates",
    "trim_count",
    "trimmed_mean",
]
