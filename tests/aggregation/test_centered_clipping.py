"""Specification of centered clipping (Karimireddy, He and Jaggi 2021)."""

import pytest
import torch

from flock.aggregation import AggregationError, centered_clipping, fedavg


def _points(*values: float) -> list[torch.Tensor]:
    return [torch.tensor([v], dtype=torch.float64) for v in values]


def test_one_step_from_zero_matches_the_hand_computed_case() -> None:
    # Prepare: 1, 2, 10 around v = 0 with tau = 3: the differences 1, 2, 10 clip to 1, 2, 3.
    updates = _points(1.0, 2.0, 10.0)

    # Execute
    result = centered_clipping(updates, tau=3.0, iterations=1)

    # Assert: v = 0 + (1 + 2 + 3) / 3 = 2.
    assert float(result[0]) == 2.0


def test_a_second_step_clips_around_the_first_steps_result() -> None:
    # From v = 2: differences -1, 0, 8 clip to -1, 0, 3; v = 2 + 2/3 = 8/3.
    updates = _points(1.0, 2.0, 10.0)

    result = centered_clipping(updates, tau=3.0, iterations=2)

    assert float(result[0]) == pytest.approx(8 / 3, rel=1e-15)


def test_the_clip_keeps_the_direction_and_cuts_the_norm_to_tau() -> None:
    # Prepare: one update (3, 4), norm 5, around the origin.
    update = torch.tensor([3.0, 4.0], dtype=torch.float64)

    # Execute: tau = 1 scales (3, 4) by 1/5.
    result = centered_clipping([update], tau=1.0, iterations=1)

    # Assert
    torch.testing.assert_close(result, torch.tensor([0.6, 0.8], dtype=torch.float64))


def test_the_reference_is_the_centre_of_the_clip() -> None:
    # Prepare: full models around the base (10, 10): the updates are (3, 4) and (0, 0) from it.
    base = torch.tensor([10.0, 10.0], dtype=torch.float64)
    models = [base + torch.tensor([3.0, 4.0], dtype=torch.float64), base.clone()]

    # Execute: tau = 1, equal weights: v = base + ((0.6, 0.8) + (0, 0)) / 2.
    result = centered_clipping(models, tau=1.0, iterations=1, reference=base)

    # Assert
    torch.testing.assert_close(result, torch.tensor([10.3, 10.4], dtype=torch.float64))


def test_a_radius_above_every_distance_gives_the_weighted_mean() -> None:
    generator = torch.Generator().manual_seed(2)
    updates = [torch.randn(20, generator=generator) for _ in range(5)]

    result = centered_clipping(updates, tau=1e6, iterations=1, weights=[1, 2, 3, 4, 5])

    torch.testing.assert_close(result, fedavg(updates, [1, 2, 3, 4, 5]))


def test_a_byzantine_update_moves_the_aggregate_by_at_most_its_share_of_tau() -> None:
    # Prepare: 4 honest zero updates and one at 1e6: each step moves v by at most tau / 5.
    updates = [torch.zeros(3) for _ in range(4)] + [torch.full((3,), 1e6)]

    # Execute
    result = centered_clipping(updates, tau=2.0, iterations=3)

    # Assert: |v| <= iterations * tau * f / n = 3 * 2 * 1 / 5.
    assert float(torch.linalg.vector_norm(result)) <= 3 * 2.0 / 5 + 1e-6


def test_centered_clipping_is_the_same_bytes_on_every_call() -> None:
    generator = torch.Generator().manual_seed(3)
    updates = [torch.randn(500, generator=generator) for _ in range(7)]
    base = torch.randn(500, generator=generator)

    first = centered_clipping(updates, tau=0.5, iterations=3, reference=base)
    second = centered_clipping([u.clone() for u in updates], tau=0.5, iterations=3, reference=base)

    assert first.numpy().tobytes() == second.numpy().tobytes()


@pytest.mark.parametrize(("knobs", "message"), [
    ({"tau": 0.0, "iterations": 1}, "tau must be a finite number above 0"),
    ({"tau": -1.0, "iterations": 1}, "tau must be a finite number above 0"),
    ({"tau": 1.0, "iterations": 0}, "iterations must be an integer >= 1"),
    ({"tau": 1.0, "iterations": 1, "reference": torch.zeros(3)}, "reference has shape"),
])  # fmt: skip
def test_centered_clipping_refuses_bad_knobs(knobs: dict, message: str) -> None:
    with pytest.raises(AggregationError, match=message):
        centered_clipping([torch.zeros(2), torch.ones(2)], **knobs)
