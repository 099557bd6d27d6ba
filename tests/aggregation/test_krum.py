"""Specification of Krum and Multi-Krum."""

import importlib

import numpy as np
import pytest
import torch
from flwr.server.strategy.aggregate import aggregate_krum
from hypothesis import given, settings
from hypothesis import strategies as st

from flock.aggregation import AggregationError, fedavg, krum, multikrum
from flock.aggregation._checks import check_num_malicious
from flock.aggregation.krum import krum_scores, pairwise_squared_distances

# Four honest 2-D updates around [1, 1] and one attacker. With f = 1 each score
# sums the n - f - 2 = 2 smallest squared distances to the others:
#   [0, 0], [2, 0], [0, 2]: 2 + 4 = 6;  [1, 1]: 2 + 2 = 4;  [40, 40]: 3042 + 3044.
CLOUD = [[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [1.0, 1.0], [40.0, 40.0]]


def _tensors(points: list[list[float]]) -> list[torch.Tensor]:
    return [torch.tensor(point, dtype=torch.float32) for point in points]


def _random_updates(seed: int, count: int, length: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(length, generator=generator) for _ in range(count)]


def _flower_results(updates: list[torch.Tensor], counts: list[int]) -> list:
    return [([update.numpy().copy()], count) for update, count in zip(updates, counts, strict=True)]


def test_pairwise_squared_distances_match_a_hand_computed_case() -> None:
    distances = pairwise_squared_distances(_tensors(CLOUD))

    expected = torch.tensor(
        [[((a - c) ** 2 + (b - d) ** 2) for c, d in CLOUD] for a, b in CLOUD], dtype=torch.float64
    )
    # The Gram matrix is formed in float32, so agreement is to float32 rounding.
    torch.testing.assert_close(distances, expected, rtol=1e-5, atol=1e-4)
    assert torch.equal(distances, distances.T)
    assert torch.equal(distances.diagonal(), torch.zeros(5, dtype=torch.float64))


def test_pairwise_squared_distances_survive_a_large_common_offset() -> None:
    # Prepare: small differences on top of a shared component 1e4 times larger.
    noise = _random_updates(0, 6, 1000)
    updates = [1e4 + 1e-2 * n for n in noise]

    # Execute
    distances = pairwise_squared_distances(updates)

    # Assert: relative error stays near float32 rounding of the inputs.
    stacked = torch.stack(updates).double()
    exact = torch.cdist(stacked, stacked) ** 2
    torch.testing.assert_close(distances, exact, rtol=1e-4, atol=1e-6)


def test_pairwise_squared_distances_span_block_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    krum_module = importlib.import_module("flock.aggregation.krum")
    monkeypatch.setattr(krum_module, "_GRAM_BLOCK", 4)
    updates = _random_updates(1, 5, 11)

    distances = pairwise_squared_distances(updates)

    stacked = torch.stack(updates).double()
    torch.testing.assert_close(distances, torch.cdist(stacked, stacked) ** 2, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("count", [1, 2, 15, 16, 17, 50])
@pytest.mark.parametrize(("length", "block"), [(1, 4), (37, 4), (37, 37), (37, 64), (1000, 96)])
def test_blocked_gram_distances_equal_the_direct_computation(
    count: int, length: int, block: int
) -> None:
    # Prepare: lengths that blocks and thread slices do not divide, and counts
    # on both sides of the row-panel size.
    updates = _random_updates(count + length, count, length)

    # Execute
    distances = pairwise_squared_distances(updates, block=block)

    # Assert
    stacked = torch.stack(updates).double()
    torch.testing.assert_close(distances, torch.cdist(stacked, stacked) ** 2, rtol=1e-5, atol=1e-4)
    assert torch.equal(distances, distances.T)


@pytest.mark.parametrize("threads", [1, 3])
def test_pairwise_squared_distances_do_not_depend_on_the_thread_count(threads: int) -> None:
    # Prepare: the block is split into one slice per torch thread.
    updates = _random_updates(2, 20, 1001)
    expected = pairwise_squared_distances(updates, block=128)
    before = torch.get_num_threads()

    # Execute
    torch.set_num_threads(threads)
    try:
        distances = pairwise_squared_distances(updates, block=128)
    finally:
        torch.set_num_threads(before)

    # Assert: equal up to float32 rounding of the differently summed slices.
    torch.testing.assert_close(distances, expected, rtol=1e-5, atol=1e-4)


def test_pairwise_squared_distances_of_a_single_update_are_zero() -> None:
    distances = pairwise_squared_distances([torch.randn(300)], block=64)

    assert torch.equal(distances, torch.zeros((1, 1), dtype=torch.float64))


def test_pairwise_squared_distances_fall_back_to_float64_when_float32_overflows() -> None:
    # Squared norms of about 1e40 overflow float32 but the inputs are finite.
    updates = [torch.tensor([1e20, 0.0]), torch.tensor([0.0, 1e20]), torch.tensor([0.0, 0.0])]

    distances = pairwise_squared_distances(updates)

    expected = torch.tensor(
        [[0, 2e40, 1e40], [2e40, 0, 1e40], [1e40, 1e40, 0]], dtype=torch.float64
    )
    torch.testing.assert_close(distances, expected, rtol=1e-6, atol=0)


def test_krum_scores_sum_the_nearest_other_distances() -> None:
    scores = krum_scores(pairwise_squared_distances(_tensors(CLOUD)), 1)

    expected = torch.tensor([6.0, 6.0, 6.0, 4.0, 6086.0], dtype=torch.float64)
    torch.testing.assert_close(scores, expected, rtol=1e-5, atol=1e-4)


def test_krum_ignores_single_outlier() -> None:
    result = krum(_tensors(CLOUD), 1)

    assert torch.equal(result, torch.tensor([1.0, 1.0]))


def test_krum_breaks_score_ties_by_lowest_index() -> None:
    # Prepare: 1-D points 3, 0, 1, 10 with f = 1 score their nearest neighbour:
    # 4, 1, 1, 49. Points 0 and 1 tie; Flower's argmin returns the first.
    # (n = 4 keeps the centring exact, so the tie is exact too.)
    points = [[3.0], [0.0], [1.0], [10.0]]

    # Execute
    ours = krum(_tensors(points), 1)
    theirs = aggregate_krum(_flower_results(_tensors(points), [1] * 4), 1, 0)[0]

    # Assert
    assert torch.equal(ours, torch.tensor([0.0]))
    np.testing.assert_array_equal(ours.numpy(), theirs)


def test_krum_of_identical_updates_returns_that_update() -> None:
    update = torch.tensor([0.5, -1.25, 3.0])

    assert torch.equal(krum([update.clone() for _ in range(5)], 1), update)


def test_krum_returns_a_copy_not_the_input_tensor() -> None:
    updates = _tensors(CLOUD)

    result = krum(updates, 1)
    result.zero_()

    assert torch.equal(updates[3], torch.tensor([1.0, 1.0]))


@pytest.mark.parametrize(
    ("count", "num_malicious"), [(1, 0), (2, 0), (5, 1), (9, 2), (12, 3), (30, 5)]
)
def test_krum_selects_the_same_update_as_flower(count: int, num_malicious: int) -> None:
    updates = _random_updates(count, count, 64)

    ours = krum(updates, num_malicious)
    theirs = aggregate_krum(_flower_results(updates, [1] * count), num_malicious, 0)[0]

    np.testing.assert_array_equal(ours.numpy(), theirs)


def test_multikrum_averages_the_best_updates_by_weight() -> None:
    # Keeping 4 drops the attacker: (1*[0,0] + 2*[2,0] + 3*[0,2] + 4*[1,1]) / 10.
    result = multikrum(_tensors(CLOUD), 1, to_keep=4, weights=[1, 2, 3, 4, 5])

    torch.testing.assert_close(result, torch.tensor([0.8, 1.0]))


@pytest.mark.parametrize(("count", "num_malicious"), [(3, 0), (6, 1), (10, 2), (16, 3), (25, 4)])
def test_multikrum_matches_flower_for_every_to_keep(count: int, num_malicious: int) -> None:
    updates = _random_updates(100 + count, count, 32)
    counts = [int(c) for c in np.random.default_rng(count).integers(1, 100, count)]

    for to_keep in range(1, count + 1):
        ours = multikrum(updates, num_malicious, to_keep=to_keep, weights=counts)
        theirs = aggregate_krum(_flower_results(updates, counts), num_malicious, to_keep)[0]
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-6)


def test_multikrum_keeping_everyone_is_fedavg() -> None:
    updates = _random_updates(3, 6, 20)
    weights = [3, 1, 4, 1, 5, 9]

    result = multikrum(updates, 1, to_keep=6, weights=weights)

    torch.testing.assert_close(result, fedavg(updates, weights))


def test_multikrum_keeping_one_is_krum() -> None:
    updates = _random_updates(4, 7, 20)

    torch.testing.assert_close(multikrum(updates, 2, to_keep=1), krum(updates, 2))


def test_multikrum_rejects_a_selection_with_zero_total_weight() -> None:
    with pytest.raises(AggregationError, match="zero weight"):
        multikrum(_tensors(CLOUD), 1, to_keep=1, weights=[1, 1, 1, 0, 1])


@pytest.mark.parametrize("to_keep", [0, 6, -1, 1.5, True, "2"])
def test_multikrum_rejects_to_keep_outside_one_to_n(to_keep: object) -> None:
    with pytest.raises(AggregationError, match="to_keep must be an integer between 1 and 5"):
        multikrum(_tensors(CLOUD), 1, to_keep=to_keep)  # type: ignore[arg-type]


@pytest.mark.parametrize("num_malicious", [-1, 1.5, True, "1"])
def test_krum_rejects_an_invalid_num_malicious(num_malicious: object) -> None:
    with pytest.raises(AggregationError, match="num_malicious must be"):
        krum(_tensors(CLOUD), num_malicious)  # type: ignore[arg-type]


def test_krum_validates_weights_even_though_it_ignores_them() -> None:
    with pytest.raises(AggregationError, match="got 2 weights for 5 updates"):
        krum(_tensors(CLOUD), 1, weights=[1, 2])


# With n - f - 2 == 1 each score is a nearest-neighbour distance, so mutual
# nearest neighbours always tie and the lower index wins (as in Flower): the
# order only stops mattering when at least two neighbours are summed.


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), count=st.integers(4, 10), data=st.data())
def test_krum_is_invariant_to_the_order_of_clients(
    seed: int, count: int, data: st.DataObject
) -> None:
    updates = _random_updates(seed, count, 16)
    num_malicious = data.draw(st.integers(0, count - 4))
    order = data.draw(st.permutations(range(count)))

    forward = krum(updates, num_malicious)
    shuffled = krum([updates[i] for i in order], num_malicious)

    assert torch.equal(forward, shuffled)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), count=st.integers(5, 10), data=st.data())
