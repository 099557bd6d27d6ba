"""Coordinate-wise median aggregation."""

from collections.abc import Sequence

import numpy as np
import torch

from flock.aggregation._checks import sorted_column_blocks, to_tensor, validate_updates

__all__ = ["median", "middle_of_sorted"]


def median(updates: Sequence[torch.Tensor]) -> torch.Tensor:
    """Take the coordinate-wise median of the updates.

    Matches Flower's ``aggregate_median`` (``np.median``): for an even number
    of updates the two middle values are averaged. Coordinates are sorted in
    cache-sized blocks, so the ``(n, d)`` matrix is never materialised.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.

    Returns
    -------
    torch.Tensor
        The coordinate-wise median, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid updates, or updates holding NaN or infinity.
    """
    checked = validate_updates(updates)
    result: np.ndarray | None = None
    for start, stop, rows in sorted_column_blocks(checked):
        if result is None:
            result = np.empty(checked[0].shape[0], dtype=rows.dtype)
        result[start:stop] = middle_of_sorted(rows)
    if result is None:  # zero-length updates
        return checked[0].clone()
    return to_tensor(result, checked[0])


def middle_of_sorted(rows: np.ndarray) -> np.ndarray:
    """Return the median of each row of an array sorted along axis 1.

    Parameters
    ----------
    rows : numpy.ndarray
        Array of shape ``(m, n)``, each row in ascending order.

    Returns
    -------
    numpy.ndarray
        The middle value of each row (n odd) or the mean of the two middle
        values (n even), in the dtype of `rows`. The pair is added in float64,
        which rounds exactly like ``np.median`` but cannot overflow.
    """
    half = rows.shape[1] // 2
    if rows.shape[1] % 2:
        return rows[:, half]
    pair_sum = np.add(rows[:, half - 1], rows[:, half], dtype=np.float64)
    return (pair_sum / 2).astype(rows.dtype)
