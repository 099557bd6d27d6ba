"""Specification of Bulyan with Krum as the selection rule."""

import numpy as np
import pytest
import torch
from flwr.server.strategy.aggregate import aggregate_bulyan, aggregate_krum
from hypothesis import given, settings
from hypothesis import strategies as st

from flock.aggregation import AggregationError, bulyan


def _random_updates(seed: int, count: int, length: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(length, generator=generator) for _ in range(count)]


def _flower_bulyan(updates: list[torch.Tensor], num_malicious: int) -> np.ndarray:
    # Flower pops from the list it is given, so hand it fresh copies.
    results = [([update.numpy().copy()], 1) for update in updates]
    return aggregate_bulyan(results, num_malicious, aggregate_krum, to_keep=0)[0]


def test_bulyan_of_identical_updates_returns_that_update() -> None:
    update = torch.tensor([0.5, -1.25, 3.0])

    result = bulyan([update.clone() for _ in range(7)], 1)

    torch.testing.assert_close(result, update)


def test_bulyan_without_malicious_clients_on_three_updates_is_the_mean() -> None:
    # n = 3, f = 0: all three are selected and beta = 3 values are averaged.
    updates = [torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([6.0])]

    torch.testing.assert_close(bulyan(updates, 0), torch.tensor([3.0]))


def test_bulyan_hand_computed_one_dimensional_case() -> None:
    # Prepare: n = 8, f = 1, so theta = 6 Krum rounds and beta = 4. Krum scores
    # (nearest max(1, n - 3) others) pick, round by round:
    #   14 (score 108), 9 (97), 11 (101), 17 (101), 7 (9, tied with 4: lower
    #   index wins), 18 (196, tied with 4: lower index wins).
    # Selected: 7 9 11 14 17 18, median 12.5; the 4 closest are 9 11 14 17.
    points = [7.0, 18.0, 17.0, 4.0, 11.0, 14.0, 9.0, 100.0]
    updates = [torch.tensor([p]) for p in points]

    # Execute
    result = bulyan(updates, 1)

    # Assert
    torch.testing.assert_close(result, torch.tensor([12.75]))
    np.testing.assert_allclose(result.numpy(), _flower_bulyan(updates, 1))


def test_bulyan_ignores_malicious_updates() -> None:
    # Prepare: 9 honest updates near 1 and 2 attackers far away (n = 11, f = 2).
    honest = [1.0 + 0.01 * noise for noise in _random_updates(0, 9, 50)]
    attackers = [torch.full((50,), 1e6), torch.full((50,), -3e5)]

    # Execute
    result = bulyan(honest + attackers, 2)

    # Assert
    assert torch.all((result - 1.0).abs() < 0.05)


@pytest.mark.parametrize(
    ("count", "num_malicious"), [(3, 0), (5, 0), (7, 1), (8, 1), (11, 2), (12, 2), (16, 3)]
)
@pytest.mark.parametrize("seed", [0, 1])
def test_bulyan_matches_flower_aggregate_bulyan(count: int, num_malicious: int, seed: int) -> None:
    updates = _random_updates(1000 * seed + count, count, 40)

    ours = bulyan(updates, num_malicious)
    theirs = _flower_bulyan(updates, num_malicious)

    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("count", "num_malicious"), [(6, 1), (10, 2), (2, 0)])
def test_bulyan_requires_at_least_four_f_plus_three_updates(count: int, num_malicious: int) -> None:
    updates = _random_updates(0, count, 3)

    with pytest.raises(
        AggregationError,
        match=rf"at least 4 \* num_malicious \+ 3 = {4 * num_malicious + 3} updates, got {count}",
    ):
        bulyan(updates, num_malicious)


def test_bulyan_validates_weights_even_though_it_ignores_them() -> None:
    with pytest.raises(AggregationError, match="weight 0 is -1"):
        bulyan(_random_updates(0, 7, 3), 1, weights=[-1, 1, 1, 1, 1, 1, 1])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), count=st.integers(15, 18), data=st.data())
def test_bulyan_is_invariant_to_the_order_of_clients(
    seed: int, count: int, data: st.DataObject
) -> None:
    # Krum rounds that score a single neighbour (n - f - 2 == 1) always tie
    # mutual nearest neighbours and then favour the lower index, as Flower does.
    # With f = 3 the last round still sums f - 1 = 2 neighbours, so no round ties.
    updates = _random_updates(seed, count, 8)
    order = data.draw(st.permutations(range(count)))

    forward = bulyan(updates, 3)
    shuffled = bulyan([updates[i] for i in order], 3)

    torch.testing.assert_close(forward, shuffled, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("count", "expected"), [(3, 0), (6, 0), (7, 1), (12, 2), (50, 11)])
def test_bulyan_defaults_to_the_most_malicious_updates_it_tolerates(
    count: int, expected: int
) -> None:
    # Bulyan needs n >= 4f + 3: the default ("auto") is f = (n - 3) // 4.
    updates = _random_updates(count, count, 6)

    assert torch.equal(bulyan(updates), bulyan(updates, expected))
    assert torch.equal(bulyan(updates, "auto"), bulyan(updates, expected))