def test_multikrum_is_invariant_to_the_order_of_clients(
    seed: int, count: int, data: st.DataObject
) -> None:
    updates = _random_updates(seed, count, 16)
    weights = data.draw(st.lists(st.integers(1, 50), min_size=count, max_size=count))
    to_keep = data.draw(st.integers(1, count))
    order = data.draw(st.permutations(range(count)))

    forward = multikrum(updates, 1, to_keep=to_keep, weights=weights)
    shuffled = multikrum(
        [updates[i] for i in order], 1, to_keep=to_keep, weights=[weights[i] for i in order]
    )

    torch.testing.assert_close(forward, shuffled, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("count", "expected"), [(1, 0), (3, 0), (4, 0), (5, 1), (12, 4), (50, 23)])
def test_auto_num_malicious_is_the_most_krum_tolerates(count: int, expected: int) -> None:
    # Krum needs n >= 2f + 3: "auto" is f = (n - 3) // 2, never below 0.
    assert check_num_malicious("auto", count) == expected
    if count >= 3:  # the largest such f: one more would break n >= 2f + 3
        assert 2 * expected + 3 <= count < 2 * (expected + 1) + 3


def test_krum_defaults_to_auto_num_malicious() -> None:
    # Prepare: 5 updates, so auto is f = 1, as in CLOUD's hand-computed scores.
    updates = _tensors(CLOUD)

    # Execute / Assert: the default, "auto" and f = 1 pick [1, 1] (score 4).
    assert torch.equal(krum(updates), torch.tensor([1.0, 1.0]))
    assert torch.equal(krum(updates, "auto"), krum(updates, 1))


