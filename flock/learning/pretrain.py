"""`flock pretrain`: train the language-model task's base model once on the public text and
store it (`save_pretrained`, safetensors) under a directory named by its recipe; runs reuse it,
and its weights' SHA-256 enters every task's training-spec hash."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from flock.learning.causal_lm import BASE_WEIGHTS, base_model_digest, build_base, lm_steps
from flock.learning.text import blocks, public_text

log = logging.getLogger(__name__)


def recipe_key(cfg: DictConfig) -> str:
    """What the base model is made from (architecture, public text, tokenizer, pretraining
    budget and seed), hashed: the name of its directory."""
    d = cfg.dataset
    budget = dict(OmegaConf.to_container(cfg.pretrain, resolve=True))  # type: ignore[arg-type]
    budget.pop("store_dir", None)
    budget.pop("log_every", None)  # progress output, not the recipe
    recipe = {
        "arch": OmegaConf.to_container(cfg.model.arch, resolve=True),
        "public_topics": [str(t) for t in d.public_topics],
        "public_max_bytes": int(d.public_max_bytes),
        "tokenizer": str(d.tokenizer),
        "block_len": int(d.block_len),
        "pretrain": budget,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def pretrain_base(cfg: DictConfig, out_dir: Path) -> dict[str, float]:
    """Train the base GPT-2 from `model.base_seed` on the public text for `pretrain.steps`
    AdamW steps and save it to `out_dir`; return its figures (loss, seconds, tokens)."""
    p, d = cfg.pretrain, cfg.dataset
    arch = OmegaConf.to_container(cfg.model.arch, resolve=True)
    text = public_text(
        [str(t) for t in d.public_topics],
        max_bytes=int(d.public_max_bytes),
        directory=d.get("directory"),
    )
    data = blocks(text, int(d.block_len))
    model = build_base(None, arch, int(cfg.model.base_seed))  # type: ignore[arg-type]
    started = time.perf_counter()
    loss = lm_steps(
        model,
        list(model.parameters()),
        data,
        steps=int(p.steps),
        lr=float(p.lr),
        batch_size=int(p.batch_size),
        seed=int(p.seed),
        weight_decay=float(p.get("weight_decay", 0.0)),
        log_every=int(p.get("log_every", 0)),
    )
    seconds = time.perf_counter() - started
    model.save_pretrained(str(out_dir), safe_serialization=True)  # type: ignore[operator]
    return {
        "pretrain_loss": loss,
        "pretrain_seconds": seconds,
        "pretrain_tokens": float(int(p.steps) * int(p.batch_size) * int(d.block_len)),
    }


def ensure_base(cfg: DictConfig) -> str:
    """The stored base model's directory for this config's recipe, pretrained first when it is
    not there yet (written to a temporary directory, then renamed: never half a model)."""
    root = Path(str(cfg.pretrain.store_dir))
    target = root / recipe_key(cfg)
    if (target / BASE_WEIGHTS).is_file():
        log.info("base model %s reused", target)
        return str(target.resolve())
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{target.name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    log.info("pretraining the base model (%d steps) into %s", int(cfg.pretrain.steps), target)
    threads = torch.get_num_threads()
    torch.set_num_threads(int(cfg.get("torch_threads", 1)))
    try:
        figures = pretrain_base(cfg, tmp)
    finally:
        torch.set_num_threads(threads)
    (tmp / "pretrain.json").write_text(json.dumps(figures, sort_keys=True) + "\n")
    try:
        tmp.rename(target)
    except OSError:  # another process stored the same recipe first
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("base model stored: %s (%s)", target, figures)
    return str(target.resolve())


def resolve_base(cfg: DictConfig) -> DictConfig:
    """For `model=causal_lm` with a `pretrain` block and no `model.base_dir`: set base_dir to
    the stored base model (pretraining it once). Returns `cfg` (changed in place)."""
    if cfg.model.get("kind") != "causal_lm" or cfg.model.get("base_dir"):
        return cfg
    if cfg.get("pretrain") is None:
        return cfg
    base_dir = ensure_base(cfg)
    with open_dict(cfg):
        cfg.model.base_dir = base_dir
    arch = OmegaConf.to_container(cfg.model.arch, resolve=True)
    log.info("base model sha256 %s", base_model_digest(base_dir, arch, 0)[:16])  # type: ignore[arg-type]
    return cfg
