"""Coordinate-wise trimmed mean aggregation."""

import math
import numbers
import operator
from collections.abc import Sequence

import numpy as np
import torch

from flock.aggregation._checks import sorted_column_blocks, to_tensor, validate_updates
from flock.aggregation.errors import AggregationError

__all__ = ["trim_count", "trimmed_mean"]

#: The proportion cut from each end when neither `beta` nor `trim` is given.
DEFAULT_BETA = 0.1


def trimmed_mean(
    updates: Sequence[torch.Tensor], beta: float | None = None, *, trim: int | None = None
) -> torch.Tensor:
    """Average each coordinate after discarding its extremes.

    Cuts a whole number of values from each end of every coordinate and
    averages the rest (summed in float64). Unweighted, as Flower's
    ``aggregate_trimmed_avg``. The count per end is `trim` when given, else
    :func:`trim_count` of `beta`: ``floor(beta * n)`` as Flower cuts, except
    that ``beta = f / n`` always cuts exactly ``f`` (Flower's ``int(beta * n)``
    loses one to rounding for 15 pairs with ``n <= 60``, ``n = 49, f = 1``
    among them).

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    beta : float, optional
        Proportion cut from each end, in ``[0, 0.5)``; 0.1 when neither
        `beta` nor `trim` is given.
    trim : int, optional
        Number of values cut from each end, with ``2 * trim < n``.

    Returns
    -------
    torch.Tensor
        The trimmed mean, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid updates, updates holding NaN or infinity, both `beta` and
        `trim` given, `beta` outside ``[0, 0.5)``, or a `trim` that is not an
        integer in ``[0, n / 2)``.
    """
    checked = validate_updates(updates)
    count = len(checked)
    if trim is not None and beta is not None:
        raise AggregationError(f"give beta or trim, not both (beta={beta!r}, trim={trim!r})")
    cut = _checked_trim(trim, count) if trim is not None else trim_count(beta, count)
    kept = count - 2 * cut
    result: np.ndarray | None = None
    for start, stop, rows in sorted_column_blocks(checked):
        if result is None:
            result = np.empty(checked[0].shape[0], dtype=rows.dtype)
        result[start:stop] = rows[:, cut : count - cut].sum(axis=1, dtype=np.float64) / kept
    if result is None:  # zero-length updates
        return checked[0].clone()
    return to_tensor(result, checked[0])


def trim_count(beta: float | None, count: int) -> int:
    """The number of values a proportion `beta` cuts from each end of `count` values.

    The largest ``k`` with ``k / count <= beta`` in floating point. For every
    ``beta`` that is not within rounding of some ``k / count`` this is
    ``floor(beta * count)``, Flower's count; for ``beta = f / count`` (computed
    as a float) it is exactly ``f``, where ``int(beta * count)`` can give
    ``f - 1`` (``(1 / 49) * 49 < 1``).

    Parameters
    ----------
    beta : float or None
        Proportion in ``[0, 0.5)``; None means 0.1.
    count : int
        Number of values per coordinate.

    Returns
    -------
    int
        The count per end, with ``2 * k < count``.

    Raises
    ------
    AggregationError
        If `beta` is not a real number in ``[0, 0.5)``.
    """
    if beta is None:
        beta = DEFAULT_BETA
    if (
        isinstance(beta, bool)
        or not isinstance(beta, numbers.Real)
        or not math.isfinite(beta)
        or not 0.0 <= beta < 0.5
    ):
        raise AggregationError(f"beta must be a proportion in [0, 0.5), got {beta!r}")
    if count <= 0:
        return 0
    cut = int(beta * count)
    # beta * count is within a few ulps of the exact product: at most one step either way.
    while (cut + 1) / count <= beta:
        cut += 1
    while cut > 0 and cut / count > beta:
        cut -= 1
    return cut


def _checked_trim(trim: int, count: int) -> int:
    """`trim` as an int, raising AggregationError unless ``0 <= trim`` and ``2 * trim < count``."""
    try:
        value = operator.index(trim) if not isinstance(trim, bool) else -1
    except TypeError:
        value = -1
    if value < 0 or 2 * value >= count:
        raise AggregationError(
            f"trim must be an integer with 0 <= trim and 2 * trim < {count} updates, got {trim!r}"
        )
    return value
