"""Score tolerances follow the size of the voters' private test splits."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from flock.learning.alliance_data import alliance_data, score_floor_bps
from flock.spec import score_tolerances, spec_hash_of, task_params

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


def _cfg(*overrides: str):  # type: ignore[no-untyped-def]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_one_score_step_is_one_test_sample() -> None:
    assert score_floor_bps(2, 7) == 2858  # ceil(2 x 10000 / 7)
    assert score_floor_bps(1, 36) == 278
    assert score_floor_bps(2, 2) == 10_000  # capped at the maximum score
    assert score_floor_bps(0, 5) == 0
    with pytest.raises(ValueError, match="test_samples must be >= 1"):
        score_floor_bps(2, 0)


def test_small_test_splits_raise_the_tolerances_to_two_steps_and_the_band_to_four() -> None:
    # K = 50 on digits: 7 private test samples each, score steps of 14.3 points; the voter band
    # and the wash limit judge paired differences (two scores): twice the steps
    cfg = _cfg("participants=50")
    assert alliance_data(cfg).smallest_test_split == 7
    assert score_tolerances(cfg) == {
        "tolerance_bps": 2858,
        "peer_tolerance_bps": 2858,
        "min_deviation_bps": 5715,
        "wash_mad_bps": 5715,
        "accept_tolerance_bps": 2858,  # unset: the tolerances themselves (nothing declined)
        "accept_peer_tolerance_bps": 2858,
    }
    params = task_params(cfg, spec_hash=bytes(32), initial_model_hash=bytes(32))
    thresholds = (params.tolerance_bps, params.peer_tolerance_bps, params.min_deviation_bps)
    assert thresholds == (2858, 2858, 5715) and params.wash_mad_bps == 5715


def test_large_test_splits_keep_the_configured_tolerances() -> None:
    cfg = _cfg()  # 10 participants: 36 test samples, steps of 2.8 points
    assert score_tolerances(cfg) == {
        "tolerance_bps": 1000,
        "peer_tolerance_bps": 1500,
        "min_deviation_bps": 1500,
        "wash_mad_bps": 2000,
        "accept_tolerance_bps": 1000,
        "accept_peer_tolerance_bps": 1500,
    }


def test_accept_tolerances_take_their_own_steps_under_the_slash_tolerances() -> None:
    # K = 50 on digits, one step to accept: 14.3 points, slashed past two (28.6); the peer
    # accept tolerance keeps its configured 1500 (above one step)
    cfg = _cfg("participants=50", "task.accept_score_steps=1")
    tolerances = score_tolerances(cfg)
    assert tolerances["accept_tolerance_bps"] == 1429
    assert tolerances["accept_peer_tolerance_bps"] == 1500
    assert (tolerances["tolerance_bps"], tolerances["peer_tolerance_bps"]) == (2858, 2858)
    params = task_params(cfg, spec_hash=bytes(32), initial_model_hash=bytes(32))
    assert (params.accept_tolerance_bps, params.accept_peer_tolerance_bps) == (1429, 1500)
    # more accept steps than slash steps: capped at the slash tolerances
    capped = score_tolerances(_cfg("participants=50", "task.accept_score_steps=3"))
    assert capped["accept_tolerance_bps"] == capped["tolerance_bps"] == 2858
    # 36 test samples (10 members): raised to two steps (556) by default, to one step (278)
    # with accept_score_steps=1, which the configured 500 already exceeds
    assert score_tolerances(_cfg("task.accept_tolerance_bps=500"))["accept_tolerance_bps"] == 556
    one_step = _cfg("task.accept_tolerance_bps=500", "task.accept_score_steps=1")
    assert score_tolerances(one_step)["accept_tolerance_bps"] == 500


def test_an_accept_tolerance_above_its_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match=r"accept_tolerance_bps \(1001\) must lie in 0..1000"):
        score_tolerances(_cfg("task.accept_tolerance_bps=1001"))
    with pytest.raises(ValueError, match="accept_peer_tolerance_bps"):
        score_tolerances(_cfg("task.accept_peer_tolerance_bps=-1"))
    with pytest.raises(ValueError, match="accept_tolerance_bps"):  # no score steps: as set
        score_tolerances(_cfg("task.score_steps=0", "task.accept_tolerance_bps=1001"))
    # judged against the raised tolerance: 2000 fits under 2858 at K = 50
    raised = score_tolerances(_cfg("participants=50", "task.accept_tolerance_bps=2000"))
    assert raised["accept_tolerance_bps"] == 2858  # then raised to two steps itself
    one_step = _cfg(
        "participants=50", "task.accept_tolerance_bps=2000", "task.accept_score_steps=1"
    )
    assert score_tolerances(one_step)["accept_tolerance_bps"] == 2000


def test_a_declared_split_size_or_zero_steps_overrides_the_partition() -> None:
    cfg = _cfg("participants=50", "task.min_test_samples=20")
    assert score_tolerances(cfg)["tolerance_bps"] == 1000  # floor 1000: as configured
    assert score_tolerances(cfg)["peer_tolerance_bps"] == 1500
    cfg = _cfg("participants=50", "task.score_steps=0")
    assert score_tolerances(cfg)["tolerance_bps"] == 1000


def test_splits_too_small_to_judge_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    cfg = _cfg("participants=50", "dataset=breast_cancer")
    with caplog.at_level(logging.WARNING, logger="flock.spec.task"):
        assert score_tolerances(cfg)["tolerance_bps"] == 10_000
    assert "too small to judge a proposal" in caplog.text


def _base_band(*overrides: str) -> int:
    params = task_params(_cfg(*overrides), spec_hash=bytes(32), initial_model_hash=bytes(32))
    return params.base_band_bps


def test_the_base_band_follows_the_voter_band_and_leaves_dirichlet_splits_unjudged() -> None:
    # IID: the voter band's floor or 3 standard deviations of one score at its widest,
    # whichever is larger: at K = 50 (7 test samples) 5715 (4 steps) against 5670; at K = 10
    # (36 samples) 2500 against the configured 1500; a configured band below is raised to it;
    # a Dirichlet partition's members differ in class mix, so in their base scores, by more
    # than sampling noise: unjudged unless configured
    assert _base_band("participants=50") == 5715
    assert _base_band() == 2500
    assert _base_band("task.base_band_sds=0") == 1500
    assert _base_band("task.base_band_bps=1000") == 2500
    assert _base_band("task.base_band_bps=3000") == 3000
    assert _base_band("partition=dirichlet") == 10_000
    assert _base_band("partition=dirichlet", "task.base_band_bps=4000") == 4000
    # the language-model task: one topic per member, whose base losses differ by topic
    assert _base_band("+experiment=lora_lm") == 10_000


def test_voters_screening_rules_are_part_of_the_training_spec() -> None:
    assert spec_hash_of(_cfg()) != spec_hash_of(_cfg("voting.max_norm_ratio=4"))
