"""Centered clipping (Karimireddy, He and Jaggi 2021): a clipped step from a reference point."""

from collections.abc import Sequence

import numpy as np
import torch

from flock.aggregation._checks import (
    check_finite,
    check_positive_real,
    check_reference,
    check_steps,
    normalize_weights,
    validate_updates,
)
from flock.aggregation.clipping import clip_factors, exact_norms

__all__ = ["centered_clipping"]


def centered_clipping(
    updates: Sequence[torch.Tensor],
    *,
    tau: float,
    iterations: int,
    reference: torch.Tensor | None = None,
    weights: Sequence[float] | torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """Aggregate by centered clipping around a reference point.

    From "Learning from History for Byzantine Robust Optimization"
    (Karimireddy, He and Jaggi, ICML 2021): starting at ``v = reference`` (the
    previous aggregate; zero for updates that are differences), repeat
    `iterations` times::

        v = v + sum_i w_i (u_i - v) min(1, tau / |u_i - v|)

    with ``w`` the normalised `weights` (``1 / n`` by default, as in the
    paper). Each update moves ``v`` by at most ``w_i * tau`` per step, so ``f``
    Byzantine updates move it by at most ``iterations * tau * f / n`` in all.
    Norms are exact (:func:`~flock.aggregation.clipping.exact_norms`) and the
    steps separate float64 element-wise operations in input order: the same
    inputs give the same bytes on every machine.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    tau : float
        Clipping radius, a finite number above 0.
    iterations : int
        Clipping steps ``L``, ``>= 1``.
    reference : torch.Tensor, optional
        The starting point: the previous aggregate (for full models, the base
        model they were trained from); None is the zero vector.
    weights : sequence of float, 1-D tensor or array, optional
        Non-negative weights; None gives equal weights.

    Returns
    -------
    torch.Tensor
        The aggregate ``v``, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid or non-finite updates or weights, a reference that does not
        fit, a `tau` that is not a finite number above 0, or `iterations` < 1.
    """
    checked = validate_updates(updates)
    radius = check_positive_real(tau, "tau")
    steps = check_steps(iterations, "iterations", minimum=1)
    shares = normalize_weights(weights, len(checked))
    check_finite(checked)
    centre = check_reference(reference, checked[0]).clone()
    for _ in range(steps):
        factors = clip_factors(exact_norms(checked, centre), radius)
        step = torch.zeros_like(centre)
        for update, share, factor in zip(checked, shares, factors, strict=True):
            if share:
                difference = torch.sub(update.to(torch.float64), centre)
                step.add_(torch.mul(difference, share * factor))
        centre.add_(step)
    return centre.to(checked[0].dtype)
