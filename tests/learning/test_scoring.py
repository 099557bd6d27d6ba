"""The scoring group: accuracy in basis points (default) or evaluation loss on a log scale."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from flock.learning.models import MLP, flatten_params
from flock.learning.scoring import Scoring, loss_to_score, relative_step
from flock.learning.training import evaluate_many
from flock.protocol.commitments import MAX_SCORE


def test_loss_score_is_higher_for_lower_loss_and_stays_in_range() -> None:
    scores = [loss_to_score(x, loss_min=0.05, loss_max=10.0) for x in (0.01, 0.05, 1, 2, 10, 50)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == scores[1] == MAX_SCORE
    assert scores[-1] == scores[-2] == 1


def test_nan_loss_scores_one_never_zero() -> None:
    assert loss_to_score(math.nan, loss_min=0.05, loss_max=10.0) == 1


@given(st.floats(min_value=0.05, max_value=9.9), st.floats(min_value=0.05, max_value=9.9))
def test_loss_score_is_monotone(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    assert loss_to_score(lo, loss_min=0.05, loss_max=10.0) >= loss_to_score(
        hi, loss_min=0.05, loss_max=10.0
    )


def test_one_score_unit_is_under_a_tenth_of_a_percent_of_the_loss() -> None:
    step = relative_step(0.05, 10.0)
    assert step < 0.001
    # 1 % lower loss is about 19 units higher anywhere in the range
    for loss in (0.1, 1.0, 2.5, 8.0):
        gain = loss_to_score(loss * 0.99, loss_min=0.05, loss_max=10.0) - loss_to_score(
            loss, loss_min=0.05, loss_max=10.0
        )
        assert 17 <= gain <= 21


def test_a_range_too_wide_for_the_resolution_is_refused() -> None:
    with pytest.raises(ValueError, match="narrow the range"):
        Scoring(name="loss", loss_min=1e-6, loss_max=100.0)


def test_accuracy_is_the_default_and_scores_at_least_one() -> None:
    scoring = Scoring.from_config(None)
    assert scoring.metric == "accuracy"
    assert scoring.score(0.0) == 1
    assert scoring.score(0.9731) == 9731


def test_evaluate_many_measures_classification_loss_too() -> None:
    torch.manual_seed(0)
    model = MLP(in_features=4, hidden=8, num_classes=3)
    x, y = torch.randn(50, 4), torch.randint(0, 3, (50,))
    stacked = torch.stack([flatten_params(model)])
    loss = evaluate_many(model, stacked, x, y, metric="loss", batch_size=7)
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model(x).double(), y)
    assert float(loss[0]) == pytest.approx(float(expected), rel=1e-6)
