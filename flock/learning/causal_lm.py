"""The causal language model task: a small GPT-2 (transformers) built from config or loaded
with `from_pretrained` from a local directory, with LoRA adapters (peft) as the only trained
and published parameters. transformers and peft are imported lazily (classification never
pays for them); the hub is never asked (HF_HUB_OFFLINE=1)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from flock.protocol.layout import TensorLayout

log = logging.getLogger(__name__)

BASE_WEIGHTS = "model.safetensors"


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def gpt2_config(arch: dict[str, Any]) -> Any:
    """A transformers GPT2Config from the model config's `arch` block."""
    _offline()
    from transformers import GPT2Config

    return GPT2Config(
        vocab_size=int(arch["vocab_size"]),
        n_positions=int(arch["n_positions"]),
        n_embd=int(arch["n_embd"]),
        n_layer=int(arch["n_layer"]),
        n_head=int(arch["n_head"]),
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=1,
        eos_token_id=1,
        pad_token_id=0,
    )


@functools.lru_cache(maxsize=4)
def _base_state(base_dir: str | None, arch_json: str, seed: int) -> dict[str, torch.Tensor]:
    """The base model's weights, loaded (or built) once per process."""
    model = build_base(base_dir, json.loads(arch_json), seed)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def build_base(base_dir: str | None, arch: dict[str, Any], seed: int) -> nn.Module:
    """The base GPT-2: `from_pretrained(base_dir)` (a local directory, never the hub), or built
    from `arch` with weights drawn from `seed` (every member draws the same)."""
    _offline()
    from transformers import GPT2LMHeadModel

    if base_dir is not None:
        if not Path(base_dir, BASE_WEIGHTS).is_file():
            raise FileNotFoundError(f"no base model at {base_dir} (run flock pretrain)")
        return GPT2LMHeadModel.from_pretrained(base_dir, local_files_only=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GPT2LMHeadModel(gpt2_config(arch))


def base_model_digest(base_dir: str | None, arch: dict[str, Any], seed: int) -> str:
    """SHA-256 of the base model: of its weights and config files when stored, else of the
    architecture and seed it is built from (the training spec pins it)."""
    h = hashlib.sha256()
    if base_dir is None:
        h.update(json.dumps({"arch": arch, "seed": seed}, sort_keys=True).encode())
        return h.hexdigest()
    for name in (BASE_WEIGHTS, "config.json"):
        h.update(name.encode())
        h.update(Path(base_dir, name).read_bytes())
    return h.hexdigest()


def mean_token_loss(model: nn.Module, x: torch.Tensor, *, batch_size: int = 32) -> float:
    """Mean next-token cross-entropy (nats) of causal LM `model` over the blocks `x`."""
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size]
            logits = model(input_ids=xb).logits[:, :-1].to(torch.float64)
            targets = xb[:, 1:]
            loss = nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum"
            )
            total += float(loss)
            count += targets.numel()
    return total / count


def next_token_accuracy(model: nn.Module, x: torch.Tensor, *, batch_size: int = 32) -> float:
    """Fraction of next tokens `model` predicts exactly over the blocks `x`."""
    hits, count = 0, 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size]
            predicted = model(input_ids=xb).logits[:, :-1].argmax(dim=-1)
            hits += int((predicted == xb[:, 1:]).sum())
            count += xb[:, 1:].numel()
    return hits / count


