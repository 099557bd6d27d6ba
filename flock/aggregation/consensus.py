"""Flock's consensus rule: a bit-reproducible average weighted by score and sample count."""

import operator
from collections.abc import Sequence

import torch

from flock.aggregation._checks import check_finite, validate_updates
from flock.aggregation.errors import AggregationError

__all__ = ["consensus"]


def consensus(
    updates: Sequence[torch.Tensor],
    sample_counts: Sequence[int],
    *,
    scores: Sequence[int],
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

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    sample_counts : sequence of int
        Non-negative number of training samples behind each update.
    scores : sequence of int
        Non-negative consensus score of each update; zero rejects it.

    Returns
    -------
    torch.Tensor
        The consensus aggregate, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid or non-finite updates, counts or scores that are not
        non-negative integers or whose lengths differ from the updates', or a
        zero total weight.
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
    accumulator = torch.zeros(checked[0].shape, dtype=torch.float64, device=checked[0].device)
    for update, product in zip(checked, products, strict=True):
        if product == 0:
            continue
        accumulator.add_(torch.mul(update.to(torch.float64), product / total))
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
