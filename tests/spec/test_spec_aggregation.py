"""The aggregation rule is part of the training-spec hash; the default rule's part is unchanged."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from flock.spec import spec_hash_of

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


def _cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_the_default_aggregation_is_consensus_clipped_at_3_and_damped() -> None:
    # What enters the spec hash for the default rule: the clip at 3 median accepted norms, the
    # outnumbered damping
    assert OmegaConf.to_container(_cfg().aggregation) == {
        "name": "consensus",
        "kwargs": {"damp_rejected": True, "damp_above_rejected_bps": 5000, "clip_ratio": 3.0},
    }
    assert spec_hash_of(_cfg("aggregation.kwargs.clip_ratio=null")) != spec_hash_of(_cfg())
    # the undamped rule is a config of its own, hashed apart from the default
    undamped = _cfg("aggregation=consensus_undamped")
    assert OmegaConf.to_container(undamped.aggregation) == {"name": "consensus", "kwargs": {}}
    assert spec_hash_of(undamped) != spec_hash_of(_cfg())


def test_the_clip_switch_enters_the_spec_hash() -> None:
    default, clipped = _cfg(), _cfg("aggregation=consensus_clipped")

    assert clipped.aggregation.name == "consensus"
    assert clipped.aggregation.kwargs.clip_ratio == 1.0
    assert spec_hash_of(clipped) != spec_hash_of(default)
    assert spec_hash_of(_cfg("aggregation=consensus_clipped", "aggregation.kwargs.clip_ratio=2")) \
        != spec_hash_of(clipped)  # fmt: skip


def test_the_damping_switch_enters_the_spec_hash() -> None:
    damped = _cfg("aggregation=consensus_damped")

    assert damped.aggregation.name == "consensus"
    assert damped.aggregation.kwargs.damp_rejected is True
    assert damped.aggregation.kwargs.damp_above_rejected_bps == 0
    assert spec_hash_of(damped) != spec_hash_of(_cfg())
    assert spec_hash_of(_cfg("aggregation.kwargs.damp_above_rejected_bps=2500")) \
        != spec_hash_of(_cfg())  # fmt: skip
