"""Coordinate-wise trimmed mean aggregation."""

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch

from flock.aggregation._checks import sorted_column_blocks, to_tensor, validate_updates
from flock.aggregation.errors import AggregationError

__all__ = ["trimmed_mean"]


def trimmed_mean(updates: Sequence[torch.Tensor], beta: float = 0.1) -> torch.Tensor:
    """Average each coordinate after discarding its extremes.

    Matches Flower's ``aggregate_trimmed_avg(results, proportiontocut=beta)``:
    ``int(beta * n)`` values are cut from each end of every coordinate and the
    rest averaged (summed in float64). Unweighted, as in Flower.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    beta : float, optional
        Proportion cut from each end, in ``[0, 0.5)``.

    Returns
    -------
    torch.Tensor
        The trimmed mean, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid updates, updates holding NaN or infinity, or `beta`
        outside ``[0, 0.5)``.
    """
    checked = validate_updates(updates)
    if (
        isinstance(beta, bool)
        or not isinstance(beta, numbers.Real)
        or not math.isfinite(beta)
        or not 0.0 <= beta < 0.5
    ):
        raise AggregationError(f"beta must be a proportion in [0, 0.5), got {beta!r}")
    count = len(checked)
    cut = int(beta * count)
    kept = count - 2 * cut
    result: np.ndarray | None = None
    for start, stop, rows in sorted_column_blocks(checked):
        if result is None:
            result = np.empty(checked[0].shape[0], dtype=rows.dtype)
        result[start:stop] = rows[:, cut : count - cut].sum(axis=1, dtype=np.float64) / kept
    if result is None:  # zero-length updates
        return checked[0].clone()
    return to_tensor(result, checked[0])
