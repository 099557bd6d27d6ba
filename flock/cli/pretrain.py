"""`flock pretrain`: train and store the language-model task's base model once (Hydra app)."""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def pretrain_app(cfg: DictConfig) -> None:
    """Store the base model of `model=causal_lm` (e.g. `flock pretrain +experiment=lora_lm`)
    under `pretrain.store_dir`; print its directory, SHA-256 and pretraining figures."""
    import torch

    from flock.learning.causal_lm import base_model_digest
    from flock.learning.pretrain import ensure_base

    if cfg.model.get("kind") != "causal_lm" or cfg.get("pretrain") is None:
        raise SystemExit("flock pretrain needs model=causal_lm and a pretrain block")
    torch.set_num_threads(int(cfg.torch_threads))
    base_dir = ensure_base(cfg)
    arch = OmegaConf.to_container(cfg.model.arch, resolve=True)
    print(f"base_dir: {base_dir}")
    print(f"base_sha256: {base_model_digest(base_dir, arch, 0)}")  # type: ignore[arg-type]
    figures = Path(base_dir, "pretrain.json")
    if figures.is_file():
        for key, value in sorted(json.loads(figures.read_text()).items()):
            print(f"{key}: {value:.4f}")
