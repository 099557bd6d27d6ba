"""Specification of the coordinate-wise trimmed mean."""

import math
import random

import numpy as np
import pytest
import torch
from flwr.server.strategy.aggregate import aggregate_trimmed_avg
from hypothesis import given, settings
from hypothesis import strategies as st

from flock.aggregation import AggregationError, trim_count, trimmed_mean

# Every (n, f) with n <= 60 and f < n / 2: beta = f / n must cut exactly f per end.
PAIRS = [(n, f) for n in range(1, 61) for f in range(n) if 2 * f < n]


def _random_updates(seed: int, count: int, length: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(length, generator=generator) for _ in range(count)]


def test_trimmed_mean_of_identical_updates_returns_that_update() -> None:
    update = torch.tensor([0.5, -1.25, 3.0])

    result = trimmed_mean([update.clone() for _ in range(10)], 0.2)

    torch.testing.assert_close(result, update)


def test_trimmed_mean_cuts_beta_n_values_from_each_end() -> None:
    # Prepare: n = 5, beta = 0.2 cuts 1 value per end per coordinate.
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


def test_int_beta_n_loses_a_trim_for_fifteen_pairs_that_trim_count_keeps() -> None:
    # The cross-check's finding, as a fact about floats: (1 / 49) * 49 < 1.
    lossy = [(n, f) for n, f in PAIRS if int((f / n) * n) != f]

    assert len(lossy) == 15 and (49, 1) in lossy
    assert all(trim_count(f / n, n) == f for n, f in lossy)


def test_beta_f_over_n_trims_exactly_f_for_every_pair_up_to_sixty() -> None:
    wrong = []
    for count, malicious in PAIRS:
        # Prepare: the squares 0, 1, 4 .. (n-1)^2 shuffled in coordinate 0 (skewed, so one
        # trim more or less moves the mean); the f lowest and f highest must go.
        order = random.Random(count).sample(range(count), count)
        values = [float(v * v) for v in order]
        kept = sorted(values)[malicious : count - malicious]

        # Execute
        result = float(trimmed_mean([torch.tensor([v]) for v in values], malicious / count)[0])

        expected = sum(kept) / len(kept)
        close = abs(result - expected) <= 1e-6 * expected
        if trim_count(malicious / count, count) != malicious or not close:
            wrong.append((count, malicious))

    # Assert: all 930 pairs, the 15 that int(beta * n) gets wrong among them
    assert len(PAIRS) == 930
    assert wrong == []


@pytest.mark.parametrize(
    ("beta", "count", "cut"),
    [(0.1, 9, 0), (0.1, 10, 1), (0.1, 19, 1), (0.25, 8, 2), (0.3, 10, 3), (0.49, 100, 49)],
)
def test_trim_count_is_the_floor_of_beta_n_otherwise(beta: float, count: int, cut: int) -> None:
    assert trim_count(beta, count) == cut == math.floor(beta * count)


def test_trim_cuts_that_many_values_from_each_end() -> None:
    # Prepare: n = 7, trim = 2 drops -50, 1 and 5, 100, keeping 2, 3, 4.
    updates = [torch.tensor([v]) for v in (100.0, 5.0, 1.0, 4.0, -50.0, 3.0, 2.0)]

    # Execute
    result = trimmed_mean(updates, trim=2)

    # Assert
    assert float(result[0]) == (2.0 + 3.0 + 4.0) / 3


def test_trim_and_beta_agree_on_the_count() -> None:
    updates = _random_updates(3, 49, 16)

    assert torch.equal(trimmed_mean(updates, 1 / 49), trimmed_mean(updates, trim=1))


def test_trimmed_mean_refuses_beta_and_trim_together() -> None:
    with pytest.raises(AggregationError, match="give beta or trim, not both"):
        trimmed_mean(_random_updates(2, 5, 3), 0.2, trim=1)


@pytest.mark.parametrize("trim", [-1, 3, 10, 1.0, True, "1"])
def test_trimmed_mean_refuses_a_trim_that_is_not_below_half(trim: object) -> None:
    with pytest.raises(AggregationError, match=r"trim must be an integer .* 2 \* trim < 6"):
        trimmed_mean(_random_updates(2, 6, 3), trim=trim)  # type: ignore[arg-type]


def test_trimmed_mean_without_beta_or_trim_cuts_a_tenth() -> None:
    updates = _random_updates(4, 20, 8)

    assert torch.equal(trimmed_mean(updates), trimmed_mean(updates, trim=2))


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
