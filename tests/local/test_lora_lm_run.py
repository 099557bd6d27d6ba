"""`flock run +experiment=lora_lm` end to end on a real checkpoint loaded from a local
directory (a tiny GPT-2 this test writes with save_pretrained): 2 rounds settle, only adapters
travel, the figures are reported (tiny model, few steps)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import safetensors.torch
from hydra import compose, initialize_config_dir

pytest.importorskip("peft", reason="transformers/peft not installed (pip install -e .)")

from flock.learning.text import corpus_missing  # noqa: E402

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")
TOPICS = ["law", "linux", "knghtbrd", "politics", "science"]
MISSING = corpus_missing([*TOPICS, "cookie"])

pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))


def _cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=["+experiment=lora_lm", *overrides])


TINY = (
    "participants=5",
    "task.rounds=2",
    "training.steps=3",
    "training.batch_size=4",
    "dataset.block_len=32",
    "dataset.holdout_bytes=1200",
    "dataset.test_bytes=1200",
    "dataset.max_topic_bytes=5000",
    f"dataset.topics=[{','.join(TOPICS)}]",
    "model.arch.n_embd=32",
    "model.arch.n_layer=1",
    "model.arch.n_head=2",
    "lm_report.solo.workers=0",  # the go-it-alone baselines in-process (no spawn in a test)
)


def test_two_rounds_on_a_checkpoint_from_a_local_directory(tmp_path: Path) -> None:
    from transformers import GPT2LMHeadModel

    from flock.learning.causal_lm import gpt2_config
    from flock.local.experiment import run
    from flock.spec import spec_hash_of

    checkpoint = tmp_path / "base"
    cfg = _cfg(*TINY, f"model.base_dir={checkpoint}")
    arch = {k: int(v) for k, v in cfg.model.arch.items()}
    GPT2LMHeadModel(gpt2_config(arch)).save_pretrained(str(checkpoint))

    summary = run(cfg, tmp_path / "run")

    assert summary["final_model_round"] == 2
    assert summary["adopted_aggregate_mismatches"] == 0
    assert math.isfinite(summary["base_eval_loss"]) and math.isfinite(summary["final_eval_loss"])
    assert "final_accuracy" not in summary  # the held-out loss is not called an accuracy
    assert (tmp_path / "run" / "metrics.csv").read_text().startswith("round,eval_loss,")
    solo = summary["single_member_eval_loss"]
    assert sorted(solo) == sorted(TOPICS) and summary["single_member_steps"] == 2 * 3
    assert summary["best_single_member_eval_loss"] == min(solo.values())
    assert summary["topics"] == 5
    assert 0 < summary["adapter_bytes"] < 16_000  # the adapter only, not the base model
    assert spec_hash_of(cfg) != spec_hash_of(_cfg(*TINY))  # the base's weights are pinned
    from hydra.utils import instantiate

    from flock.store import UpdateStore

    model = instantiate(cfg.model)
    store = UpdateStore(tmp_path / "run" / "store")
    files = sorted(store.root.glob("*.safetensors"))
    proposals = [store.get(bytes.fromhex(p.stem)) for p in files]
    named = [b.metadata["layout"] for b in proposals if "proposer" in b.metadata]
    assert named and set(named) == {model.layout_digest}  # every adapter names the spec's layout
    entries = [set(safetensors.torch.load_file(str(p))) for p in files]
    assert set(model.adapter_names) in entries  # stored by peft's tensor names
