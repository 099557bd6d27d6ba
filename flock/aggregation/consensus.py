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
    rejected: int = 0,
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

    With `rejected` > 0 (the round's proposals that were not accepted), each
    rejected proposal keeps one proposal's share of the step at `reference`
    (the base model): with ``a`` updates of non-zero weight the aggregate is
    ``(a * sum_i s_i n_i u_i + rejected * S * reference) / (S * (a + rejected))``,
    ``S = sum_j s_j n_j``, i.e. it moves ``a / (a + rejected)`` of the way from
    the base towards the weighted average. A round that accepts one update of
    three then takes a third of that member's step instead of adopting its
    local model outright. The integer weights are formed exactly, one division
    each, so the result stays bit-reproducible. A rejected proposer damps the
    step by one seat's share whatever sample count it claims: its influence is
    the seats the role draw gave it, and each try costs it a slash.

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
        The base model the updates were trained from: the point norms are
        measured from when clipping (None: the zero vector), and where the
        rejected proposals' share stays. Required with `rejected` > 0, unused
        without `clip_ratio` or `rejected`.
    rejected : int, optional
        The round's proposals that were not accepted (a non-negative integer;
        0, the default, aggregates the accepted updates alone).

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
        a `rejected` that is not a non-negative integer, or a reference that is
        missing (with `rejected` > 0) or does not fit the updates.
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
    (left_out,) = _non_negative_ints([rejected], 1, "rejected")
    check_finite(checked)
    factors = [1.0] * len(checked)
    origin = None
    if left_out and reference is None:
        raise AggregationError("rejected proposals keep their share at the reference: give it")
    ratio = None if clip_ratio is None else check_positive_real(clip_ratio, "clip_ratio")
    if left_out or ratio is not None:
        origin = check_reference(reference, checked[0])
    if ratio is not None:
        weighted = [i for i, product in enumerate(products) if product]
        norms = exact_norms([checked[i] for i in weighted], origin)
        middle = median_norm(norms)
        if middle is not None:
            for i, factor in zip(weighted, clip_factors(norms, ratio * middle), strict=True):
                factors[i] = factor
    # each weight is (a * product) / (total * (a + rejected)), the base's (rejected * total) /
    # (total * (a + rejected)): integers, one correctly rounded division each (with no
    # rejected proposal the same rational, so the same float, as product / total)
    accepted = sum(1 for product in products if product)
    denominator = total * (accepted + left_out)
    accumulator = torch.zeros(checked[0].shape, dtype=torch.float64, device=checked[0].device)
    for update, product, factor in zip(checked, products, factors, strict=True):
        if product == 0:
            continue
        if origin is None or factor == 1.0:
            wide = update.to(torch.float64)
        else:
            wide = scaled_towards(update, origin, factor)
        accumulator.add_(torch.mul(wide, product * accepted / denominator))
    if origin is not None and left_out:
        accumulator.add_(torch.mul(origin, left_out * total / denominator))
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
