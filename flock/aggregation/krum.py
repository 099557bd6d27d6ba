"""Krum and Multi-Krum selection of the most central updates."""

import operator
from collections.abc import Sequence

import numpy as np
import torch

from flock.aggregation._checks import (
    AUTO,
    as_arrays,
    check_finite,
    check_num_malicious,
    normalize_weights,
    validate_updates,
)
from flock.aggregation.errors import AggregationError
from flock.aggregation.fedavg import fedavg

__all__ = ["krum", "krum_scores", "multikrum", "pairwise_squared_distances"]

# Coordinates per Gram block: 50 updates x 65536 float32 is 13 MB, resident in L3 cache.
_GRAM_BLOCK = 65536
# Columns per panel of the Gram matrix's lower triangle: one AVX-512 vector of
# float32. The triangle costs about 65% of the full product's flops for 50
# updates, and BLAS runs such narrow products fastest at a multiple of 16.
_GRAM_PANEL = 16


def krum(
    updates: Sequence[torch.Tensor],
    num_malicious: int | str = AUTO,
    *,
    weights: Sequence[float] | torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """Return the update closest to its neighbours (Krum).

    Matches Flower's ``aggregate_krum(results, num_malicious, to_keep=0)``:
    each update is scored by the sum of squared distances to its
    ``max(1, n - f - 2)`` nearest other updates (Blanchard et al. 2017's
    neighbour count, ``f = num_malicious``), and the lowest-scoring update
    (the first on ties) is returned. Krum's guarantee needs ``n >= 2f + 3``;
    an explicit `num_malicious` above that is still scored, as in Flower.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    num_malicious : int or "auto", optional
        Number of Byzantine updates to tolerate. ``"auto"`` (the default) is
        the most Krum tolerates for these ``n`` updates:
        ``f = max(0, (n - 3) // 2)``.
    weights : sequence of float, 1-D tensor or array, optional
        Validated for interface uniformity; the choice of one update does not
        depend on them.

    Returns
    -------
    torch.Tensor
        A copy of the selected update.

    Raises
    ------
    AggregationError
        For invalid updates, weights or `num_malicious`, or non-finite updates.
    """
    checked = validate_updates(updates)
    malicious = check_num_malicious(num_malicious, len(checked))
    normalize_weights(weights, len(checked))
    scores = krum_scores(pairwise_squared_distances(checked), malicious)
    best = int(torch.argmin(scores))
    return checked[best].clone(memory_format=torch.contiguous_format)


def multikrum(
    updates: Sequence[torch.Tensor],
    num_malicious: int | str = AUTO,
    *,
    to_keep: int | None = None,
    weights: Sequence[float] | torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """Average the `to_keep` lowest-scoring updates (Multi-Krum).

    Matches Flower's ``aggregate_krum(results, num_malicious, to_keep)`` with
    ``to_keep > 0``: updates are scored as in :func:`krum` (squared distances
    to the ``max(1, n - f - 2)`` nearest others), and the `to_keep` lowest
    scores (ties go to the lower index) are averaged with their `weights`, as
    Flower does with ``num_examples``.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates: 1-D, floating point, equal length.
    num_malicious : int or "auto", optional
        Number of Byzantine updates to tolerate; ``"auto"`` (the default) is
        ``f = max(0, (n - 3) // 2)``, the most Krum's scoring tolerates.
    to_keep : int, optional
        Number of updates to average, between 1 and ``len(updates)``; None
        (the default) keeps ``n - f``, the usual Multi-Krum convention.
    weights : sequence of float, 1-D tensor or array, optional
        Non-negative weights such as sample counts; None gives equal weights.

    Returns
    -------
    torch.Tensor
        Weighted mean of the selected updates, 1-D, in the input dtype.

    Raises
    ------
    AggregationError
        For invalid updates, weights, `num_malicious` or `to_keep`, non-finite
        updates, or when every selected update has zero weight.
    """
    checked = validate_updates(updates)
    malicious = check_num_malicious(num_malicious, len(checked))
    shares = normalize_weights(weights, len(checked))
    if to_keep is None:
        to_keep = max(1, len(checked) - malicious)
    try:
        keep = operator.index(to_keep) if not isinstance(to_keep, bool) else -1
    except TypeError:
        keep = -1
    if not 1 <= keep <= len(checked):
        raise AggregationError(
            f"to_keep must be an integer between 1 and {len(checked)}, got {to_keep!r}"
        )
    scores = krum_scores(pairwise_squared_distances(checked), malicious)
    chosen = sorted(torch.argsort(scores, stable=True)[:keep].tolist())
    if not any(shares[i] > 0 for i in chosen):
        raise AggregationError("every update selected by Multi-Krum has zero weight")
    return fedavg([checked[i] for i in chosen], [shares[i] for i in chosen])


def krum_scores(distances: torch.Tensor, num_malicious: int) -> torch.Tensor:
    """Score updates by the sum of squared distances to their nearest others.

    Parameters
    ----------
    distances : torch.Tensor
        Symmetric ``(n, n)`` squared-distance matrix with a zero diagonal.
    num_malicious : int
        Number of Byzantine updates to tolerate.

    Returns
    -------
    torch.Tensor
        Scores of shape ``(n,)``: for each row, the sum of its
        ``max(1, n - num_malicious - 2)`` smallest off-diagonal entries (the
        ``n - f - 2`` neighbours of Krum's definition), as in Flower (which
        drops the first, zero, entry of each sorted row).
    """
    closest = max(1, distances.shape[0] - num_malicious - 2)
    ordered = torch.sort(distances, dim=1).values
    return ordered[:, 1 : closest + 1].sum(dim=1)


def pairwise_squared_distances(
    updates: Sequence[torch.Tensor], *, block: int | None = None
) -> torch.Tensor:
    """Compute all squared Euclidean distances between updates from one Gram matrix.

    Uses ``|a - b|^2 = |a|^2 + |b|^2 - 2 a.b``. The updates are copied,
    `block` coordinates at a time, into one cache-resident buffer, where each
    block is centred on its own share of the updates' mean (distances are
    translation invariant, and centring avoids cancellation when the updates
    share a large common component). Only the lower triangle of each block's
    float32 Gram matrix is formed, in column panels, each as one batched
    product over one slice of the block per torch thread; the partial Grams
    are summed in float64. No ``(n, n, d)`` or ``(n, d)`` intermediate is
    built. Float64 updates, and float32 Grams that overflow, are computed in
    float64.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Validated 1-D updates.
    block : int, optional
        Coordinates per block; defaults to a cache-sized block.

    Returns
    -------
    torch.Tensor
        Float64 matrix of shape ``(n, n)``, exactly symmetric, clamped at
        zero, with an exactly zero diagonal.

    Raises
    ------
    AggregationError
        If an update holds NaN or infinity, or the distances overflow float64.
    """
    arrays = as_arrays(updates)
    width = block or _GRAM_BLOCK
    wide = arrays[0].dtype == np.float64
    gram = _gram(arrays, torch.float64 if wide else torch.float32, width)
    if not bool(torch.isfinite(gram).all()):
        check_finite(updates)
        gram = _gram(arrays, torch.float64, width)
        if not bool(torch.isfinite(gram).all()):
            raise AggregationError("squared distances between updates overflow float64")
    # The Gram matrix is exactly symmetric (mirrored from one triangle), so
    # mutual nearest neighbours get bit-identical scores and ties resolve by
    # index, as in Flower.
    norms = gram.diagonal()
    distances = (norms[:, None] + norms[None, :] - 2 * gram).clamp_(min=0)
    distances.fill_diagonal_(0)
    return distances


def _gram(arrays: list[np.ndarray], dtype: torch.dtype, block: int) -> torch.Tensor:
    """Return the float64 Gram matrix of the mean-centred arrays, computed in `dtype`.

    The result is mirrored from its lower triangle, so it is exactly symmetric.
    """
    count, length = len(arrays), arrays[0].shape[0]
    gram = torch.zeros((count, count), dtype=torch.float64)
    if length == 0:
        return gram
    block = min(block, length)
    # One slice of each block per thread: the batched product runs them in
    # parallel, each as an independent single-threaded product. The buffer is
    # rounded up to whole slices; its padding columns stay zero.
    slices = torch.get_num_threads()
    width = -(-block // slices) * slices
    buffer = torch.zeros((count, width), dtype=dtype)
    rows = buffer.numpy()
    batch = buffer.view(count, slices, width // slices).transpose(0, 1)
    share = torch.full((count,), 1 / count, dtype=dtype)
    panels = [(low, min(low + _GRAM_PANEL, count)) for low in range(0, count, _GRAM_PANEL)]
    for start in range(0, length, block):
        size = min(block, length - start)
        if size < block:
            rows[:, size:] = 0
        for j, array in enumerate(arrays):
            rows[j, :size] = array[start : start + size]
        # Centre on the block's coordinate means (zero on the padding).
        buffer.sub_(torch.mv(buffer.T, share))
        for low, high in panels:
            # Rows low.. against the panel's columns: the lower triangle's part.
            product = torch.bmm(batch[:, low:], batch[:, low:high].transpose(1, 2))
            gram[low:, low:high] += product.sum(dim=0, dtype=torch.float64)
    return gram.tril() + gram.tril(-1).T