def lm_steps(
    model: nn.Module,
    params: list[nn.Parameter],
    x: torch.Tensor,
    *,
    steps: int,
    lr: float,
    batch_size: int,
    seed: int,
    weight_decay: float = 0.0,
    log_every: int = 0,
) -> float:
    """`steps` AdamW steps of next-token loss on random batches of the blocks `x`; returns the
    mean loss of the last tenth of the steps. Deterministic for `seed` (batches and dropout).
    With `log_every` > 0, logs the step and the mean loss of the last `log_every` steps."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    tail = max(1, steps // 10)
    losses: list[float] = []
    was_training = model.training
    model.train()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for _ in range(steps):
                batch = torch.randint(0, len(x), (batch_size,), generator=generator)
                opt.zero_grad(set_to_none=True)
                loss = model(input_ids=x[batch], labels=x[batch]).loss
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
                if log_every > 0 and len(losses) % log_every == 0:
                    recent = losses[-log_every:]
                    log.info("step %d/%d: loss %.4f", len(losses), steps, sum(recent) / len(recent))
    finally:
        model.train(was_training)
    return float(sum(losses[-tail:]) / tail)


class LoraCausalLM(nn.Module):
    """A base causal LM with LoRA adapters, whose *parameters are the adapter's only*: flock's
    flat-vector helpers (flatten, load, norms, aggregation, blobs) see just the adapter, in
    peft's state-dict order. The base model is held outside the module's parameters, frozen.

    Parameters
    ----------
    arch : dict
        GPT-2 shape (vocab_size, n_positions, n_embd, n_layer, n_head).
    lora : dict
        r, alpha, dropout, target_modules (peft's LoraConfig).
    base_dir : str or None
        A local directory holding a `save_pretrained` checkpoint; None builds from `arch`.
    base_seed : int
        Seed of the built base model's weights (when `base_dir` is None).
    """

    def __init__(
        self,
        *,
        arch: dict[str, Any],
        lora: dict[str, Any],
        base_dir: str | None = None,
        base_seed: int = 0,
        kind: str = "causal_lm",
    ) -> None:
        super().__init__()
        _offline()
        from peft import LoraConfig, get_peft_model
        from transformers import GPT2LMHeadModel

        arch = {k: int(v) for k, v in dict(arch).items()}
        with torch.random.fork_rng(devices=[]):
            base = GPT2LMHeadModel(gpt2_config(arch))
        base.load_state_dict(_base_state(base_dir, json.dumps(arch, sort_keys=True), base_seed))
        config = LoraConfig(
            r=int(lora["r"]),
            lora_alpha=int(lora["alpha"]),
            lora_dropout=float(lora["dropout"]),
            target_modules=list(lora["target_modules"]),
            fan_in_fan_out=True,  # GPT-2's Conv1D layers
            bias="none",
        )
        peft_model = get_peft_model(base, config)
        self.lm: Any
        object.__setattr__(self, "lm", peft_model)  # not a submodule: its weights stay out
        self.adapter_names: list[str] = []
        for name, param in peft_model.named_parameters():
            if param.requires_grad:
                self.adapter_names.append(name)
                self.register_parameter(name.replace(".", "__"), param)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None) -> Any:
        """The peft model's output (logits, and the loss when `labels` are given)."""
        return self.lm(input_ids=input_ids, labels=labels)

    def train(self, mode: bool = True) -> LoraCausalLM:
        """Set train/eval mode on the wrapped model too."""
        super().train(mode)
        self.lm.train(mode)
        return self

    @property
    def tensor_layout(self) -> TensorLayout:
        """The adapter's named-tensor layout (peft's names and shapes, in the flat order): an
        update blob of this task stores each tensor under its peft name."""
        return TensorLayout.of(zip(self.adapter_names, self.parameters(), strict=True))

    @property
    def layout_digest(self) -> str:
        """SHA-256 of :attr:`tensor_layout`: a blob of this task names it, and a voter refuses
        a blob that names another."""
        return self.tensor_layout.digest

    def adapter_state(self) -> dict[str, torch.Tensor]:
        """The adapter tensors by peft's names (what a `save_pretrained` adapter holds)."""
        return {
            n: p.detach().clone()
            for n, p in zip(self.adapter_names, self.parameters(), strict=True)
        }

    def fit_local(self, x: torch.Tensor, y: torch.Tensor, **spec: Any) -> float:
        """Train the adapter for `spec["steps"]` AdamW steps (the training spec's budget)."""
        return lm_steps(
            self,
            list(self.parameters()),
            x,
            steps=int(spec["steps"]),
            lr=float(spec["lr"]),
            batch_size=int(spec["batch_size"]),
            seed=int(spec["seed"]),
            weight_decay=float(spec.get("weight_decay", 0.0)),
        )

    def evaluate_many(
        self, flat_params: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *, metric: str
    ) -> torch.Tensor:
        """Mean token loss (or next-token accuracy) of each adapter row of `flat_params`
        applied to the base model, on the blocks `x`; float64 ``(k,)``. A non-finite adapter
        measures NaN (scored as the worst)."""
        from flock.learning.models import load_flat_params

        measure = mean_token_loss if metric == "loss" else next_token_accuracy
        results = []
        was_training = self.training
        self.eval()
        try:
            for row in flat_params:
                if not bool(torch.isfinite(row).all()):
                    results.append(math.nan)
                    continue
                load_flat_params(self, row.contiguous())
                results.append(measure(self, x))
        finally:
            self.train(was_training)
        return torch.tensor(results, dtype=torch.float64)
