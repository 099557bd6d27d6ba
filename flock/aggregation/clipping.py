"""Norm clipping of updates, with norms that are the same bytes on every machine."""

import math
import statistics
from collections.abc import Sequence

import torch

from flock.aggregation._checks import (
    check_finite,
    check_positive_real,
    check_reference,
    validate_updates,
)

__all__ = ["clip_factors", "clip_to_norm", "exact_norms", "median_norm", "scaled_towards"]


def exact_norms(
    updates: Sequence[torch.Tensor], reference: torch.Tensor | None = None
) -> list[float]:
    """The Euclidean norm of each update minus `reference`, bit-reproducible everywhere.

    Each difference and square is one correctly rounded float64 operation per
    element, the squares are summed with :func:`math.fsum` (correctly rounded,
    so independent of summation order, vector width and thread count) and the
    square root is correctly rounded: the same inputs give the same float on
    every IEEE-754 machine. About 60 ms per million parameters.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened updates: 1-D, floating point, equal length, finite.
    reference : torch.Tensor, optional
        The point the norms are measured from (e.g. the base model the
        updates were trained from); None is the zero vector.

    Returns
    -------
    list of float
        One norm per update, in input order.

    Raises
    ------
    AggregationError
        For invalid or non-finite updates, or a reference that does not fit.
    """
    checked = validate_updates(updates)
    check_finite(checked)
    origin = check_reference(reference, checked[0])
    return [_norm(update.to(torch.float64) - origin) for update in checked]


def median_norm(norms: Sequence[float]) -> float | None:
    """The median of the non-zero `norms` (the mean of the middle two for an even count);
    None when every norm is 0. Updates that did not move (a resubmitted model) do not drag
    it down, as in :func:`flock.roles.screening.median_update_norm`."""
    moved = [float(n) for n in norms if n > 0]
    return float(statistics.median(moved)) if moved else None


def clip_factors(norms: Sequence[float], bound: float) -> list[float]:
    """Per norm, the factor that scales it to at most `bound`: ``min(1, bound / norm)``
    (one correctly rounded division), exactly 1.0 for a norm within the bound.

    Raises
    ------
    AggregationError
        If `bound` is not a finite number above 0.
    """
    limit = check_positive_real(bound, "bound")
    return [1.0 if norm <= limit else limit / norm for norm in norms]


def clip_to_norm(
    updates: Sequence[torch.Tensor],
    max_norm: float,
    *,
    reference: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """Scale each update's difference from `reference` down to at most `max_norm`.

    ``reference + (u - reference) * min(1, max_norm / |u - reference|)``, in
    float64 with separate element-wise operations, rounded once to the input
    dtype; an update within the bound is returned unchanged (a copy).

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened updates: 1-D, floating point, equal length, finite.
    max_norm : float
        The bound, a finite number above 0.
    reference : torch.Tensor, optional
        The centre of the ball (the base model of full-model updates); None is zero.

    Returns
    -------
    list of torch.Tensor
        The clipped updates, in input order and dtype.

    Raises
    ------
    AggregationError
        For invalid or non-finite updates, a reference that does not fit, or a
        `max_norm` that is not a finite number above 0.
    """
    checked = validate_updates(updates)
    check_positive_real(max_norm, "max_norm")
    origin = check_reference(reference, checked[0])
    factors = clip_factors(exact_norms(checked, reference), max_norm)
    return [
        scaled_towards(update, origin, factor).to(update.dtype)
        for update, factor in zip(checked, factors, strict=True)
    ]


def scaled_towards(update: torch.Tensor, origin: torch.Tensor, factor: float) -> torch.Tensor:
    """``origin + (update - origin) * factor`` in float64, one rounding per element-wise
    operation (no fused multiply-add); `update` itself, widened, when `factor` is 1."""
    wide = update.to(torch.float64)
    if factor == 1.0:
        return wide.clone() if wide is update else wide
    return torch.mul(torch.sub(wide, origin), factor).add_(origin)


def _norm(difference: torch.Tensor) -> float:
    """The correctly rounded Euclidean norm of a float64 vector's rounded squares."""
    squares = torch.mul(difference, difference).cpu().numpy()
    return math.sqrt(math.fsum(squares))
