"""The global model's reporting measure: the same holdout draw as the members' data, accuracy
for classification, named so that the run and the Flower coordinator agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from flock.learning.alliance_data import alliance_data, reporting_holdout
from flock.learning.models import flatten_params
from flock.learning.quality import holdout_quality, quality_metric_name
from flock.learning.training import evaluate

CONFIGS = str(Path(__file__).resolve().parents[2] / "configs")


def _cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_the_reporting_holdout_is_the_holdout_the_members_data_left_out() -> None:
    cfg = _cfg("participants=4")
    holdout = reporting_holdout(cfg)
    drawn = alliance_data(cfg).holdout
    assert np.array_equal(holdout.features, drawn.features)
    assert np.array_equal(holdout.labels, drawn.labels)
    assert quality_metric_name(holdout) == "accuracy"


def test_classification_quality_is_the_accuracy_of_the_flat_parameters() -> None:
    cfg = _cfg("participants=4")
    holdout = reporting_holdout(cfg)
    torch.manual_seed(0)
    model = instantiate(cfg.model)
    x = torch.as_tensor(holdout.features).reshape(-1, *holdout.feature_shape)
    expected = evaluate(model, x, torch.as_tensor(holdout.labels))
    quality = holdout_quality(lambda: instantiate(cfg.model), holdout, flatten_params(model))
    assert quality == expected
