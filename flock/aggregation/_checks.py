"""Validation of updates, weights and knobs shared by the aggregation rules."""

import math
import numbers
import operator
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from flock.aggregation.errors import AggregationError

__all__ = [
    "AUTO",
    "AggregationError",
    "as_arrays",
    "check_finite",
    "check_num_malicious",
    "check_positive_real",
    "check_reference",
    "check_steps",
    "normalize_weights",
    "sorted_column_blocks",
    "stack_updates",
    "to_tensor",
    "validate_updates",
]

#: The `num_malicious` that asks a rule for the most Byzantine updates it tolerates.
AUTO = "auto"
# Columns per block in sorted_column_blocks: 8192 x 50 float32 is 1.6 MB, cache resident.
_SORT_BLOCK = 8192
# Dtypes numpy sorts natively; others (bfloat16) are widened to float32 first.
_NUMPY_DTYPES = (torch.float16, torch.float32, torch.float64)


def validate_updates(updates: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Check the structure of a list of flattened updates.

    Finiteness is not checked here (it costs a pass over the data); see
    `check_finite`.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates.

    Returns
    -------
    list of torch.Tensor
        The updates, detached from any autograd graph.

    Raises
    ------
    AggregationError
        If `updates` is empty or not a sequence, or an update is not a 1-D
        floating-point tensor with the length, dtype and device of update 0.
    """
    if isinstance(updates, torch.Tensor):
        raise AggregationError(
            f"expected a sequence of 1-D tensors, got one tensor of shape "
            f"{tuple(updates.shape)}; pass list(tensor.unbind(0)) for a stacked batch"
        )
    try:
        items = list(updates)
    except TypeError:
        raise AggregationError(
            f"expected a sequence of 1-D tensors, got {type(updates).__name__}"
        ) from None
    if not items:
        raise AggregationError("cannot aggregate an empty list of updates")
    for i, update in enumerate(items):
        if not isinstance(update, torch.Tensor):
            raise AggregationError(f"update {i} is a {type(update).__name__}, not a torch.Tensor")
        if update.ndim != 1:
            raise AggregationError(
                f"update {i} has shape {tuple(update.shape)}; updates must be 1-D (flatten them)"
            )
        if not update.is_floating_point():
            raise AggregationError(
                f"update {i} has dtype {update.dtype}; updates must be floating point"
            )
        first = items[0]
        if update.shape != first.shape:
            raise AggregationError(
                f"update {i} has shape {tuple(update.shape)} but update 0 has shape "
                f"{tuple(first.shape)}; all updates must have the same length"
            )
        if update.dtype != first.dtype:
            raise AggregationError(
                f"update {i} has dtype {update.dtype} but update 0 has dtype {first.dtype}"
            )
        if update.device != first.device:
            raise AggregationError(
                f"update {i} is on {update.device} but update 0 is on {first.device}"
            )
    return [update.detach() for update in items]


def check_finite(updates: Sequence[torch.Tensor]) -> None:
    """Raise if any update holds NaN or infinity.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Validated 1-D updates.

    Raises
    ------
    AggregationError
        Naming the first offending update, the position and the value.
    """
    for i, update in enumerate(updates):
        # A finite sum proves every element finite (NaN and inf propagate
        # through addition); only a non-finite sum needs the exact scan.
        if bool(torch.isfinite(update.sum())) or bool(torch.isfinite(update).all()):
            continue
        position = int(torch.nonzero(~torch.isfinite(update))[0])
        value = float(update[position])
        kind = "NaN" if math.isnan(value) else ("+inf" if value > 0 else "-inf")
        raise AggregationError(
            f"update {i} contains {kind} at position {position}; updates must be finite"
        )


def stack_updates(updates: Sequence[torch.Tensor]) -> torch.Tensor:
    """Validate updates and stack them into one matrix.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Flattened client updates, all 1-D, floating point and of equal length.

    Returns
    -------
    torch.Tensor
        Matrix of shape ``(n, d)``, one row per update, in the input dtype.

    Raises
    ------
    AggregationError
        For empty input, non-1-D or non-floating tensors, mismatched lengths,
        dtypes or devices, and updates holding NaN or infinity.
    """
    checked = validate_updates(updates)
    check_finite(checked)
    return torch.stack(checked)


def normalize_weights(
    weights: Sequence[float] | torch.Tensor | np.ndarray | None, count: int
) -> list[float]:
    """Check per-update weights and scale them to sum to one.

    Parameters
    ----------
    weights : sequence of float, 1-D tensor or array, or None
        Non-negative finite weights, one per update; None means equal weights.
    count : int
        Number of updates.

    Returns
    -------
    list of float
        The weights divided by their sum.

    Raises
    ------
    AggregationError
        If the length differs from `count`, a weight is not a finite
        non-negative real number, or the weights sum to zero.
    """
    if weights is None:
        return [1.0 / count] * count
    if isinstance(weights, torch.Tensor | np.ndarray):
        if weights.ndim != 1:
            raise AggregationError(f"weights must be 1-D, got shape {tuple(weights.shape)}")
        weights = weights.tolist()
    values = list(weights)
    if len(values) != count:
        raise AggregationError(f"got {len(values)} weights for {count} updates")
    floats = []
    for i, weight in enumerate(values):
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise AggregationError(f"weight {i} is {weight!r}, not a real number")
        try:
            value = float(weight)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise AggregationError(f"weight {i} is {weight!r}; weights must be finite")
        if value < 0:
            raise AggregationError(f"weight {i} is {weight!r}; weights must be non-negative")
        floats.append(value)
    total = math.fsum(floats)
    if not total > 0:
        raise AggregationError("weights sum to zero; at least one weight must be positive")
    return [value / total for value in floats]


def check_num_malicious(num_malicious: int | str, count: int | None = None, *, per: int = 2) -> int:
    """Check the assumed number of Byzantine clients, resolving ``"auto"``.

    Parameters
    ----------
    num_malicious : int or "auto"
        Number of malicious clients the rule must tolerate; ``"auto"`` is the
        largest ``f`` with ``count >= per * f + 3`` (0 below 3 updates).
    count : int, optional
        Number of updates; needed for ``"auto"``.
    per : int
        Updates the rule needs per tolerated Byzantine update: 2 for Krum and
        Multi-Krum (``n >= 2f + 3``), 4 for Bulyan (``n >= 4f + 3``).

    Returns
    -------
    int
        The number as a plain int.

    Raises
    ------
    AggregationError
        If it is neither a non-negative integer nor ``"auto"``.
    """
    if isinstance(num_malicious, str) and num_malicious == AUTO and count is not None:
        return max(0, (count - 3) // per)
    message = f"num_malicious must be a non-negative integer or {AUTO!r}, got {num_malicious!r}"
    if isinstance(num_malicious, bool | str):
        raise AggregationError(message)
    try:
        value = operator.index(num_malicious)
    except TypeError:
        raise AggregationError(message) from None
    if value < 0:
        raise AggregationError(f"num_malicious must be non-negative, got {value}")
    return value


def check_positive_real(value: float, name: str) -> float:
    """Return `value` as a float, raising AggregationError unless it is a finite real > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or not value > 0
    ):
        raise AggregationError(f"{name} must be a finite number above 0, got {value!r}")
    return float(value)


