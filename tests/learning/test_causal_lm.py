"""The causal-LM task's pieces: byte tokenizer, topic splits, LoRA adapter as the only flat
parameters, adapter blob round trip, loss evaluation (tiny model, no hub)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("peft", reason="transformers/peft not installed (pip install -e .)")

from flock.attacks.data import GarbageText  # noqa: E402
from flock.learning.causal_lm import LoraCausalLM, base_model_digest  # noqa: E402
from flock.learning.models import flatten_params, load_flat_params, num_params  # noqa: E402
from flock.learning.text import (  # noqa: E402
    VOCAB_SIZE,
    corpus_missing,
    decode,
    encode,
    split_entries,
    text_splits,
)
from flock.learning.training import evaluate_many, train_model  # noqa: E402
from flock.store import UpdateStore  # noqa: E402

ARCH = {"vocab_size": VOCAB_SIZE, "n_positions": 32, "n_embd": 32, "n_layer": 1, "n_head": 2}
LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["c_attn"]}


def _model() -> LoraCausalLM:
    return LoraCausalLM(arch=ARCH, lora=LORA, base_seed=0)


def test_byte_ids_are_byt5s() -> None:
    from transformers import ByT5Tokenizer

    text = "Law: 42 ¶ ünïcode\n"
    ids = ByT5Tokenizer(extra_ids=0)(text, add_special_tokens=False)["input_ids"]
    assert list(encode(text)) == ids
    assert decode(encode(text)) == text


def test_entries_are_dealt_whole_into_sized_parts() -> None:
    entries = [f"entry {i}\n" * (i % 5 + 1) for i in range(200)]
    held, test, rest = split_entries(entries, seed=1, sizes=[500, 500, 0])
    assert sorted(held + test + rest) == sorted(entries)
    assert sum(map(len, held)) >= 500 and sum(map(len, test)) >= 500


def test_only_the_adapter_is_a_parameter_and_it_round_trips() -> None:
    torch.manual_seed(0)
    model = _model()
    lora_a = ARCH["n_layer"] * LORA["r"] * ARCH["n_embd"]
    lora_b = ARCH["n_layer"] * 3 * ARCH["n_embd"] * LORA["r"]
    assert num_params(model) == lora_a + lora_b
    flat = flatten_params(model) + 0.01
    other = _model()
    load_flat_params(other, flat)
    assert torch.equal(flatten_params(other), flat)
    assert all("lora_" in name for name in model.adapter_state())


def test_adapter_blob_round_trips_through_the_store(tmp_path) -> None:
    flat = flatten_params(_model())
    store = UpdateStore(tmp_path)
    digest = store.put(flat, {"kind": "adapter"})
    blob = store.get(digest, expected_numel=flat.numel())
    assert torch.equal(blob.vector, flat)
    assert len(store.get_bytes(digest)) < 8 * flat.numel() + 1024


def test_training_the_adapter_lowers_the_loss_and_leaves_the_base_alone() -> None:
    torch.manual_seed(0)
    model = _model()
    x = torch.randint(3, 40, (16, 32))  # a narrow alphabet: easy to learn
    start = flatten_params(model)
    base_before = {k: v.clone() for k, v in model.lm.named_parameters() if "lora_" not in k}
    before = evaluate_many(model, start[None], x, x, metric="loss")
    train_model(model, x, x, steps=20, lr=0.01, batch_size=8, seed=0, epochs=1)
    after = evaluate_many(model, flatten_params(model)[None], x, x, metric="loss")
    assert float(after[0]) < float(before[0])
    for k, v in model.lm.named_parameters():
        if "lora_" not in k:
            assert torch.equal(v, base_before[k])


def test_a_non_finite_adapter_measures_nan() -> None:
    model = _model()
    bad = torch.full((1, num_params(model)), float("nan"))
    assert torch.isnan(evaluate_many(model, bad, torch.ones(2, 32, dtype=torch.int64), None))  # type: ignore[arg-type]


def test_the_base_digest_pins_a_stored_checkpoint(tmp_path) -> None:
    from transformers import GPT2LMHeadModel

    from flock.learning.causal_lm import gpt2_config

    GPT2LMHeadModel(gpt2_config(ARCH)).save_pretrained(str(tmp_path))
    first = base_model_digest(str(tmp_path), ARCH, 0)
    assert first == base_model_digest(str(tmp_path), ARCH, 0)
    assert first != base_model_digest(None, ARCH, 0)
    model = LoraCausalLM(arch=ARCH, lora=LORA, base_dir=str(tmp_path))
    assert num_params(model) == num_params(_model())


def test_garbage_text_keeps_the_shape_and_destroys_the_order() -> None:
    x = torch.arange(3, 3 + 64).reshape(2, 32)
    shuffled, labels = GarbageText(mode="shuffle", seed=0).training_data(x, x)
    assert shuffled.shape == x.shape and torch.equal(shuffled, labels)
    assert sorted(shuffled.reshape(-1).tolist()) == x.reshape(-1).tolist()
    assert not torch.equal(shuffled, x)


@pytest.mark.skipif(
    corpus_missing(["law", "linux", "cookie"]) is not None,
    reason=str(corpus_missing(["law", "linux", "cookie"])),
)
def test_each_member_gets_its_topic_with_a_holdout_and_a_test_split() -> None:
    splits = text_splits(
        topics=["law", "linux"],
        public_topics=["cookie"],
        participants=2,
        block_len=64,
        test_bytes=4000,
        holdout_bytes=4000,
        max_topic_bytes=20000,
        public_max_bytes=10000,
        seed=0,
    )
    assert [p.topic for p in splits.participants] == ["law", "linux"]
    assert set(splits.holdout.topics) == {"law", "linux"}
    assert all(p.num_test >= 4000 // 64 for p in splits.participants)
    assert 10000 <= len(splits.public_text) < 12000 + 2000


def test_the_layout_digest_names_the_adapter_shape() -> None:
    assert _model().layout_digest == _model().layout_digest
    other = LoraCausalLM(arch=ARCH, lora=LORA | {"r": 2}, base_seed=0)
    assert other.layout_digest != _model().layout_digest


def test_a_voter_refuses_an_adapter_stored_under_another_layout(tmp_path) -> None:
    from flock.attacks import VoterBehaviour
    from flock.protocol.types import Proposal
    from flock.roles import RoleContext, Voter
    from flock.store import StoreError, encode_blob

    model, other = _model(), LoraCausalLM(arch=ARCH, lora={**LORA, "r": 2}, base_seed=0)
    store = UpdateStore(tmp_path)
    ctx = RoleContext(None, None, store, _model, num_params(model), layout=model.tensor_layout)  # type: ignore[arg-type]
    voter = Voter(ctx, VoterBehaviour(), seed=0)
    proposer = "0x" + "11" * 20

    def proposal(layout) -> Proposal:
        vector = torch.zeros(layout.numel)
        meta = {"proposer": proposer, "round": "1"}
        digest = store.put_bytes(encode_blob(vector, meta, layout=layout))
        return Proposal(1, proposer, 0, digest, 1, store.uri(digest))

    assert voter._fetch(proposal(model.tensor_layout)).numel() == num_params(model)
    # the same number of values under other names and shapes is not the spec's adapter
    renamed = type(model.tensor_layout)(
        tuple((f"x.{name}", shape) for name, shape in model.tensor_layout.entries)
    )
    with pytest.raises(StoreError, match="layout"):
        voter._fetch(proposal(renamed))
    with pytest.raises(StoreError):  # another rank: another length too
        voter._fetch(proposal(other.tensor_layout))


def test_the_base_models_recipe_names_what_it_is_made_of_not_where_or_how_loudly() -> None:
    from pathlib import Path

    from hydra import compose, initialize_config_dir

    from flock.learning.pretrain import recipe_key

    configs = str(Path(__file__).resolve().parents[2] / "configs")
    with initialize_config_dir(config_dir=configs, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+experiment=lora_lm"])
    key = recipe_key(cfg)
    cfg.pretrain.log_every = 7
    cfg.pretrain.store_dir = "elsewhere"
    assert recipe_key(cfg) == key
    cfg.pretrain.steps = int(cfg.pretrain.steps) + 1
    assert recipe_key(cfg) != key
