"""The language-model task's figures for `flock run`: mean held-out loss over the members'
topics, per-topic improvement, the best single member's adapter, the adapter's size."""

from __future__ import annotations

from typing import Any

import torch

from flock.learning.text_data import eval_loss, topic_losses

__all__ = ["eval_loss", "lm_summary", "topic_losses"]


def lm_summary(alliance: Any, final_params: torch.Tensor) -> dict[str, Any]:
    """base_eval_loss (the initial adapter: B = 0, the base model itself), final_eval_loss (the
    adopted model), topics_improved, best_single_member_eval_loss (the best of the honest
    proposals of the last round that had one, each applied alone) and adapter_bytes (one update
    blob)."""
    make_model, holdout = alliance.make_model, alliance.holdout
    base = topic_losses(make_model, holdout, alliance.initial[0])
    final = topic_losses(make_model, holdout, final_params)
    honest = {m.address.lower() for m in alliance.members if m.proposer_behaviour == "honest"}
    best: float | None = None
    blob_bytes = 0
    for r in range(int(alliance.task.params.rounds), 0, -1):
        proposals = alliance.task.proposals(r)
        if not proposals:
            continue
        for q in proposals:
            blob_bytes = max(blob_bytes, len(alliance.store.get_bytes(q.update_hash)))
            if q.proposer.lower() in honest:
                vector = alliance.store.get(q.update_hash).vector
                loss = eval_loss(make_model, holdout, vector)
                best = loss if best is None else min(best, loss)
        if best is not None:  # the last round with an honest proposal
            break
    return {
        "base_eval_loss": sum(base.values()) / len(base),
        "final_eval_loss": sum(final.values()) / len(final),
        "topics_improved": sum(final[t] < base[t] for t in base),
        "topics": len(base),
        "best_single_member_eval_loss": best,
        "adapter_bytes": blob_bytes,
        "adapter_params": int(alliance.num_params),
        "topic_eval_loss": {t: {"base": base[t], "final": final[t]} for t in base},
    }
