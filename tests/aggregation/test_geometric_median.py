"""Specification of the geometric median (RFA's smoothed Weiszfeld algorithm)."""

from fractions import Fraction

import pytest
import torch

from flock.aggregation import AggregationError, fedavg, geometric_median


def _points(*values: float) -> list[torch.Tensor]:
    return [torch.tensor([v], dtype=torch.float64) for v in values]


def test_zero_iterations_is_the_weighted_mean() -> None:
    updates = _points(1.0, 2.0, 9.0)

    result = geometric_median(updates, iterations=0, nu=1e-6, weights=[1, 1, 2])

    assert float(result[0]) == pytest.approx((1 + 2 + 2 * 9) / 4)


def test_one_weiszfeld_step_matches_the_hand_computed_case() -> None:
    # Prepare: 1-D points -1, 1, 4. The mean is z = 4/3; distances 7/3, 1/3, 8/3;
    # b = 3/7, 3, 3/8; z' = (-3/7 + 3 + 12/8) / (3/7 + 3 + 3/8) = (57/14) / (213/56) = 76/71.
    updates = _points(-1.0, 1.0, 4.0)

    # Execute
    result = geometric_median(updates, iterations=1, nu=1e-6)

    # Assert
    assert float(result[0]) == pytest.approx(float(Fraction(76, 71)), rel=1e-14)


def test_nu_caps_the_weight_of_a_point_the_estimate_lands_on() -> None:
    # Prepare: -1, 0, 0, 1, 5: the mean z = 1 lands on the point 1 (distance 0 -> nu = 0.5).
    # distances 2, 1, 1, 0, 4 -> b = 1/2, 1, 1, 1/0.5 = 2, 1/4; sum 19/4;
    # z' = (-1/2 + 0 + 0 + 2 + 5/4) / (19/4) = (11/4) / (19/4) = 11/19.
    updates = _points(-1.0, 0.0, 0.0, 1.0, 5.0)

    result = geometric_median(updates, iterations=1, nu=0.5)

    assert float(result[0]) == pytest.approx(11 / 19, rel=1e-14)


def test_weights_scale_each_points_pull() -> None:
    # Prepare: 0 and 3 with weights 1 and 2: z = 2; distances 2, 1; b = (1/3)/2, (2/3)/1;
    # z' = (0 + 3 * 2/3) / (1/6 + 2/3) = 2 / (5/6) = 12/5.
    updates = _points(0.0, 3.0)

    result = geometric_median(updates, iterations=1, nu=1e-6, weights=[1, 2])

    assert float(result[0]) == pytest.approx(12 / 5, rel=1e-14)


def test_square_corners_have_their_centre_as_median() -> None:
    corners = [torch.tensor(p) for p in ([0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0])]

    result = geometric_median(corners, iterations=5, nu=1e-6)

    torch.testing.assert_close(result, torch.tensor([1.0, 1.0]))


def test_a_far_outlier_barely_moves_the_median_but_drags_the_mean() -> None:
    # Prepare: six honest points near the origin and one attacker at 1000.
    generator = torch.Generator().manual_seed(0)
    honest = [0.1 * torch.randn(8, generator=generator) for _ in range(6)]
    updates = [*honest, torch.full((8,), 1000.0)]

    # Execute
    median = geometric_median(updates, iterations=20, nu=1e-6)

    # Assert: the mean sits at ~143 per coordinate; the median stays within the honest spread.
    assert float(fedavg(updates).abs().min()) > 100
    assert float(median.abs().max()) < 1.0


def test_more_steps_approach_the_one_dimensional_median() -> None:
    # In 1-D the geometric median of 0, 1, 10 is the ordinary median, 1.
    updates = _points(0.0, 1.0, 10.0)

    few = float(geometric_median(updates, iterations=2, nu=1e-9)[0])
    many = float(geometric_median(updates, iterations=60, nu=1e-9)[0])

    assert abs(many - 1.0) < abs(few - 1.0) and abs(many - 1.0) < 1e-3


def test_geometric_median_is_the_same_bytes_on_every_call() -> None:
    generator = torch.Generator().manual_seed(1)
    updates = [torch.randn(1000, generator=generator) for _ in range(9)]

    first = geometric_median(updates, iterations=4, nu=1e-6, weights=list(range(1, 10)))
    second = geometric_median(
        [u.clone() for u in updates], iterations=4, nu=1e-6, weights=list(range(1, 10))
    )

    assert first.dtype == torch.float32
    assert first.numpy().tobytes() == second.numpy().tobytes()


@pytest.mark.parametrize(("knobs", "message"), [
    ({"iterations": -1, "nu": 1e-6}, "iterations must be an integer >= 0"),
    ({"iterations": 1.5, "nu": 1e-6}, "iterations must be an integer >= 0"),
    ({"iterations": 2, "nu": 0.0}, "nu must be a finite number above 0"),
    ({"iterations": 2, "nu": float("nan")}, "nu must be a finite number above 0"),
])  # fmt: skip
def test_geometric_median_refuses_bad_knobs(knobs: dict, message: str) -> None:
    with pytest.raises(AggregationError, match=message):
        geometric_median(_points(0.0, 1.0), **knobs)
