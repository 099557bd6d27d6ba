"""Specifications of local training and (batched) evaluation (flock.learning.training)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from flock.learning.data import ParticipantData, holdout_split, load_dataset, make_participant_data
from flock.learning.models import MLP, SmallCNN, flatten_params, load_flat_params, num_params
from flock.learning.training import evaluate, evaluate_many, train_local


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    """Tiny models run fastest single-threaded; the test (as the caller) decides, then restores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def participant() -> ParticipantData:
    pool, _ = holdout_split(load_dataset("digits"), holdout_fraction=0.2, seed=0)
    return make_participant_data(pool, 5, scheme="iid", test_fraction=0.25, seed=0)[0]


def _mlp(seed: int = 0) -> MLP:
    torch.manual_seed(seed)
    return MLP(in_features=64, hidden=32, num_classes=10)


def _cnn(seed: int = 0) -> SmallCNN:
    torch.manual_seed(seed)
    return SmallCNN(num_classes=10, channels=4)


def test_short_training_on_one_participants_digits_generalises(
    participant: ParticipantData,
) -> None:
    # Prepare
    model = MLP(in_features=64, hidden=64, num_classes=10)
    before = evaluate(model, participant.x_test, participant.y_test)

    # Execute
    loss = train_local(
        model,
        participant.x_train,
        participant.y_train,
        epochs=15,
        lr=0.1,
        batch_size=32,
        seed=0,
        momentum=0.9,
    )

    # Assert
    accuracy = evaluate(model, participant.x_test, participant.y_test)
    assert before < 0.3
    assert accuracy > 0.85
    assert 0.0 <= loss < 0.5


def test_adam_training_also_learns(participant: ParticipantData) -> None:
    # Prepare
    model = _mlp()

    # Execute
    train_local(
        model,
        participant.x_train,
        participant.y_train,
        epochs=10,
        lr=0.01,
        batch_size=32,
        seed=0,
        optimizer="adam",
    )

    # Assert
    assert evaluate(model, participant.x_test, participant.y_test) > 0.85


def test_training_is_deterministic_for_a_seed(participant: ParticipantData) -> None:
    # Prepare
    a, b, c = _mlp(), _mlp(), _mlp()
    kwargs = {"epochs": 2, "lr": 0.05, "batch_size": 16, "momentum": 0.5, "weight_decay": 1e-4}

    # Execute
    loss_a = train_local(a, participant.x_train, participant.y_train, seed=3, **kwargs)
    loss_b = train_local(b, participant.x_train, participant.y_train, seed=3, **kwargs)
    train_local(c, participant.x_train, participant.y_train, seed=4, **kwargs)

    # Assert
    assert loss_a == loss_b
    assert torch.equal(flatten_params(a), flatten_params(b))
    assert not torch.equal(flatten_params(a), flatten_params(c))


def test_training_leaves_the_callers_global_rng_and_model_mode_alone(
    participant: ParticipantData,
) -> None:
    # Prepare
    model = _mlp()
    model.eval()
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)

    # Execute
    train_local(
        model, participant.x_train, participant.y_train, epochs=1, lr=0.1, batch_size=64, seed=0
    )

    # Assert
    assert torch.equal(torch.rand(3), expected_next)
    assert not model.training


def test_training_reduces_the_loss(participant: ParticipantData) -> None:
    # Prepare
    model = _mlp()
    x, y = participant.x_train, participant.y_train
    with torch.no_grad():
        initial = nn.functional.cross_entropy(model(x), y).item()

    # Execute
    final = train_local(model, x, y, epochs=3, lr=0.1, batch_size=32, seed=0)

    # Assert
    assert final < initial


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"optimizer": "rmsprop"}, "unknown optimizer"),
        ({"optimizer": "adam", "momentum": 0.9}, "momentum"),
    ],
)
def test_training_rejects_invalid_knobs(kwargs: dict, message: str) -> None:
    # Prepare
    settings = {"epochs": 1, "lr": 0.1, "batch_size": 4, "seed": 0} | kwargs

    # Execute / Assert
    with pytest.raises(ValueError, match=message):
        train_local(_mlp(), torch.zeros(4, 64), torch.zeros(4, dtype=torch.int64), **settings)


def test_training_rejects_mismatched_data() -> None:
    # Execute / Assert
    with pytest.raises(ValueError, match="sample count"):
        train_local(
            _mlp(),
            torch.zeros(4, 64),
            torch.zeros(3, dtype=torch.int64),
            epochs=1,
            lr=0.1,
            batch_size=2,
            seed=0,
        )


def test_evaluate_is_the_fraction_of_correct_argmax_predictions() -> None:
    # Prepare: a fixed linear "model" whose prediction is the index of the largest feature
    model = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(3))
    x = torch.eye(3).repeat(4, 1)  # 12 samples, predictions 0,1,2,0,1,2,...
    y = torch.tensor([0, 1, 2] * 3 + [1, 1, 1])  # the last 3 labels: only one is right

    # Execute
    accuracies = [evaluate(model, x, y, batch_size=b) for b in (1, 5, 1024)]

    # Assert
    assert accuracies == [10 / 12] * 3


@pytest.mark.parametrize("factory", [_mlp, _cnn])
def test_evaluate_many_equals_evaluating_each_vector_one_by_one(
    factory, participant: ParticipantData
) -> None:
    # Prepare
    model = factory()
    train_local(
        model, participant.x_train, participant.y_train, epochs=3, lr=0.1, batch_size=32, seed=0
    )
    trained = flatten_params(model)
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(5, trained.numel(), generator=generator)
    stack = torch.cat([trained[None], trained + 0.05 * noise, 0.1 * noise[:2]])
    x, y = participant.x_test, participant.y_test

    # Execute
    batched = evaluate_many(model, stack, x, y, batch_size=17)

    # Assert
    one_by_one = []
    probe = factory(99)
    for vector in stack:
        load_flat_params(probe, vector)
        one_by_one.append(evaluate(probe, x, y))
    assert batched.shape == (len(stack),)
    np.testing.assert_array_equal(batched.numpy(), np.array(one_by_one))
    assert len(set(one_by_one)) > 1  # the vectors really are different models
    assert torch.equal(flatten_params(model), trained)  # the template model is untouched


def test_evaluate_many_rejects_vectors_of_the_wrong_width(participant: ParticipantData) -> None:
    # Prepare
    model = _mlp()

    # Execute / Assert
    with pytest.raises(ValueError, match="shape"):
        evaluate_many(
            model, torch.zeros(2, num_params(model) + 1), participant.x_test, participant.y_test
        )


def test_evaluate_many_with_no_vectors_returns_an_empty_result(
    participant: ParticipantData,
) -> None:
    # Execute
    result = evaluate_many(
        _mlp(), torch.zeros(0, num_params(_mlp())), participant.x_test, participant.y_test
    )

    # Assert
    assert result.shape == (0,)
