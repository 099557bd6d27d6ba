"""Pure aggregation rules over flattened client updates."""

from flock.aggregation._checks import stack_updates
from flock.aggregation.bulyan import bulyan
from flock.aggregation.consensus import consensus
from flock.aggregation.errors import AggregationError, UnknownAggregatorError
from flock.aggregation.fedavg import fedavg
from flock.aggregation.krum import krum, multikrum
from flock.aggregation.median import median
from flock.aggregation.registry import AGGREGATORS, get_aggregator
from flock.aggregation.trimmed_mean import trimmed_mean

__all__ = [
    "AGGREGATORS",
    "AggregationError",
    "UnknownAggregatorError",
    "bulyan",
    "consensus",
    "fedavg",
    "get_aggregator",
    "krum",
    "median",
    "multikrum",
    "stack_updates",
    "trimmed_mean",
]
