"""Bulyan: repeated Krum selection followed by a coordinate-wise trimmed mean."""

from collections.abc import Sequence

import numpy as np
import torch

from flock.aggregation._checks import (
    AUTO,
    check_num_malicious,
    normalize_weights,
    sorted_column_blocks,
    to_tensor,
    validate_updates,
)
from flock.aggregation.errors import AggregationError
from flock.aggregation.krum import krum_scores, pairwise_squared_distances
from flock.aggregation.median import middle_of_sorted

__all__ = ["bulyan"]


def bulyan(
    updates: Sequence[torch.Tensor],
    num_malicious: int | str = AUTO,
    *,
    weights: Sequence[float] | torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """Aggregate with Bulyan, using Krum as the selection rule.

    Matches Flower's ``aggregate_bulyan(results, num_malicious, aggregate_krum,
    to_keep=0)``. With ``n`` updates and ``f = num_malicious``, Krum is applied
    ``theta = n - 2f`` times, each time to the updates not yet selected (and
    scoring each by its ``n' - f - 2`` nearest neighbours among the ``n'``
    remaining, as :func:`~flock.aggregation.krum`), and the winner moves to
    the selection set. Then, coordinate by coordinate, the
    ``beta = theta - 2f`` selected values closest to the selection's median are
    averaged. Squared distances come from a single Gram matrix; each round only
    re-scores a sub-matrix of it.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    num_malicious : int or "auto", optional
        Number of Byzantine updates to tolerate; requires
        ``len(updates) >= 4 * num_malicious + 3``. ``"auto"`` (the default)
        is the most that allows: ``f = max(0, (n - 3) // 4)``.
    weights : sequence of float, 1-D tensor or array, optional
        Validated for interface uniformity; Bulyan is unweighted, as in Flower.

    Returns
    -------
    torch.Tensor
        The Bulyan aggregate, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid updates, weights or `num_malicious`, non-finite updates, or
        fewer than ``4 * num_malicious + 3`` updates.
    """
    checked = validate_updates(updates)
    malicious = check_num_malicious(num_malicious, len(checked), per=4)
    normalize_weights(weights, len(checked))
    count = len(checked)
    if count < 4 * malicious + 3:
        raise AggregationError(
            f"Bulyan with num_malicious={malicious} needs at least 4 * num_malicious + 3 = "
            f"{4 * malicious + 3} updates, got {count}"
        )
    theta = count - 2 * malicious
    beta = theta - 2 * malicious

    distances = pairwise_squared_distances(checked)
    remaining = list(range(count))
    selected = []
    for _ in range(theta):
        index = torch.tensor(remaining)
        scores = krum_scores(distances[index][:, index], malicious)
        selected.append(remaining.pop(int(torch.argmin(scores))))

    chosen = [checked[i] for i in sorted(selected)]
    result: np.ndarray | None = None
    for start, stop, rows in sorted_column_blocks(chosen):
        if result is None:
            result = np.empty(checked[0].shape[0], dtype=rows.dtype)
        result[start:stop] = _mean_closest_to_median(rows, beta)
    if result is None:  # zero-length updates
        return checked[0].clone()
    return to_tensor(result, checked[0])


def _mean_closest_to_median(rows: np.ndarray, beta: int) -> np.ndarray:
    """Average, per row, the `beta` values closest to the row's median.

    In a sorted row the `beta` values closest to any point are contiguous, so
    the best window is the one whose farther end is nearest the median.
    """
    centre = middle_of_sorted(rows).astype(np.float64)[:, None]
    starts = rows.shape[1] - beta + 1
    reach = np.maximum(centre - rows[:, :starts], rows[:, beta - 1 :] - centre)
    first = reach.argmin(axis=1)
    window = np.take_along_axis(rows, first[:, None] + np.arange(beta), axis=1)
    return window.sum(axis=1, dtype=np.float64) / beta
