"""The language-model task's figures for `flock run`: mean held-out loss over the members'
topics, per-topic improvement, the best go-it-alone member, the adapter's size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from flock.learning.text_data import eval_loss, topic_losses
from flock.local.solo import SoloResult, best_single_member

__all__ = ["eval_loss", "lm_summary", "topic_losses"]


def lm_summary(
    alliance: Any, final_params: torch.Tensor, solo: Sequence[SoloResult] | None = None
) -> dict[str, Any]:
    """base_eval_loss (the initial adapter: B = 0, the base model itself), final_eval_loss (the
    adopted model), topics_improved, best_single_member_eval_loss (the best go-it-alone
    baseline of `solo`: a member training on its own text only with one member's share of the
    schedule, see flock.local.solo; None without baselines) and adapter_bytes (the largest
    update blob of the last round with proposals)."""
    make_model, holdout = alliance.make_model, alliance.holdout
    base = topic_losses(make_model, holdout, alliance.initial[0])
    final = topic_losses(make_model, holdout, final_params)
    blob_bytes = 0
    for r in range(int(alliance.task.params.rounds), 0, -1):
        proposals = alliance.task.proposals(r)
        if proposals:
            blob_bytes = max(len(alliance.store.get_bytes(q.update_hash)) for q in proposals)
            break
    summary: dict[str, Any] = {
        "base_eval_loss": sum(base.values()) / len(base),
        "final_eval_loss": sum(final.values()) / len(final),
        "topics_improved": sum(final[t] < base[t] for t in base),
        "topics": len(base),
        "best_single_member_eval_loss": None,
        "adapter_bytes": blob_bytes,
        "adapter_params": int(alliance.num_params),
        "topic_eval_loss": {t: {"base": base[t], "final": final[t]} for t in base},
    }
    if solo:
        best = best_single_member(solo)
        summary |= {
            "best_single_member_eval_loss": best.eval_loss,
            "best_single_member_topic": best.topic,
            "single_member_steps": best.steps,
            "single_member_eval_loss": {r.topic: r.eval_loss for r in solo},
        }
    return summary
