"""How a run measures its global model on the public holdout (reporting only, never a vote):
accuracy for classification, the mean held-out loss over the members' topics for the
language-model task. One place for the local run and the Flower coordinator."""

from __future__ import annotations

from typing import Any

import torch

from flock.learning.data import Dataset
from flock.learning.models import load_flat_params
from flock.learning.text import TextHoldout
from flock.learning.training import evaluate

#: `quality_metric_name` of a classification holdout / of the text task's holdout.
ACCURACY_NAME = "accuracy"
EVAL_LOSS_NAME = "eval_loss"


def quality_metric_name(holdout: Dataset | TextHoldout) -> str:
    """`eval_loss` for the text task's holdout (lower is better), else `accuracy`."""
    return EVAL_LOSS_NAME if isinstance(holdout, TextHoldout) else ACCURACY_NAME


def holdout_quality(make_model: Any, holdout: Dataset | TextHoldout, params: torch.Tensor) -> float:
    """Accuracy of flat parameters `params` on a classification holdout; for the text task,
    the mean held-out loss over the members' topics."""
    if isinstance(holdout, TextHoldout):
        from flock.learning.text_data import eval_loss

        return eval_loss(make_model, holdout, params)
    model = make_model()
    load_flat_params(model, params)
    x = torch.as_tensor(holdout.features).reshape(-1, *holdout.feature_shape)
    return evaluate(model, x, torch.as_tensor(holdout.labels))
