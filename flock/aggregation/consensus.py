"""Flock's consensus rule: a bit-reproducible average weighted by score and sample count."""

import operator
from collections.abc import Sequence

import torch

from flock.aggregation._checks import (
    check_finite,
    check_positive_real,
    check_reference,
    validate_updates,
)
from flock.aggregation.clipping import clip_factors, exact_norms, median_norm, scaled_towards
from flock.aggregation.errors import AggregationError

__all__ = ["consensus"]


def consensus(
    updates: Sequence[torch.Tensor],
    sample_counts: Sequence[int],
    *,
    scores: Sequence[int],
    clip_ratio: float | None = None,
    reference: torch.Tensor | None = None,
) -> torch.Tensor:
    """Average the accepted updates weighted by consensus score times sample count.

    The result's hash goes on chain, so it must be bit-identical on every
    machine. The weights ``w_i = s_i * n_i / sum_j s_j * n_j`` are computed
    from the integers in Python (exact products, one correctly rounded
    division). Then, in input order and skipping zero weights,
    ``acc += w_i * float64(u_i)`` is evaluated with separate element-wise
    multiply and add (no BLAS, no reduction, no fused multiply-add), and the
    float64 accumulator is rounded once to the input dtype (float32 in
    practice). The result depends on the input order by design.

    With `clip_ratio`, each weighted update ``u_i`` is first clipped to the
    bound ``clip_ratio * m`` around `reference` (the base model the updates
    were trained from): ``reference + (u_i - reference) * min(1, bound / |u_i
    - reference|)``, where ``m`` is the median of the weighted updates' non-zero
    norms against `reference`. The norms are exact (:func:`~flock.aggregation.
    clipping.exact_norms`: correctly rounded, the same float on every machine),
    the clipping separate float64 element-wise operations, so the aggregate
    stays bit-reproducible; an update within the bound enters exactly as
    without clipping. Only the accepted set moves ``m``: an attacker must hold
    at least half of the accepted updates to raise (or lower) it past every
    honest norm, so a minority's boosted update is cut to the honest scale.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    sample_counts : sequence of int
        Non-negative number of training samples behind each update.
    scores : sequence of int
        Non-negative consensus score of each update; zero rejects it.
    clip_ratio : float, optional
        Clip each update to this multiple of the median norm of the updates
        with a non-zero weight (a finite number above 0); None (the default)
        does not clip.
    reference : torch.Tensor, optional
        The point norms are measured from when clipping (the base model of
        full-model updates); None is the zero vector. Unused without
        `clip_ratio`.

    Returns
    -------
    torch.Tensor
        The consensus aggregate, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid or non-finite updates, counts or scores that are not
        non-negative integers or whose lengths differ from the updates', a
        zero total weight, a `clip_ratio` that is not a finite number above 0,
        or a reference that does not fit the updates.
    """
    checked = validate_updates(updates)
    counts = _non_negative_ints(sample_counts, len(checked), "sample_counts")
    marks = _non_negative_ints(scores, len(checked), "scores")
    products = [mark * count for mark, count in zip(marks, counts, strict=True)]
    total = sum(products)
    if total == 0:
        raise AggregationError(
            "total weight sum(scores[i] * sample_counts[i]) is zero; no update is accepted"
        )
    check_finite(checked)
    factors = [1.0] * len(checked)
    origin = None
    if clip_ratio is not None:
        ratio = check_positive_real(clip_ratio, "clip_ratio")
        origin = check_reference(reference, checked[0])
        weighted = [i for i, product in enumerate(products) if product]
        norms = exact_norms([checked[i] for i in weighted], origin)
        middle = median_norm(norms)
        if middle is not None:
            for i, factor in zip(weighted, clip_factors(norms, ratio * middle), strict=True):
                factors[i] = factor
    accumulator = torch.zeros(checked[0].shape, dtype=torch.float64, device=checked[0].device)
    for update, product, factor in zip(checked, products, factors, strict=True):
        if product == 0:
            continue
        if origin is None or factor == 1.0:
            wide = update.to(torch.float64)
        else:
            wide = scaled_towards(update, origin, factor)
        accumulator.add_(torch.mul(wide, product / total))
    return accumulator.to(checked[0].dtype)


def _non_negative_ints(values: Sequence[int], count: int, name: str) -> list[int]:
    """Return `values` as Python ints, checking length, type and sign."""
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    items = list(values)
    if len(items) != count:
        raise AggregationError(f"got {len(items)} {name} for {count} updates")
    checked = []
    for i, value in enumerate(items):
        if isinstance(value, bool):
            raise AggregationError(f"{name}[{i}] is {value!r}, not an integer")
        try:
            number = operator.index(value)
        except TypeError:
            raise AggregationError(f"{name}[{i}] is {value!r}, not an integer") from None
        if number < 0:
            raise AggregationError(f"{name}[{i}] is {number}; it must be non-negative")
        checked.append(number)
    return checked
