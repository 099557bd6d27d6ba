"""Named update blobs (a LoRA adapter): each tensor stored under its name, the blob naming its
layout; decoding refuses a blob whose tensors are not the layout it names, so a reader that
compares the named digest with its spec's has checked every tensor's name and shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import safetensors.torch
import torch

from flock.protocol.layout import TensorLayout
from flock.store import BlobFormatError, UpdateStore, decode_blob, encode_blob
from flock.store.blob import LAYOUT_ENTRIES_KEY, LAYOUT_KEY, TENSOR_NAME

LAYOUT = TensorLayout((("layer.0.lora_A", (2, 3)), ("layer.0.lora_B", (3, 2)), ("bias", (4,))))
LIMIT = 2**20


def _vector() -> torch.Tensor:
    return torch.arange(LAYOUT.numel, dtype=torch.float32) / 7


def _raw(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    return safetensors.torch.save(tensors, metadata=metadata)


def test_a_named_blob_stores_each_tensor_under_its_name_and_round_trips() -> None:
    vector = _vector()
    data = encode_blob(vector, {"round": "1"}, layout=LAYOUT)
    stored = safetensors.torch.load(data)
    assert sorted(stored) == sorted(name for name, _ in LAYOUT.entries)
    assert torch.equal(stored["layer.0.lora_B"], vector[6:12].reshape(3, 2))
    blob = decode_blob(data, max_bytes=LIMIT, expected_numel=LAYOUT.numel)
    assert torch.equal(blob.vector, vector)
    assert blob.metadata[LAYOUT_KEY] == LAYOUT.digest
    assert TensorLayout.from_json(blob.metadata[LAYOUT_ENTRIES_KEY]) == LAYOUT
    assert data == encode_blob(vector.clone(), {"round": "1"}, layout=LAYOUT)  # canonical


def test_the_layout_digest_follows_names_shapes_and_order() -> None:
    renamed = TensorLayout((("layer.0.lora_a", (2, 3)), *LAYOUT.entries[1:]))
    reshaped = TensorLayout((("layer.0.lora_A", (3, 2)), *LAYOUT.entries[1:]))
    reordered = TensorLayout((LAYOUT.entries[1], LAYOUT.entries[0], LAYOUT.entries[2]))
    digests = {t.digest for t in (LAYOUT, renamed, reshaped, reordered)}
    assert len(digests) == 4


def test_tensors_other_than_the_named_layout_are_refused() -> None:
    tensors = LAYOUT.split(_vector())
    meta = {LAYOUT_KEY: LAYOUT.digest, LAYOUT_ENTRIES_KEY: LAYOUT.to_json()}
    missing = {k: v for k, v in tensors.items() if k != "bias"}
    with pytest.raises(BlobFormatError, match="missing"):
        decode_blob(_raw(missing, meta), max_bytes=LIMIT)
    extra = tensors | {"smuggled": torch.zeros(1)}
    with pytest.raises(BlobFormatError, match="extra"):
        decode_blob(_raw(extra, meta), max_bytes=LIMIT)
    reshaped = tensors | {"layer.0.lora_A": tensors["layer.0.lora_A"].reshape(3, 2)}
    with pytest.raises(BlobFormatError, match="shape"):
        decode_blob(_raw(reshaped, meta), max_bytes=LIMIT)
    doubled = tensors | {"bias": tensors["bias"].double()}
    with pytest.raises(BlobFormatError, match="float32"):
        decode_blob(_raw(doubled, meta), max_bytes=LIMIT)


def test_a_blob_naming_one_layout_and_holding_another_is_refused() -> None:
    other = TensorLayout((("layer.0.lora_A", (3, 2)), *LAYOUT.entries[1:]))
    tensors = other.split(_vector())
    lying = {LAYOUT_KEY: LAYOUT.digest, LAYOUT_ENTRIES_KEY: other.to_json()}
    with pytest.raises(BlobFormatError, match="names layout"):
        decode_blob(_raw(tensors, lying), max_bytes=LIMIT)
    with pytest.raises(BlobFormatError, match="no readable tensor layout"):
        decode_blob(_raw(tensors, {LAYOUT_KEY: other.digest}), max_bytes=LIMIT)
    with pytest.raises(BlobFormatError, match="no readable tensor layout"):
        garbled = {LAYOUT_KEY: "x", LAYOUT_ENTRIES_KEY: json.dumps({"a": 1})}
        decode_blob(_raw(tensors, garbled), max_bytes=LIMIT)


def test_a_flat_blob_cannot_claim_a_layout() -> None:
    flat = {TENSOR_NAME: _vector()}
    with pytest.raises(BlobFormatError):
        decode_blob(_raw(flat, {LAYOUT_KEY: LAYOUT.digest}), max_bytes=LIMIT)
    with pytest.raises(BlobFormatError, match="must not name"):
        encode_blob(_vector(), {LAYOUT_KEY: LAYOUT.digest})
    with pytest.raises(BlobFormatError, match="another tensor layout"):
        encode_blob(_vector(), {LAYOUT_KEY: "0" * 64}, layout=LAYOUT)


def test_non_finite_adapter_values_are_refused() -> None:
    bad = _vector()
    bad[3] = float("nan")
    data = _raw(
        LAYOUT.split(bad), {LAYOUT_KEY: LAYOUT.digest, LAYOUT_ENTRIES_KEY: LAYOUT.to_json()}
    )
    with pytest.raises(BlobFormatError, match="NaN"):
        decode_blob(data, max_bytes=LIMIT)


@pytest.mark.parametrize(
    "entries",
    [(), (("a", (2,)), ("a", (2,))), (("a", (0,)),), (("", (1,)),), (("a", ()),)],
)
def test_an_invalid_layout_is_refused(entries: tuple) -> None:
    with pytest.raises(ValueError):
        TensorLayout(entries)


def test_the_store_serves_named_blobs_by_their_hash(tmp_path: Path) -> None:
    store = UpdateStore(tmp_path)
    digest = store.put_bytes(encode_blob(_vector(), {"kind": "adapter"}, layout=LAYOUT))
    blob = store.get(digest, expected_numel=LAYOUT.numel)
    assert torch.equal(blob.vector, _vector()) and blob.metadata[LAYOUT_KEY] == LAYOUT.digest
