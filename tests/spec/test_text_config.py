"""The text task's config is refused before anything is deployed when its topics cannot give
every member a private topic of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from flock.spec import ConfigError, validate_config

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


def _cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=["+experiment=lora_lm", *overrides])


def test_the_lora_experiment_is_valid() -> None:
    validate_config(_cfg())


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (("participants=9",), "9 participants need one topic each, got 8"),
        (("dataset.topics=[law,law,linux]", "participants=3"), "must not repeat a topic"),
        (("dataset.topics=[law,cookie]", "participants=2"), "['cookie'] are also"),
        (("lm_report.solo.steps=0",), "lm_report.solo.steps"),
        (("lm_report.solo.workers=-1",), "lm_report.solo.workers"),
    ],
)
def test_a_text_config_that_cannot_run_is_refused_naming_the_key(
    overrides: tuple[str, ...], named: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        validate_config(_cfg(*overrides))
    assert named in str(refused.value)
