"""Specification of norm clipping: exact norms, clip_to_norm, and the consensus aggregate's clip."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from flock.aggregation import AggregationError, clip_to_norm, consensus, exact_norms
from flock.aggregation.clipping import clip_factors, median_norm


def _random_updates(seed: int, count: int, length: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(length, generator=generator) for _ in range(count)]


def _bits(values: torch.Tensor) -> bytes:
    return values.numpy().tobytes()


def test_exact_norms_are_the_correctly_rounded_norms() -> None:
    # float32 values square exactly in float64, so the norm is sqrt of an exact sum, rounded.
    updates = _random_updates(0, 4, 2_000)

    norms = exact_norms(updates)

    for update, norm in zip(updates, norms, strict=True):
        exact = sum(Fraction(float(x)) ** 2 for x in update.tolist())
        assert norm == math.sqrt(float(exact))


def test_exact_norms_measure_from_the_reference() -> None:
    base = torch.tensor([10.0, 10.0])

    assert exact_norms([torch.tensor([13.0, 14.0]), base.clone()], base) == [5.0, 0.0]


def test_exact_norms_do_not_depend_on_the_thread_count() -> None:
    updates = _random_updates(1, 3, 200_000)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = exact_norms(updates, updates[0] * 0.5)
        torch.set_num_threads(2)
        two = exact_norms(updates, updates[0] * 0.5)
    finally:
        torch.set_num_threads(threads)

    assert one == two


def test_median_norm_ignores_updates_that_did_not_move() -> None:
    assert median_norm([0.0, 1.0, 4.0, 0.0, 2.0]) == 2.0
    assert median_norm([3.0, 1.0, 4.0, 2.0]) == 2.5
    assert median_norm([0.0, 0.0]) is None


def test_clip_factors_scale_only_norms_above_the_bound() -> None:
    assert clip_factors([1.0, 2.0, 5.0, 0.0], 2.0) == [1.0, 1.0, 0.4, 1.0]


def test_clip_to_norm_cuts_the_difference_from_the_reference_to_the_bound() -> None:
    # Prepare: around (10, 10): (13, 14) is (3, 4) away (norm 5), (10, 11) is 1 away.
    base = torch.tensor([10.0, 10.0])
    updates = [torch.tensor([13.0, 14.0]), torch.tensor([10.0, 11.0])]

    # Execute
    clipped = clip_to_norm(updates, 2.0, reference=base)

    # Assert: (3, 4) * 2/5 = (1.2, 1.6); the near one unchanged, bit for bit.
    torch.testing.assert_close(clipped[0], torch.tensor([11.2, 11.6]))
    assert torch.equal(clipped[1], updates[1])


@pytest.mark.parametrize("bound", [0.0, -1.0, math.inf, math.nan, True])
def test_clip_to_norm_refuses_a_bound_that_is_not_positive_and_finite(bound: float) -> None:
    with pytest.raises(AggregationError, match="max_norm must be a finite number above 0"):
        clip_to_norm([torch.ones(2)], bound)


def test_consensus_clips_each_accepted_update_to_the_median_norm() -> None:
    # Prepare: around the base 0: norms 5, 1, 2; the median is 2, so (3, 4) becomes (1.2, 1.6).
    updates = [torch.tensor([3.0, 4.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.0, 2.0])]

    # Execute: equal weights (score 1, 1 sample each).
    result = consensus(updates, [1, 1, 1], scores=[1, 1, 1], clip_ratio=1.0)

    # Assert: ((1.2 + 0 + 0) / 3, (1.6 + 1 + 2) / 3).
    torch.testing.assert_close(result, torch.tensor([0.4, 4.6 / 3]))


def test_consensus_clip_ratio_scales_the_bound_around_the_base_model() -> None:
    # Prepare: full models around the base (1, 1): differences (3, 4), (0, 1), (0, 2).
    base = torch.tensor([1.0, 1.0])
    updates = [base + torch.tensor([3.0, 4.0]), base + torch.tensor([0.0, 1.0])]
    updates.append(base + torch.tensor([0.0, 2.0]))

    # Execute: ratio 2 -> bound 4: (3, 4) * 4/5 = (2.4, 3.2); weights 1 : 1 : 2.
    result = consensus(updates, [1, 1, 2], scores=[5, 5, 5], clip_ratio=2.0, reference=base)

    # Assert: base + (2.4 + 0 + 0, 3.2 + 1 + 2 * 2) / 4.
    torch.testing.assert_close(result, torch.tensor([1.0 + 0.6, 1.0 + 8.2 / 4]))


def test_rejected_updates_neither_count_in_the_median_nor_enter() -> None:
    # A rejected (score 0) huge update must not raise the median: the bound stays 2 (norms 1, 2,
    # 5 of the accepted), so the accepted (3, 4) is still clipped.
    updates = [torch.tensor([3.0, 4.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.0, 2.0])]
    updates.append(torch.tensor([1e6, 1e6]))

    clipped = consensus(updates, [1, 1, 1, 1], scores=[1, 1, 1, 0], clip_ratio=1.0)

    torch.testing.assert_close(clipped, torch.tensor([0.4, 4.6 / 3]))


def test_without_clip_ratio_consensus_is_unchanged_bit_for_bit() -> None:
    updates = _random_updates(2, 6, 1000)
    counts, scores = [10, 20, 30, 5, 5, 7], [9000, 8000, 7000, 0, 6000, 9100]

    plain = consensus(updates, counts, scores=scores)
    ignored = consensus(updates, counts, scores=scores, reference=updates[0])

    assert _bits(plain) == _bits(ignored)


def test_clipping_nothing_gives_the_unclipped_bytes() -> None:
    # With a ratio above every norm / median, no update is scaled: the same bytes as no clip.
    updates = _random_updates(3, 5, 2000)
    counts, scores = [3, 1, 4, 1, 5], [9, 2, 6, 5, 3]

    plain = consensus(updates, counts, scores=scores)
    loose = consensus(updates, counts, scores=scores, clip_ratio=100.0)

    assert _bits(plain) == _bits(loose)


def test_clipped_consensus_is_the_same_bytes_on_every_call_and_thread_count() -> None:
    updates = _random_updates(4, 8, 50_000)
    base = updates[0] * 0.9
    counts, scores = [10, 20, 30, 40, 50, 60, 70, 80], [1, 2, 3, 4, 5, 6, 7, 8]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = consensus(updates, counts, scores=scores, clip_ratio=1.0, reference=base)
        torch.set_num_threads(2)
        two = consensus(updates, counts, scores=scores, clip_ratio=1.0, reference=base)
    finally:
        torch.set_num_threads(threads)

    assert _bits(one) == _bits(two)
    assert not np.array_equal(one.numpy(), consensus(updates, counts, scores=scores).numpy())


def test_clipped_consensus_matches_a_numpy_reference_bit_for_bit() -> None:
    # The rule as specified: factors from exact norms, clipped in float64, weighted in order.
    updates = _random_updates(5, 5, 3000)
    base = _random_updates(6, 1, 3000)[0]
    counts, scores = [4, 5, 6, 7, 8], [3, 3, 3, 3, 3]
    norms = [
        math.sqrt(math.fsum(((u.numpy().astype(np.float64) - base.numpy()) ** 2).tolist()))
        for u in updates
    ]
    bound = sorted(norms)[2]
    total = sum(s * c for s, c in zip(scores, counts, strict=True))
    expected = np.zeros(3000)
    for update, norm, s, c in zip(updates, norms, scores, counts, strict=True):
        wide, origin = update.numpy().astype(np.float64), base.numpy().astype(np.float64)
        if norm > bound:
            wide = (wide - origin) * (bound / norm) + origin
        expected += wide * (s * c / total)

    result = consensus(updates, counts, scores=scores, clip_ratio=1.0, reference=base)

    assert _bits(result) == expected.astype(np.float32).tobytes()


@pytest.mark.parametrize("ratio", [0.0, -0.5, math.inf, True, "1"])
def test_consensus_refuses_a_clip_ratio_that_is_not_positive(ratio: object) -> None:
    with pytest.raises(AggregationError, match="clip_ratio must be a finite number above 0"):
        consensus([torch.ones(2)], [1], scores=[1], clip_ratio=ratio)  # type: ignore[arg-type]


def test_consensus_refuses_a_reference_of_another_length() -> None:
    with pytest.raises(AggregationError, match=r"reference has shape \(3,\)"):
        consensus([torch.ones(2)], [1], scores=[1], clip_ratio=1.0, reference=torch.zeros(3))
