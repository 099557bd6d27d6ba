"""Specification of the coordinate-wise trimmed mean."""

import math

import numpy as np
import pytest
import torch
from flwr.server.strategy.aggregate import aggregate_trimmed_avg
from hypothesis import given, settings
from hypothesis import strategies as st

from flock.aggregation import AggregationError, trimmed_mean


def _random_updates(seed: int, count: int, length: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(length, generator=generator) for _ in range(count)]


def test_trimmed_mean_of_identical_updates_returns_that_update() -> None:
    update = torch.tensor([0.5, -1.25, 3.0])

    result = trimmed_mean([update.clone() for _ in range(10)], 0.2)

    torch.testing.assert_close(result, update)


def test_trimmed_mean_cuts_int_beta_n_values_from_each_end() -> None:
    # Prepare: n = 5, beta = 0.2 cuts int(1.0) = 1 value per end per coordinate.
    updates = [torch.tensor([v, -v]) for v in (1.0, 2.0, 3.0, 4.0, 100.0)]

    # Execute
    result = trimmed_mean(updates, 0.2)

    # Assert: mean(2, 3, 4) = 3 and mean(-4, -3, -2) = -3.
    torch.testing.assert_close(result, torch.tensor([3.0, -3.0]))


def test_trimmed_mean_cuts_nothing_when_beta_n_is_below_one() -> None:
    # n = 9, beta = 0.1: int(0.9) = 0, so it is the plain mean.
    updates = _random_updates(0, 9, 12)

    result = trimmed_mean(updates, 0.1)

    torch.testing.assert_close(result, torch.stack(updates).mean(dim=0))


def test_trimmed_mean_with_zero_beta_is_the_plain_mean() -> None:
    updates = _random_updates(1, 6, 12)

    torch.testing.assert_close(trimmed_mean(updates, 0.0), torch.stack(updates).mean(dim=0))


def test_trimmed_mean_ignores_outliers_within_the_cut() -> None:
    honest = [torch.full((4,), float(v)) for v in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)]
    attackers = [torch.full((4,), 1e30), torch.full((4,), -1e30)]

    result = trimmed_mean(honest + attackers, 0.25)

    torch.testing.assert_close(result, torch.full((4,), 3.5))


@pytest.mark.parametrize("beta", [0.0, 0.1, 0.2, 0.3, 0.45])
@pytest.mark.parametrize(("count", "length"), [(1, 3), (4, 10), (10, 500), (25, 64)])
def test_trimmed_mean_matches_flower_aggregate_trimmed_avg(
    beta: float, count: int, length: int
) -> None:
    updates = _random_updates(count, count, length)

    ours = trimmed_mean(updates, beta)
    theirs = aggregate_trimmed_avg([([update.numpy().copy()], 1) for update in updates], beta)[0]

    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("beta", [-0.1, 0.5, 0.7, math.nan, True, "0.1"])
def test_trimmed_mean_rejects_beta_outside_zero_to_one_half(beta: object) -> None:
    with pytest.raises(AggregationError, match=r"beta must be a proportion in \[0, 0.5\)"):
        trimmed_mean(_random_updates(2, 4, 3), beta)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    count=st.integers(1, 12),
    beta=st.floats(0.0, 0.49),
    data=st.data(),
)
def test_trimmed_mean_is_invariant_to_the_order_of_clients(
    seed: int, count: int, beta: float, data: st.DataObject
) -> None:
    updates = _random_updates(seed, count, 7)
    order = data.draw(st.permutations(range(count)))

    # Each coordinate is sorted before averaging, so the result is bit-identical.
    assert torch.equal(trimmed_mean(updates, beta), trimmed_mean([updates[i] for i in order], beta))
