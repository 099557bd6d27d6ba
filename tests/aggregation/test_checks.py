"""Specification of the input validation shared by every aggregation rule."""

import math

import numpy as np
import pytest
import torch

from flock.aggregation import AGGREGATORS, AggregationError, stack_updates
from flock.aggregation._checks import check_finite, normalize_weights, sorted_column_blocks

# Knobs that make each registered rule callable on five updates.
KNOBS = {
    "fedavg": {},
    "median": {},
    "trimmed_mean": {},
    "krum": {"num_malicious": 1},
    "multikrum": {"num_malicious": 1, "to_keep": 2},
    "bulyan": {"num_malicious": 0},
    "consensus": {"sample_counts": [1] * 5, "scores": [1] * 5},
    "geometric_median": {"iterations": 3, "nu": 1e-6},
    "centered_clipping": {"tau": 1.0, "iterations": 2},
}


def _call(name: str, updates: list[torch.Tensor]) -> torch.Tensor:
    knobs = dict(KNOBS[name])
    if name == "consensus":
        knobs = {"sample_counts": [1] * len(updates), "scores": [1] * len(updates)}
    return AGGREGATORS[name](updates, **knobs)


def _updates(count: int = 5, length: int = 4) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randn(length, generator=generator) for _ in range(count)]


def test_aggregation_error_is_a_value_error() -> None:
    assert issubclass(AggregationError, ValueError)


def test_stack_updates_returns_one_row_per_update_in_input_order() -> None:
    # Prepare
    updates = _updates(3, 4)

    # Execute
    stacked = stack_updates(updates)

    # Assert
    assert stacked.shape == (3, 4)
    for row, update in zip(stacked, updates, strict=True):
        assert torch.equal(row, update)


def test_stack_updates_rejects_empty_input() -> None:
    with pytest.raises(AggregationError, match="empty"):
        stack_updates([])


def test_stack_updates_rejects_a_stacked_tensor_with_a_hint() -> None:
    with pytest.raises(AggregationError, match=r"unbind"):
        stack_updates(torch.zeros(3, 4))


def test_stack_updates_rejects_non_tensor_items() -> None:
    with pytest.raises(AggregationError, match=r"update 1 is a list"):
        stack_updates([torch.zeros(2), [0.0, 0.0]])


def test_stack_updates_rejects_non_flat_updates_naming_index_and_shape() -> None:
    with pytest.raises(AggregationError, match=r"update 1 has shape \(2, 2\).*1-D"):
        stack_updates([torch.zeros(4), torch.zeros(2, 2)])


def test_stack_updates_rejects_mismatched_lengths_naming_index_and_shapes() -> None:
    updates = [torch.zeros(4), torch.zeros(4), torch.zeros(3)]

    with pytest.raises(AggregationError) as caught:
        stack_updates(updates)

    message = str(caught.value)
    assert "update 2 has shape (3,)" in message
    assert "update 0 has shape (4,)" in message


def test_stack_updates_rejects_integer_updates() -> None:
    with pytest.raises(AggregationError, match=r"update 0 has dtype torch.int64.*floating"):
        stack_updates([torch.arange(3), torch.arange(3)])


def test_stack_updates_rejects_mixed_dtypes() -> None:
    with pytest.raises(AggregationError, match=r"update 1 has dtype torch.float64"):
        stack_updates([torch.zeros(3), torch.zeros(3, dtype=torch.float64)])


@pytest.mark.parametrize(
    ("value", "kind"), [(math.nan, "NaN"), (math.inf, r"\+inf"), (-math.inf, "-inf")]
)
def test_stack_updates_names_the_update_holding_a_non_finite_value(value: float, kind: str) -> None:
    updates = _updates(4, 6)
    updates[2][5] = value

    with pytest.raises(AggregationError, match=rf"update 2 contains {kind} at position 5"):
        stack_updates(updates)


