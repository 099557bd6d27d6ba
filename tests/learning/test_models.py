"""Specifications of the models and flat-parameter helpers (flock.learning.models)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from flock.learning.models import (
    MLP,
    SmallCNN,
    flatten_params,
    load_flat_params,
    num_params,
    unflatten_params,
)


def _mlp(seed: int = 0) -> MLP:
    torch.manual_seed(seed)
    return MLP(in_features=64, hidden=16, num_classes=10)


def _cnn(seed: int = 0) -> SmallCNN:
    torch.manual_seed(seed)
    return SmallCNN(num_classes=10, channels=4)


def test_mlp_flattens_digit_images_and_returns_one_logit_per_class() -> None:
    # Prepare
    model = _mlp()

    # Execute
    logits = model(torch.zeros(5, 1, 8, 8))

    # Assert
    assert logits.shape == (5, 10)


def test_mlp_accepts_flat_tabular_features() -> None:
    # Prepare
    model = MLP(in_features=30, num_classes=2)

    # Execute
    logits = model(torch.zeros(7, 30))

    # Assert
    assert logits.shape == (7, 2)
    assert num_params(model) == 30 * 64 + 64 + 64 * 2 + 2


def test_small_cnn_maps_1x8x8_digits_to_class_logits() -> None:
    # Prepare
    model = SmallCNN()

    # Execute
    logits = model(torch.zeros(3, 1, 8, 8))

    # Assert
    assert logits.shape == (3, 10)
    assert num_params(model) < 10_000


def test_small_cnn_rejects_even_kernel() -> None:
    # Execute / Assert
    with pytest.raises(ValueError, match="odd"):
        SmallCNN(kernel_size=2)


def test_mlp_rejects_non_positive_sizes() -> None:
    # Execute / Assert
    with pytest.raises(ValueError, match="hidden"):
        MLP(in_features=4, hidden=0, num_classes=2)


@pytest.mark.parametrize("factory", [_mlp, _cnn])
def test_initialisation_is_deterministic_given_the_torch_seed(factory) -> None:
    # Execute
    a, b, c = factory(1), factory(1), factory(2)

    # Assert
    assert torch.equal(flatten_params(a), flatten_params(b))
    assert not torch.equal(flatten_params(a), flatten_params(c))


@pytest.mark.parametrize("factory", [_mlp, _cnn])
def test_flatten_params_is_a_float32_copy_in_named_parameters_order(factory) -> None:
    # Prepare
    model = factory()
    expected = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])

    # Execute
    flat = flatten_params(model)

    # Assert
    assert flat.dtype == torch.float32
    assert flat.shape == (num_params(model),)
    assert torch.equal(flat, expected)
    flat.add_(1.0)
    assert torch.equal(flatten_params(model), expected)  # a copy: the model did not change


@pytest.mark.parametrize("factory", [_mlp, _cnn])
def test_load_flat_params_roundtrips_between_models(factory) -> None:
    # Prepare
    source, target = factory(1), factory(2)
    x = torch.randn(4, 1, 8, 8)

    # Execute
    load_flat_params(target, flatten_params(source))

    # Assert
    assert torch.equal(flatten_params(target), flatten_params(source))
    assert torch.equal(target(x), source(x))


@pytest.mark.parametrize(
    ("flat", "message"),
    [
        (torch.zeros(5), "expected"),
        (torch.zeros(1), "expected"),
        (torch.zeros(2, 1), "1-D"),
        ("not a tensor", "torch.Tensor"),
    ],
)
def test_load_flat_params_rejects_malformed_vectors(flat, message: str) -> None:
    # Prepare
    model = nn.Linear(2, 1)  # 3 parameters
    before = flatten_params(model)

    # Execute / Assert
    with pytest.raises(ValueError, match=message):
        load_flat_params(model, flat)
    assert torch.equal(flatten_params(model), before)


def test_load_flat_params_rejects_wrong_length_with_both_counts() -> None:
    # Prepare
    model = _mlp()
    d = num_params(model)

    # Execute / Assert
    with pytest.raises(ValueError, match=f"expected {d} parameters, got {d - 1}"):
        load_flat_params(model, torch.zeros(d - 1))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_load_flat_params_rejects_non_finite_values_and_leaves_model_untouched(bad: float) -> None:
    # Prepare
    model = _mlp()
    before = flatten_params(model)
    flat = torch.zeros(num_params(model))
    flat[-1] = bad

    # Execute / Assert
    with pytest.raises(ValueError, match="NaN/inf"):
        load_flat_params(model, flat)
    assert torch.equal(flatten_params(model), before)


def test_load_flat_params_rejects_float64() -> None:
    # Prepare
    model = _mlp()

    # Execute / Assert
    with pytest.raises(ValueError, match="float32"):
        load_flat_params(model, torch.zeros(num_params(model), dtype=torch.float64))


def test_unflatten_params_keeps_leading_stack_dimension() -> None:
    # Prepare
    model = _cnn()
    stack = torch.stack([flatten_params(_cnn(s)) for s in range(3)])

    # Execute
    named = unflatten_params(model, stack)

    # Assert
    assert list(named) == [name for name, _ in model.named_parameters()]
    for name, param in model.named_parameters():
        assert named[name].shape == (3, *param.shape)
    assert torch.equal(named["features.0.weight"][0], model.features[0].weight.detach())


def test_unflatten_params_rejects_wrong_width() -> None:
    # Execute / Assert
    with pytest.raises(ValueError, match="dimension"):
        unflatten_params(_mlp(), torch.zeros(2, 3))
