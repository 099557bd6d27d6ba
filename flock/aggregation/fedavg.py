"""Sample-weighted federated averaging (FedAvg)."""

from collections.abc import Sequence

import numpy as np
import torch

from flock.aggregation._checks import check_finite, normalize_weights, validate_updates

__all__ = ["fedavg"]


def fedavg(
    updates: Sequence[torch.Tensor],
    weights: Sequence[float] | torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """Average updates weighted by their sample counts.

    Equivalent to Flower's ``aggregate``. The weighted sum is streamed as one
    fused multiply-add per update into a single accumulator, so the updates
    are read once and never stacked; finiteness is checked on the result (NaN
    and infinity propagate into it) and only then traced to an update.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    weights : sequence of float, 1-D tensor or array, optional
        Non-negative weights such as sample counts; None gives equal weights.

    Returns
    -------
    torch.Tensor
        The weighted mean, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid updates or weights, or updates holding NaN or infinity.
    """
    checked = validate_updates(updates)
    shares = normalize_weights(weights, len(checked))
    dtype = checked[0].dtype
    accumulator = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    result = _weighted_sum(checked, shares, accumulator)
    if not _all_finite(result):
        check_finite(checked)
        # Finite inputs whose running sum overflowed: redo it in float64.
        result = _weighted_sum(checked, shares, torch.float64)
    return result.to(dtype)


def _weighted_sum(
    updates: list[torch.Tensor], shares: list[float], dtype: torch.dtype
) -> torch.Tensor:
    """Return sum(share_i * update_i) accumulated in `dtype`."""
    total = updates[0].to(dtype) * shares[0]
    for update, share in zip(updates[1:], shares[1:], strict=True):
        total.add_(update, alpha=share)
    return total


def _all_finite(values: torch.Tensor) -> bool:
    """Return whether every value is finite.

    A finite sum proves it (NaN and infinity propagate through addition) at a
    fraction of an element-wise test, which only a non-finite sum needs.
    """
    return bool(torch.isfinite(values.sum())) or bool(torch.isfinite(values).all())
