"""Every config group composes, and every model config instantiates for its dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from flock.spec import ConfigError, task_params, validate_config

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "configs")
GROUPS = {
    g.name: sorted(p.stem for p in g.glob("*.yaml"))
    for g in Path(CONFIG_DIR).iterdir()
    if g.is_dir() and g.name != "experiment"
}


#: What an option needs beside the defaults: the text task has one topic per member (8 topics).
NEEDS = {"dataset=text": ("participants=8",)}


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


@pytest.mark.parametrize(
    "override", [f"{group}={option}" for group, options in GROUPS.items() for option in options]
)
def test_every_group_option_composes_and_validates(override: str) -> None:
    cfg = _compose(override, *NEEDS.get(override, ()))
    validate_config(cfg)
    params = task_params(cfg, spec_hash=bytes(32), initial_model_hash=bytes(32))
    assert params.rounds == cfg.task.rounds


@pytest.mark.parametrize("dataset", GROUPS["dataset"])
def test_mlp_builds_for_every_dataset(dataset: str) -> None:
    cfg = _compose(f"dataset={dataset}", "model=mlp")
    model = instantiate(cfg.model)
    out = model(torch.zeros(3, cfg.dataset.in_features))
    assert out.shape == (3, cfg.dataset.num_classes)


def test_cnn_builds_for_digits() -> None:
    cfg = _compose("dataset=digits", "model=cnn")
    assert instantiate(cfg.model)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_experiment_presets_compose() -> None:
    cfg = _compose("+experiment=label_flip_2")
    assert cfg.attack.proposer.behaviour == "label_flip"
    assert cfg.attack.proposer.count == 2


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.rounds=0", "task.rounds"),
        ("task.proposers_per_round=10", "proposers_per_round"),
        ("task.slash_bps=-1", "slash_bps"),
        ("participants=1", "participants"),
        ("tokens.stake=1", "tokens.stake"),
    ],
)
def test_impossible_values_are_rejected_before_deploying(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_config(_compose(override))
