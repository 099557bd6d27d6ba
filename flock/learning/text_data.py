"""The text task's alliance data from the `dataset=text` config (see flock.learning.text)."""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import DictConfig

from flock.learning.text import TextHoldout, TextSplits, text_splits


def text_alliance_data(cfg: DictConfig) -> TextSplits:
    """Every member's topic split, the held-out text of each topic and the public text."""
    d = cfg.dataset
    return text_splits(
        topics=[str(t) for t in d.topics],
        public_topics=[str(t) for t in d.public_topics],
        participants=int(cfg.participants),
        block_len=int(d.block_len),
        test_bytes=int(d.test_bytes),
        holdout_bytes=int(d.holdout_bytes),
        max_topic_bytes=int(d.max_topic_bytes),
        public_max_bytes=int(d.public_max_bytes),
        seed=int(cfg.seed),
        directory=d.get("directory"),
    )


def topic_losses(make_model: Any, holdout: TextHoldout, params: torch.Tensor) -> dict[str, float]:
    """Mean token loss of the adapter `params` on each topic's held-out text."""
    from flock.learning.causal_lm import mean_token_loss
    from flock.learning.models import load_flat_params

    model = make_model()
    load_flat_params(model, params)
    model.eval()
    return {topic: mean_token_loss(model, x) for topic, x in holdout.topics.items()}


def eval_loss(make_model: Any, holdout: TextHoldout, params: torch.Tensor) -> float:
    """The mean over the members' topics of the held-out loss (a run's `eval_loss`)."""
    losses = topic_losses(make_model, holdout, params)
    return sum(losses.values()) / len(losses)
