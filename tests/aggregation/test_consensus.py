"""Specification of flock's bit-reproducible consensus rule."""

import numpy as np
import pytest
import torch

from flock.aggregation import AggregationError, consensus


def _random_updates(seed: int, count: int, length: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(length, generator=generator) for _ in range(count)]


def _numpy_reference(
    updates: list[torch.Tensor], counts: list[int], scores: list[int]
) -> np.ndarray:
    """The rule as specified, in NumPy: float64, input order, one rounding at the end."""
    products = [s * n for s, n in zip(scores, counts, strict=True)]
    total = sum(products)
    accumulator = np.zeros(updates[0].shape[0], dtype=np.float64)
    for update, product in zip(updates, products, strict=True):
        if product:
            accumulator += (product / total) * update.numpy().astype(np.float64)
    return accumulator.astype(np.float32)


def _bits(values: torch.Tensor | np.ndarray) -> np.ndarray:
    array = values.numpy() if isinstance(values, torch.Tensor) else values
    return array.view(np.uint32)


def test_consensus_weights_by_score_times_sample_count() -> None:
    # Prepare: weights 2*1 : 1*6 = 1/4 : 3/4.
    updates = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])]

    # Execute
    result = consensus(updates, [1, 6], scores=[2, 1])

    # Assert
    assert torch.equal(result, torch.tensor([2.5, 3.5]))


def test_consensus_excludes_updates_with_zero_score() -> None:
    updates = [torch.tensor([1.0, -2.0]), torch.tensor([1e6, 1e6]), torch.tensor([3.0, 4.0])]

    result = consensus(updates, [5, 5, 5], scores=[1, 0, 1])

    assert torch.equal(result, torch.tensor([2.0, 1.0]))


def test_consensus_of_a_single_accepted_update_returns_it_bit_for_bit() -> None:
    updates = _random_updates(0, 3, 100)

    result = consensus(updates, [10, 20, 30], scores=[0, 7, 0])

    assert np.array_equal(_bits(result), _bits(updates[1]))


def test_consensus_is_bit_identical_across_calls() -> None:
    updates = _random_updates(1, 20, 5000)
    counts = list(range(100, 120))
    scores = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4]

    first = consensus(updates, counts, scores=scores)
    second = consensus([u.clone() for u in updates], list(counts), scores=list(scores))

    assert np.array_equal(_bits(first), _bits(second))


def test_consensus_equals_the_float64_numpy_reference_bit_for_bit() -> None:
    # Prepare
    updates = _random_updates(2, 15, 4097)
    counts = [int(c) for c in np.random.default_rng(2).integers(1, 10_000, 15)]
    scores = [int(s) for s in np.random.default_rng(3).integers(0, 4, 15)]

    # Execute
    result = consensus(updates, counts, scores=scores)

    # Assert
    assert result.dtype == torch.float32
    assert np.array_equal(_bits(result), _bits(_numpy_reference(updates, counts, scores)))


def test_consensus_does_not_depend_on_the_thread_count() -> None:
    updates = _random_updates(4, 8, 50_000)
    counts, scores = [7] * 8, [1, 2, 3, 4, 5, 6, 7, 8]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = consensus(updates, counts, scores=scores)
        torch.set_num_threads(max(2, threads))
        multi = consensus(updates, counts, scores=scores)
    finally:
        torch.set_num_threads(threads)

    assert np.array_equal(_bits(single), _bits(multi))


def test_consensus_accepts_large_integer_counts_exactly() -> None:
    updates = [torch.tensor([1.0]), torch.tensor([2.0])]

    result = consensus(updates, [10**15, 10**15], scores=[1, 1])

    assert torch.equal(result, torch.tensor([1.5]))


def test_consensus_does_not_modify_float64_inputs() -> None:
    updates = [
        torch.tensor([1.0, 2.0], dtype=torch.float64),
        torch.tensor([3.0, 4.0], dtype=torch.float64),
    ]

    result = consensus(updates, [1, 1], scores=[1, 1])

    assert result.dtype == torch.float64
    assert torch.equal(updates[0], torch.tensor([1.0, 2.0], dtype=torch.float64))


def test_consensus_rejects_a_zero_total_weight() -> None:
    with pytest.raises(AggregationError, match="total weight .* is zero"):
        consensus(_random_updates(0, 3, 2), [5, 0, 5], scores=[0, 3, 0])