def test_krum_scores_sum_the_n_minus_f_minus_two_nearest_others() -> None:
    # Prepare: n = 5, f = 1, so each score sums the 2 smallest squared distances (CLOUD).
    distances = pairwise_squared_distances(_tensors(CLOUD))

    # Execute
    scores = krum_scores(distances, 1)

    # Assert: [0, 0]: 2 + 4; [2, 0]: 2 + 4; [0, 2]: 2 + 4; [1, 1]: 2 + 2; attacker: 3042 + 3044.
    torch.testing.assert_close(
        scores, torch.tensor([6.0, 6.0, 6.0, 4.0, 6086.0], dtype=torch.float64), atol=1e-3, rtol=0
    )


def test_multikrum_keeps_n_minus_f_by_default() -> None:
    # Prepare: n = 5, auto f = 1: keeps 4, the four honest points, so the attacker is out.
    updates = _tensors(CLOUD)

    # Execute
    result = multikrum(updates, weights=[1, 2, 3, 4, 5])

    # Assert: (1*[0,0] + 2*[2,0] + 3*[0,2] + 4*[1,1]) / 10, as with to_keep=4 by hand.
    torch.testing.assert_close(result, torch.tensor([0.8, 1.0]))
    torch.testing.assert_close(result, multikrum(updates, 1, to_keep=4, weights=[1, 2, 3, 4, 5]))


def test_multikrum_with_an_explicit_f_keeps_n_minus_that_f() -> None:
    updates = _random_updates(9, 10, 16)

    assert torch.equal(multikrum(updates, 3), multikrum(updates, 3, to_keep=7))


@pytest.mark.parametrize("num_malicious", ["all", "3", None, 2.0])
def test_num_malicious_must_be_an_integer_or_auto(num_malicious: object) -> None:
    with pytest.raises(AggregationError, match="num_malicious must be a non-negative integer or"):
        krum(_tensors(CLOUD), num_malicious)  # type: ignore[arg-type]
