"""The language-model task's go-it-alone baseline (best_single_member_eval_loss): each member
trains alone on its own text with one member's share of the schedule, reproducibly wherever it
trains (tiny model, no hub)."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

pytest.importorskip("peft", reason="transformers/peft not installed (pip install -e .)")

from flock.learning.causal_lm import LoraCausalLM, mean_token_loss  # noqa: E402
from flock.learning.models import flatten_params, load_flat_params  # noqa: E402
from flock.learning.text import VOCAB_SIZE  # noqa: E402
from flock.local.solo import (  # noqa: E402
    SoloBaselines,
    SoloPlan,
    SoloResult,
    best_single_member,
    solo_steps,
)

ARCH = {"vocab_size": VOCAB_SIZE, "n_positions": 16, "n_embd": 16, "n_layer": 1, "n_head": 2}
LORA = {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["c_attn"]}
MODEL = {"_target_": "flock.learning.causal_lm.LoraCausalLM", "arch": ARCH, "lora": LORA}
TRAINING = {"epochs": 1, "lr": 0.01, "batch_size": 4, "optimizer": "adam", "steps": 6}


def _members() -> list[tuple[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    # two "topics": each member's blocks repeat its own few byte ids, so training alone helps it
    return [
        (name, torch.randint(lo, lo + 4, (12, 16), generator=g))
        for name, lo in (("odd", 40), ("even", 90))
    ]


def _holdout(members: list[tuple[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {topic: x[:4] for topic, x in members}


def _initial() -> torch.Tensor:
    return flatten_params(LoraCausalLM(arch=ARCH, lora=LORA))


def test_the_budget_is_one_members_schedule_unless_configured() -> None:
    cfg = OmegaConf.create(
        {"task": {"rounds": 5}, "training": {"steps": 40}, "lm_report": {"solo": {"steps": None}}}
    )
    assert solo_steps(cfg) == 200
    cfg.lm_report.solo.steps = 7
    assert solo_steps(cfg) == 7
    cfg.lm_report.solo.steps = 0
    with pytest.raises(ValueError, match="lm_report.solo.steps"):
        solo_steps(cfg)


def test_a_member_alone_learns_its_own_topic() -> None:
    members = _members()
    plan, initial = SoloPlan(model=MODEL, training=TRAINING, threads=1), _initial()
    solo = SoloBaselines(plan, members, initial, _holdout(members), seed=0, workers=0).results()
    model = LoraCausalLM(arch=ARCH, lora=LORA)
    load_flat_params(model, initial)
    for result, (topic, x) in zip(solo, members, strict=True):
        assert (result.member, result.topic, result.steps) == (solo.index(result), topic, 6)
        assert result.topic_eval_loss[topic] < mean_token_loss(model, x[:4])
        assert result.eval_loss == pytest.approx(sum(result.topic_eval_loss.values()) / 2)


def test_the_figures_do_not_depend_on_where_the_baselines_train() -> None:
    members = _members()
    plan, initial = SoloPlan(model=MODEL, training=TRAINING, threads=1), _initial()
    here = SoloBaselines(plan, members, initial, _holdout(members), seed=3, workers=0)
    spawned = SoloBaselines(plan, members, initial, _holdout(members), seed=3, workers=1)
    assert spawned.results() == here.results()  # a spawned worker process trains bit for bit alike


def test_the_best_member_has_the_lowest_loss_and_ties_go_to_the_lowest_index() -> None:
    def result(member: int, loss: float) -> SoloResult:
        return SoloResult(member, f"t{member}", 1, loss, {f"t{member}": loss})

    assert best_single_member([result(0, 2.5), result(1, 2.4), result(2, 2.6)]).member == 1
    assert best_single_member([result(0, 2.4), result(1, 2.4)]).member == 0
    with pytest.raises(ValueError):
        best_single_member([])
    with pytest.raises(ValueError, match="workers"):
        SoloBaselines(SoloPlan(MODEL, TRAINING, 1), [], _initial(), {}, seed=0, workers=-1)
