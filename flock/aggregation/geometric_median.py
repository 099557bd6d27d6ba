"""Geometric median by the smoothed Weiszfeld algorithm (RFA, Pillutla et al.)."""

from collections.abc import Sequence

import numpy as np
import torch

from flock.aggregation._checks import (
    check_finite,
    check_positive_real,
    check_steps,
    normalize_weights,
    validate_updates,
)
from flock.aggregation.clipping import exact_norms

__all__ = ["geometric_median", "weighted_sum"]


def geometric_median(
    updates: Sequence[torch.Tensor],
    *,
    iterations: int,
    nu: float,
    weights: Sequence[float] | torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """Approximate the weighted geometric median of the updates (RFA's aggregate).

    The smoothed Weiszfeld algorithm of Pillutla, Kakade and Harchaoui
    ("Robust Aggregation for Federated Learning", IEEE TSP 2022), with a fixed
    number of steps so the cost and the result are fixed too. It starts from
    the weighted mean ``z = sum_i a_i u_i`` (``a`` the normalised `weights`)
    and repeats `iterations` times::

        b_i = a_i / max(nu, |z - u_i|)
        z   = sum_i b_i u_i / sum_j b_j

    Each step does not increase the smoothed objective ``sum_i a_i g(|z - u_i|)``
    (``g`` the distance, made quadratic below `nu`); `nu` keeps an update that
    ``z`` lands on from taking all the weight. RFA's
    reference implementation runs 5 passes (the mean, then 4 steps) with
    ``nu = 1e-6``. Norms are exact (:func:`~flock.aggregation.clipping.
    exact_norms`) and every sum runs in input order with separate float64
    element-wise operations, so the same inputs give the same bytes on every
    machine.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    iterations : int
        Weiszfeld steps after the weighted mean, ``>= 0`` (0: the mean).
    nu : float
        Smoothing distance, a finite number above 0.
    weights : sequence of float, 1-D tensor or array, optional
        Non-negative weights such as sample counts; None gives equal weights.

    Returns
    -------
    torch.Tensor
        The approximate geometric median, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid or non-finite updates or weights, a negative or
        non-integer `iterations`, or a `nu` that is not a finite number above 0.
    """
    checked = validate_updates(updates)
    steps = check_steps(iterations, "iterations")
    smoothing = check_positive_real(nu, "nu")
    alphas = normalize_weights(weights, len(checked))
    check_finite(checked)
    centre = weighted_sum(checked, alphas)
    for _ in range(steps):
        distances = exact_norms(checked, centre)
        betas = [a / max(smoothing, d) for a, d in zip(alphas, distances, strict=True)]
        total = sum(betas)
        centre = weighted_sum(checked, [b / total for b in betas])
    return centre.to(checked[0].dtype)


def weighted_sum(updates: Sequence[torch.Tensor], shares: Sequence[float]) -> torch.Tensor:
    """``sum_i shares_i * u_i`` in float64: in input order, one element-wise multiply and one
    add per update (no BLAS, no reduction, no fused multiply-add), skipping zero shares."""
    accumulator = torch.zeros(updates[0].shape, dtype=torch.float64, device=updates[0].device)
    for update, share in zip(updates, shares, strict=True):
        if share:
            accumulator.add_(torch.mul(update.to(torch.float64), share))
    return accumulator
