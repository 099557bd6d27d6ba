"""The language-model task's go-it-alone baseline (`best_single_member_eval_loss`): each member
trains an adapter on its own private text only, from the task's initial adapter, with the
compute the alliance's schedule gives one member (`rounds x training.steps` optimizer steps by
default), and is measured like the alliance's model: the mean held-out loss over all member
topics. The best member's figure is what the alliance has to beat.

The baselines run beside the alliance in `workers` spawned processes (a local run holds one core;
the other trains the baselines), or in-process after it (`workers: 0`). Each member's training
seed is fixed by the run's seed and the member's index, so the figures do not depend on which
worker trains whom, or when.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch

log = logging.getLogger(__name__)

#: Offset of the baselines' training seeds from the proposers' (`seed * 100_003 + round`).
SOLO_SEED_OFFSET = 50_000


@dataclass(frozen=True)
class SoloPlan:
    """What every member's baseline trains with (the `lm_report.solo` config, resolved)."""

    model: dict[str, Any]  #: the model config (`_target_` and arguments), base_dir resolved
    training: dict[str, Any]  #: the training spec's keyword arguments, `steps` the solo budget
    threads: int  #: torch threads of a worker


@dataclass(frozen=True)
class SoloResult:
    """One member's baseline: its topic, the steps it trained, its held-out losses."""

    member: int
    topic: str
    steps: int
    eval_loss: float  #: mean over the member topics' held-out text (as `final_eval_loss`)
    topic_eval_loss: dict[str, float]


def solo_steps(cfg: Any) -> int:
    """The baseline's optimizer steps: `lm_report.solo.steps`, or `task.rounds x training.steps`
    (the steps one member would train if it held the proposer role in every round)."""
    configured = cfg.lm_report.solo.get("steps")
    steps = (
        int(configured)
        if configured is not None
        else int(cfg.task.rounds) * int(cfg.training.steps)
    )
    if steps < 1:
        raise ValueError(f"lm_report.solo.steps must be >= 1, got {steps}")
    return steps


def plan_from_config(cfg: Any) -> SoloPlan:
    """The baselines' plan from a resolved run config (after `resolve_base`)."""
    from omegaconf import OmegaConf

    training = OmegaConf.to_container(cfg.training, resolve=True)
    assert isinstance(training, dict)
    training["steps"] = solo_steps(cfg)
    model = OmegaConf.to_container(cfg.model, resolve=True)
    assert isinstance(model, dict)
    return SoloPlan(
        model={str(k): v for k, v in model.items()},
        training={str(k): v for k, v in training.items()},
        threads=int(cfg.lm_report.solo.threads),
    )


def train_alone(
    plan: SoloPlan,
    member: int,
    topic: str,
    x_train: torch.Tensor,
    initial: torch.Tensor,
    holdout: dict[str, torch.Tensor],
    seed: int,
) -> SoloResult:
    """Train member `member`'s adapter on `x_train` alone from `initial` and measure it on
    every topic's held-out blocks (`holdout`). Runs in a worker process or in-process."""
    from hydra.utils import instantiate

    from flock.learning.causal_lm import mean_token_loss
    from flock.learning.models import load_flat_params
    from flock.learning.training import train_model

    torch.set_num_threads(plan.threads)
    model = instantiate(plan.model)
    load_flat_params(model, initial)
    train_model(model, x_train, x_train, **plan.training, seed=seed)
    model.eval()
    losses = {t: mean_token_loss(model, x) for t, x in holdout.items()}
    return SoloResult(
        member=member,
        topic=topic,
        steps=int(plan.training["steps"]),
        eval_loss=sum(losses.values()) / len(losses),
        topic_eval_loss=losses,
    )


class SoloBaselines:
    """Every member's go-it-alone baseline, started beside the alliance and collected after it.

    Parameters
    ----------
    plan : SoloPlan
        Model, training budget and threads.
    members : sequence of (topic, x_train)
        Each member's topic and private training blocks, by member index.
    initial : torch.Tensor
        The task's initial adapter (every member starts from it).
    holdout : dict of str to torch.Tensor
        Every member topic's held-out blocks (reporting only).
    seed : int
        The run's seed; member `i` trains with `seed * 100_003 + SOLO_SEED_OFFSET + i`.
    workers : int
        Spawned worker processes; 0 trains in-process when `results` is called.
    """

    def __init__(
        self,
        plan: SoloPlan,
        members: Sequence[tuple[str, torch.Tensor]],
        initial: torch.Tensor,
        holdout: dict[str, torch.Tensor],
        *,
        seed: int,
        workers: int,
    ) -> None:
        if workers < 0:
            raise ValueError(f"lm_report.solo.workers must be >= 0, got {workers}")
        self._jobs = [
            (plan, i, topic, x, initial, holdout, seed * 100_003 + SOLO_SEED_OFFSET + i)
            for i, (topic, x) in enumerate(members)
        ]
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future[SoloResult]] = []
        if workers:
            context = multiprocessing.get_context("spawn")  # no forked torch or chain state
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
            self._futures = [self._pool.submit(train_alone, *job) for job in self._jobs]
            log.info(
                "training %d go-it-alone baselines (%d steps each) in %d worker process(es)",
                len(self._jobs), plan.training["steps"], workers,
            )  # fmt: skip

    def results(self) -> list[SoloResult]:
        """Every member's baseline, by member index (waits for the workers)."""
        if self._pool is None:
            log.info("training %d go-it-alone baselines in-process", len(self._jobs))
            return [train_alone(*job) for job in self._jobs]
        try:
            return [f.result() for f in self._futures]
        finally:
            self.close()

    def close(self) -> None:
        """Stop the workers (cancelling baselines not started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def best_single_member(results: Sequence[SoloResult]) -> SoloResult:
    """The baseline with the lowest mean held-out loss (the lowest index on a tie)."""
    if not results:
        raise ValueError("no go-it-alone baseline to choose from")
    return min(results, key=lambda r: (r.eval_loss, r.member))
