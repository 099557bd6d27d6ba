"""Flower's strategies as baselines: their aggregation on flat vectors, inputs left intact."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flock.defence.baselines import BASELINES, bulyan_runs, flower_aggregate, make_strategy


def _updates(n: int = 11, d: int = 30, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(d, generator=generator) for _ in range(n)]


def test_fedavg_is_the_sample_weighted_mean() -> None:
    updates = _updates()
    samples = list(range(1, 12))
    expected = sum(s * u.double() for s, u in zip(samples, updates, strict=True)) / sum(samples)
    result = flower_aggregate("fedavg", updates, samples, num_malicious=0)
    assert result is not None
    assert torch.allclose(result.double(), expected, atol=1e-5)


def test_median_is_the_coordinate_wise_median() -> None:
    updates = _updates()
    result = flower_aggregate("fedmedian", updates, [1] * 11, num_malicious=0)
    assert result is not None
    expected = np.median(np.stack([u.numpy() for u in updates]), axis=0)
    assert np.allclose(result.numpy(), expected)


@pytest.mark.parametrize("name", BASELINES)
def test_every_baseline_leaves_its_inputs_intact(name: str) -> None:
    updates = _updates()
    before = [u.clone() for u in updates]
    flower_aggregate(name, updates, [5] * len(updates), num_malicious=2)
    assert all(torch.equal(a, b) for a, b in zip(updates, before, strict=True))


def test_krum_ignores_a_far_outlier() -> None:
    updates = _updates()
    updates[0] = updates[0] + 1000.0
    result = flower_aggregate("krum", updates, [1] * 11, num_malicious=1)
    assert result is not None
    assert float(result.abs().max()) < 100.0


def test_bulyan_declines_below_four_f_plus_three() -> None:
    assert bulyan_runs(11, 2) and not bulyan_runs(10, 2)
    assert flower_aggregate("bulyan", _updates(10), [1] * 10, num_malicious=2) is None
    assert flower_aggregate("bulyan", _updates(11), [1] * 11, num_malicious=2) is not None


def test_trimmed_mean_cuts_the_true_count_from_each_tail() -> None:
    strategy = make_strategy("fedtrimmedavg", num_updates=20, num_malicious=4)
    assert int(strategy.beta * 20) == 4  # type: ignore[attr-defined]


def test_unknown_baseline_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown baseline"):
        make_strategy("nope", num_updates=3, num_malicious=0)
