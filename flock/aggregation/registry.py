"""Lookup of aggregation rules by their configuration names."""

from collections.abc import Callable

import torch

from flock.aggregation.bulyan import bulyan
from flock.aggregation.centered_clipping import centered_clipping
from flock.aggregation.consensus import consensus
from flock.aggregation.errors import UnknownAggregatorError
from flock.aggregation.fedavg import fedavg
from flock.aggregation.geometric_median import geometric_median
from flock.aggregation.krum import krum, multikrum
from flock.aggregation.median import median
from flock.aggregation.trimmed_mean import trimmed_mean

__all__ = ["AGGREGATORS", "get_aggregator"]

AGGREGATORS: dict[str, Callable[..., torch.Tensor]] = {
    "fedavg": fedavg,
    "median": median,
    "trimmed_mean": trimmed_mean,
    "krum": krum,
    "multikrum": multikrum,
    "bulyan": bulyan,
    "consensus": consensus,
    "geometric_median": geometric_median,
    "centered_clipping": centered_clipping,
}


def get_aggregator(name: str) -> Callable[..., torch.Tensor]:
    """Return the aggregation function registered under `name`.

    Parameters
    ----------
    name : str
        Configuration name, e.g. ``"krum"``.

    Returns
    -------
    Callable
        The aggregation function.

    Raises
    ------
    UnknownAggregatorError
        A KeyError listing the valid names, if `name` is not registered.
    """
    try:
        return AGGREGATORS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(AGGREGATORS))
        raise UnknownAggregatorError(f"unknown aggregator {name!r}; valid names: {valid}") from None
