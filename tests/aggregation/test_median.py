"""Specification of the coordinate-wise median."""

import importlib

import numpy as np
import pytest
import torch
from flwr.server.strategy.aggregate import aggregate_median
from hypothesis import given, settings
from hypothesis import strategies as st

from flock.aggregation import median


def _random_updates(seed: int, count: int, length: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(length, generator=generator) for _ in range(count)]


def test_median_of_identical_updates_returns_that_update() -> None:
    update = torch.tensor([0.5, -1.25, 3.0])

    assert torch.equal(median([update.clone() for _ in range(4)]), update)


def test_median_of_an_odd_count_is_the_middle_value() -> None:
    updates = [torch.tensor([1.0, -4.0]), torch.tensor([5.0, 0.0]), torch.tensor([3.0, 9.0])]

    assert torch.equal(median(updates), torch.tensor([3.0, 0.0]))


def test_median_of_an_even_count_averages_the_two_middle_values() -> None:
    # Sorted: [1, 2, 4, 10] -> (2 + 4) / 2 = 3, unlike torch.median's lower value 2.
    updates = [torch.tensor([v]) for v in (1.0, 2.0, 10.0, 4.0)]

    assert torch.equal(median(updates), torch.tensor([3.0]))


def test_median_ignores_a_minority_of_huge_outliers() -> None:
    honest = [torch.full((6,), float(v)) for v in (1.0, 2.0, 3.0)]
    attackers = [torch.full((6,), 1e30), torch.full((6,), -1e30)]

    assert torch.equal(median(honest + attackers), torch.full((6,), 2.0))


def test_median_of_two_values_near_float32_max_does_not_overflow() -> None:
    big = torch.tensor([3e38])

    assert torch.equal(median([big, big]), big)


@pytest.mark.parametrize(("count", "length"), [(1, 4), (2, 9), (7, 100), (10, 1000), (50, 33)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_median_equals_flower_aggregate_median_exactly(
    count: int, length: int, dtype: torch.dtype
) -> None:
    updates = [update.to(dtype) for update in _random_updates(count, count, length)]

    ours = median(updates)
    theirs = aggregate_median([([update.numpy().copy()], 1) for update in updates])[0]

    np.testing.assert_array_equal(ours.numpy(), theirs)


def test_median_spans_block_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: force blocks of 3 coordinates over a length that is not a multiple.
    checks = importlib.import_module("flock.aggregation._checks")
    monkeypatch.setattr(checks, "_SORT_BLOCK", 3)
    updates = _random_updates(3, 6, 11)

    # Execute
    result = median(updates)

    # Assert
    expected = np.median(torch.stack(updates).numpy(), axis=0)
    np.testing.assert_array_equal(result.numpy(), expected)


def test_median_of_bfloat16_updates_is_bfloat16() -> None:
    updates = [update.to(torch.bfloat16) for update in _random_updates(4, 5, 7)]

    result = median(updates)

    assert result.dtype == torch.bfloat16
    expected = median([update.float() for update in updates]).to(torch.bfloat16)
    assert torch.equal(result, expected)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    count=st.integers(1, 9),
    length=st.integers(1, 20),
    data=st.data(),
)
def test_median_is_invariant_to_the_order_of_clients(
    seed: int, count: int, length: int, data: st.DataObject
) -> None:
    updates = _random_updates(seed, count, length)
    order = data.draw(st.permutations(range(count)))

    assert torch.equal(median(updates), median([updates[i] for i in order]))