@pytest.mark.parametrize(
    ("counts", "scores", "message"),
    [
        ([1, 2], [1, 1, 1], "got 2 sample_counts for 3 updates"),
        ([1, 2, 3], [1, 1], "got 2 scores for 3 updates"),
        ([1, -2, 3], [1, 1, 1], r"sample_counts\[1\] is -2; it must be non-negative"),
        ([1, 2, 3], [1, 1.5, 1], r"scores\[1\] is 1.5, not an integer"),
        ([1, 2, 3], [True, 1, 1], r"scores\[0\] is True, not an integer"),
        ([1.0, 2, 3], [1, 1, 1], r"sample_counts\[0\] is 1.0, not an integer"),
    ],
)
def test_consensus_rejects_counts_and_scores_that_are_not_non_negative_ints(
    counts: list, scores: list, message: str
) -> None:
    with pytest.raises(AggregationError, match=message):
        consensus(_random_updates(0, 3, 2), counts, scores=scores)


def test_consensus_accepts_numpy_integers() -> None:
    updates = [torch.tensor([1.0]), torch.tensor([3.0])]

    result = consensus(updates, np.array([1, 1]), scores=[np.int64(1), np.int32(1)])

    assert torch.equal(result, torch.tensor([2.0]))


def test_consensus_rejects_nan_even_in_a_rejected_update() -> None:
    updates = [torch.tensor([1.0]), torch.tensor([float("nan")])]

    with pytest.raises(AggregationError, match="update 1 contains NaN"):
        consensus(updates, [1, 1], scores=[1, 0])


def test_rejected_proposals_keep_their_share_of_the_step_at_the_reference() -> None:
    # Prepare: base (1, 1); accepted updates weighted 1/4 : 3/4 (average (2.5, 3.5)); 2 of the
    # round's 4 proposals rejected
    updates = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])]
    base = torch.tensor([1.0, 1.0])

    # Execute
    result = consensus(updates, [1, 6], scores=[2, 1], reference=base, rejected=2)

    # Assert: half of the way from the base to the average
    assert torch.equal(result, torch.tensor([1.75, 2.25]))


def test_a_zero_score_update_counts_as_rejected_not_twice() -> None:
    # the zero-score update is in neither share: 1 accepted, 1 rejected -> half way
    updates = [torch.tensor([4.0, 4.0]), torch.tensor([1e6, 1e6])]

    result = consensus(updates, [5, 5], scores=[1, 0], reference=torch.zeros(2), rejected=1)

    assert torch.equal(result, torch.tensor([2.0, 2.0]))


def test_no_rejected_proposal_is_the_plain_rule_bit_for_bit() -> None:
    updates = _random_updates(3, 5, 1000)
    counts, scores = [3, 1, 4, 1, 5], [9000, 8000, 7000, 9500, 6000]
    base = _random_updates(4, 1, 1000)[0]

    damped = consensus(updates, counts, scores=scores, reference=base, rejected=0)

    assert np.array_equal(_bits(damped), _bits(consensus(updates, counts, scores=scores)))


def test_the_damped_rule_equals_its_float64_numpy_reference_bit_for_bit() -> None:
    # (a * s_i n_i) / (S (a + r)) per update and (r S) / (S (a + r)) for the base, float64,
    # input order, one rounding at the end
    updates = _random_updates(5, 4, 500)
    counts, scores, rejected = [7, 2, 9, 4], [8123, 0, 9001, 7777], 3
    base = _random_updates(6, 1, 500)[0]
    products = [s * n for s, n in zip(scores, counts, strict=True)]
    total, accepted = sum(products), sum(1 for p in products if p)
    denominator = total * (accepted + rejected)
    expected = np.zeros(500, dtype=np.float64)
    for update, product in zip(updates, products, strict=True):
        if product:
            expected += (product * accepted / denominator) * update.numpy().astype(np.float64)
    expected += (rejected * total / denominator) * base.numpy().astype(np.float64)

    result = consensus(updates, counts, scores=scores, reference=base, rejected=rejected)

    assert np.array_equal(_bits(result), _bits(expected.astype(np.float32)))


@pytest.mark.parametrize("rejected", [-1, 1.5, True])
def test_a_rejected_count_that_is_not_a_non_negative_int_is_refused(rejected: object) -> None:
    with pytest.raises(AggregationError, match="rejected"):
        consensus([torch.ones(2)], [1], scores=[1], reference=torch.zeros(2), rejected=rejected)  # type: ignore[arg-type]


def test_rejected_proposals_without_a_reference_are_refused() -> None:
    with pytest.raises(AggregationError, match="reference"):
        consensus([torch.ones(2)], [1], scores=[1], rejected=1)