def check_steps(value: int, name: str, *, minimum: int = 0) -> int:
    """Return `value` as an int, raising AggregationError unless it is an integer >= `minimum`."""
    try:
        steps = operator.index(value) if not isinstance(value, bool) else minimum - 1
    except TypeError:
        steps = minimum - 1
    if steps < minimum:
        raise AggregationError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return steps


def check_reference(reference: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """The reference point of a rule as a float64 tensor: zeros for None, else `reference`
    checked against update 0 (1-D, same length and device, floating point, finite).

    Raises
    ------
    AggregationError
        If `reference` does not fit the updates or holds NaN or infinity.
    """
    if reference is None:
        return torch.zeros(like.shape, dtype=torch.float64, device=like.device)
    if not isinstance(reference, torch.Tensor) or not reference.is_floating_point():
        raise AggregationError(f"reference must be a floating-point tensor, got {reference!r}")
    if reference.shape != like.shape or reference.device != like.device:
        raise AggregationError(
            f"reference has shape {tuple(reference.shape)} on {reference.device} but the "
            f"updates have shape {tuple(like.shape)} on {like.device}"
        )
    if not bool(torch.isfinite(reference).all()):
        raise AggregationError("reference contains NaN or infinity; it must be finite")
    return reference.detach().to(torch.float64)


def as_arrays(updates: Sequence[torch.Tensor]) -> list[np.ndarray]:
    """Return NumPy views of validated updates (copies for bfloat16 or non-CPU).

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Validated, detached 1-D updates.

    Returns
    -------
    list of numpy.ndarray
        Zero-copy views where possible; bfloat16 is widened to float32 and
        non-CPU tensors are copied to the host.
    """
    arrays = []
    for update in updates:
        if update.dtype not in _NUMPY_DTYPES:
            update = update.to(torch.float32)
        arrays.append(update.cpu().numpy())
    return arrays


def to_tensor(values: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """Wrap a NumPy result as a tensor with the dtype and device of `like`.

    Parameters
    ----------
    values : numpy.ndarray
        Result computed on the host.
    like : torch.Tensor
        Tensor whose dtype and device the result takes.

    Returns
    -------
    torch.Tensor
        `values` as a tensor (zero-copy when dtype and device already match).
    """
    return torch.from_numpy(values).to(device=like.device, dtype=like.dtype)


def sorted_column_blocks(
    updates: Sequence[torch.Tensor], *, block: int | None = None
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield the updates' coordinates in blocks, each coordinate sorted across updates.

    Streams the columns through one cache-resident buffer instead of
    materialising the full ``(n, d)`` matrix.

    Parameters
    ----------
    updates : sequence of torch.Tensor
        Validated 1-D updates.
    block : int, optional
        Number of coordinates per block; defaults to a cache-sized block.

    Yields
    ------
    start, stop : int
        Coordinate range of the block.
    rows : numpy.ndarray
        Array of shape ``(stop - start, n)``; row ``k`` holds coordinate
        ``start + k`` of every update in ascending order. The buffer is reused,
        so consume it before advancing the iterator.

    Raises
    ------
    AggregationError
        If an update holds NaN or infinity.
    """
    block = block or _SORT_BLOCK
    arrays = as_arrays(updates)
    count, length = len(arrays), arrays[0].shape[0]
    buffer = np.empty((min(block, length), count), dtype=arrays[0].dtype)
    for start in range(0, length, block):
        stop = min(start + block, length)
        rows = buffer[: stop - start]
        for j, array in enumerate(arrays):
            rows[:, j] = array[start:stop]
        rows.sort(axis=1)
        # After sorting, -inf lands first and +inf and NaN last in each row.
        if not (np.isfinite(rows[:, 0]).all() and np.isfinite(rows[:, -1]).all()):
            check_finite(updates)
            raise AggregationError("updates contain NaN or infinity")
        yield start, stop, rows