def test_finite_values_whose_sum_overflows_are_accepted() -> None:
    # The sum screen overflows in float16, so the exact element check decides.
    updates = [torch.full((8,), 60000.0, dtype=torch.float16)] * 2

    check_finite(updates)


@pytest.mark.parametrize("name", sorted(AGGREGATORS))
def test_every_aggregator_rejects_empty_input(name: str) -> None:
    with pytest.raises(AggregationError, match="empty"):
        _call(name, [])


@pytest.mark.parametrize("name", sorted(AGGREGATORS))
def test_every_aggregator_rejects_mismatched_lengths(name: str) -> None:
    updates = _updates(5, 4)
    updates[3] = torch.zeros(5)

    with pytest.raises(AggregationError, match=r"update 3 has shape \(5,\)"):
        _call(name, updates)


@pytest.mark.parametrize("name", sorted(AGGREGATORS))
@pytest.mark.parametrize(("value", "kind"), [(math.nan, "NaN"), (math.inf, r"\+inf")])
def test_every_aggregator_names_the_update_holding_nan_or_inf(
    name: str, value: float, kind: str
) -> None:
    updates = _updates(5, 4)
    updates[3][1] = value

    with pytest.raises(AggregationError, match=rf"update 3 contains {kind} at position 1"):
        _call(name, updates)


@pytest.mark.parametrize("name", sorted(AGGREGATORS))
def test_every_aggregator_returns_a_flat_result_in_the_input_dtype(name: str) -> None:
    updates = [update.double() for update in _updates(5, 4)]

    result = _call(name, updates)

    assert result.shape == (4,)
    assert result.dtype == torch.float64


@pytest.mark.parametrize("name", sorted(AGGREGATORS))
def test_every_aggregator_accepts_zero_length_updates(name: str) -> None:
    result = _call(name, [torch.zeros(0) for _ in range(5)])

    assert result.shape == (0,)


@pytest.mark.parametrize("name", sorted(AGGREGATORS))
def test_every_aggregator_leaves_its_inputs_untouched(name: str) -> None:
    updates = _updates(5, 6)
    originals = [update.clone() for update in updates]

    _call(name, updates)

    for update, original in zip(updates, originals, strict=True):
        assert torch.equal(update, original)


def test_missing_weights_mean_equal_weights() -> None:
    assert normalize_weights(None, 4) == [0.25] * 4


def test_weights_are_scaled_to_sum_to_one() -> None:
    assert normalize_weights([1, 3], 2) == [0.25, 0.75]
    assert normalize_weights(torch.tensor([2.0, 2.0]), 2) == [0.5, 0.5]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0, 2.0], "got 2 weights for 3 updates"),
        ([1.0, -1.0, 1.0], "weight 1 is -1.0; weights must be non-negative"),
        ([1.0, math.nan, 1.0], "weight 1 is nan; weights must be finite"),
        ([math.inf, 1.0, 1.0], "weight 0 is inf; weights must be finite"),
        ([0, 0, 0], "weights sum to zero"),
        ([1, True, 1], "weight 1 is True, not a real number"),
        ([1, "2", 1], "weight 1 is '2', not a real number"),
        (np.ones((3, 1)), "weights must be 1-D"),
    ],
)
def test_invalid_weights_are_rejected_with_a_clear_message(weights: object, message: str) -> None:
    with pytest.raises(AggregationError, match=message):
        normalize_weights(weights, 3)  # type: ignore[arg-type]


def test_sorted_column_blocks_cover_every_coordinate_sorted_across_updates() -> None:
    # Prepare: blocks of 3 over 8 coordinates, the last block partial.
    updates = _updates(5, 8)
    expected = np.sort(torch.stack(updates).numpy(), axis=0).T

    # Execute
    seen = [
        (start, stop, rows.copy()) for start, stop, rows in sorted_column_blocks(updates, block=3)
    ]

    # Assert
    assert [(start, stop) for start, stop, _ in seen] == [(0, 3), (3, 6), (6, 8)]
    np.testing.assert_array_equal(np.concatenate([rows for _, _, rows in seen]), expected)
