"""Specification of sample-weighted federated averaging."""

import numpy as np
import pytest
import torch
from flwr.server.strategy.aggregate import aggregate
from hypothesis import given, settings
from hypothesis import strategies as st

from flock.aggregation import AggregationError, fedavg


def _random_updates(seed: int, count: int, length: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(length, generator=generator) for _ in range(count)]


def _flower_results(updates: list[torch.Tensor], counts: list[int]) -> list:
    return [([update.numpy().copy()], count) for update, count in zip(updates, counts, strict=True)]


def test_fedavg_of_identical_updates_returns_that_update() -> None:
    update = torch.tensor([0.5, -1.25, 3.0])

    result = fedavg([update.clone() for _ in range(4)], [1, 7, 2, 5])

    torch.testing.assert_close(result, update)


def test_fedavg_weights_updates_by_sample_count() -> None:
    # Prepare: (1 * [1, 2] + 3 * [3, 6]) / 4 = [2.5, 5.0]
    updates = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 6.0])]

    # Execute
    result = fedavg(updates, [1, 3])

    # Assert
    torch.testing.assert_close(result, torch.tensor([2.5, 5.0]))


def test_fedavg_without_weights_is_the_plain_mean() -> None:
    updates = [torch.tensor([1.0, 0.0]), torch.tensor([2.0, 4.0]), torch.tensor([6.0, 2.0])]

    result = fedavg(updates)

    torch.testing.assert_close(result, torch.tensor([3.0, 2.0]))


def test_fedavg_depends_only_on_relative_weights() -> None:
    updates = _random_updates(1, 3, 10)

    torch.testing.assert_close(fedavg(updates, [1, 2, 3]), fedavg(updates, [100, 200, 300]))


def test_fedavg_ignores_updates_with_zero_weight() -> None:
    updates = [torch.tensor([1.0, 2.0]), torch.tensor([1e6, -1e6]), torch.tensor([3.0, 4.0])]

    result = fedavg(updates, [1, 0, 1])

    torch.testing.assert_close(result, torch.tensor([2.0, 3.0]))


def test_fedavg_rejects_nan_even_in_an_update_with_zero_weight() -> None:
    updates = [torch.tensor([1.0, 2.0]), torch.tensor([float("nan"), 0.0])]

    with pytest.raises(AggregationError, match="update 1 contains NaN"):
        fedavg(updates, [1, 0])


def test_fedavg_returns_a_finite_mean_whose_elements_sum_past_float32() -> None:
    # Prepare: every element is finite but their total overflows float32, so
    # the fast finiteness test on the sum is inconclusive.
    big = torch.full((4,), 3e38)

    # Execute
    result = fedavg([big, big.clone()], [1, 3])

    # Assert
    torch.testing.assert_close(result, big)


@pytest.mark.parametrize(("count", "length"), [(1, 5), (2, 17), (10, 1000), (33, 257)])
def test_fedavg_matches_flower_aggregate(count: int, length: int) -> None:
    # Prepare
    updates = _random_updates(count, count, length)
    counts = [int(c) for c in np.random.default_rng(count).integers(1, 500, count)]

    # Execute
    ours = fedavg(updates, counts)
    theirs = aggregate(_flower_results(updates, counts))[0]

    # Assert
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_fedavg_keeps_the_input_dtype(dtype: torch.dtype) -> None:
    updates = [update.to(dtype) for update in _random_updates(2, 4, 9)]

    result = fedavg(updates, [1, 2, 3, 4])

    assert result.dtype == dtype
    expected = fedavg([update.double() for update in updates], [1, 2, 3, 4]).to(dtype)
    torch.testing.assert_close(result, expected)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    count=st.integers(1, 8),
    length=st.integers(1, 20),
    data=st.data(),
)
def test_fedavg_is_invariant_to_the_order_of_clients(
    seed: int, count: int, length: int, data: st.DataObject
) -> None:
    # Prepare
    updates = _random_updates(seed, count, length)
    counts = data.draw(st.lists(st.integers(1, 1000), min_size=count, max_size=count))
    order = data.draw(st.permutations(range(count)))

    # Execute
    forward = fedavg(updates, counts)
    shuffled = fedavg([updates[i] for i in order], [counts[i] for i in order])

    # Assert
    torch.testing.assert_close(forward, shuffled, rtol=1e-5, atol=1e-6)
