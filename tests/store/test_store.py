"""Specifications of the content-addressed safetensors update store (flock.store)."""

from __future__ import annotations

import hashlib
import io
import pickle
import random
import stat
from pathlib import Path

import pytest
import safetensors.torch
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flock.store import (
    BlobCorruptError,
    BlobFormatError,
    BlobHashMismatchError,
    BlobNotFoundError,
    BlobTooLargeError,
    StoreError,
    UpdateBlob,
    UpdateStore,
    blob_hash,
    decode_blob,
    digest_from_hex,
    digest_from_uri,
    encode_blob,
    hash_hex,
)

LIMIT = 2**20
METADATA = {
    "proposer": "0x00000000000000000000000000000000000000aa",
    "round": "3",
    "task": "0x00000000000000000000000000000000000000bb",
    "num_samples": "216",
}


def _vector() -> torch.Tensor:
    """A vector with awkward values: signed zero, subnormal, extremes."""
    special = torch.tensor([0.0, -0.0, 1e-45, -3.4e38, 3.4e38, 1.0 / 3.0], dtype=torch.float32)
    return torch.cat([special, torch.linspace(-2, 2, 100)])


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and torch.equal(a.view(torch.int32), b.view(torch.int32))


class _TouchOnUnpickle:
    """Unpickling this object creates a marker file, revealing that pickle code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def store(tmp_path: Path) -> UpdateStore:
    return UpdateStore(tmp_path / "updates", max_bytes=LIMIT, fsync=False)


# --- encode / decode --------------------------------------------------------------------------


def test_encode_decode_roundtrip_is_bit_exact_and_keeps_metadata() -> None:
    # Prepare
    vector = _vector()

    # Execute
    blob = decode_blob(encode_blob(vector, METADATA), max_bytes=LIMIT, expected_numel=len(vector))

    # Assert
    assert isinstance(blob, UpdateBlob)
    assert _same_bits(blob.vector, vector)
    assert blob.metadata == METADATA


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=64),
    metadata=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4),
)
def test_encode_decode_roundtrips_any_finite_vector(values: list[float], metadata: dict) -> None:
    # Prepare
    vector = torch.tensor(values, dtype=torch.float32)

    # Execute
    blob = decode_blob(encode_blob(vector, metadata), max_bytes=LIMIT)

    # Assert
    assert _same_bits(blob.vector, vector)
    assert blob.metadata == metadata


def test_encoding_is_canonical_whatever_the_metadata_insertion_order() -> None:
    # Prepare
    items = list(METADATA.items())
    encodings = set()

    # Execute
    for seed in range(10):
        random.Random(seed).shuffle(items)
        encodings.add(encode_blob(_vector(), dict(items)))

    # Assert
    assert len(encodings) == 1
    assert safetensors.torch.load(encodings.pop())["update"].shape == (106,)


def test_decoded_vector_owns_its_memory() -> None:
    # Prepare
    data = bytearray(encode_blob(torch.ones(4), {}))

    # Execute
    blob = decode_blob(data, max_bytes=LIMIT)
    data[-4:] = b"\x00" * 4

    # Assert
    assert torch.equal(blob.vector, torch.ones(4))


@pytest.mark.parametrize("cut", [1, 4, 20])
def test_truncated_blob_is_corrupt(cut: int) -> None:
    # Prepare
    data = encode_blob(_vector(), METADATA)

    # Execute / Assert
    with pytest.raises(BlobCorruptError):
        decode_blob(data[:-cut], max_bytes=LIMIT)


@pytest.mark.parametrize("data", [b"", b"\x00" * 7, b"not a safetensors file at all", b"\xff" * 64])
def test_garbage_is_corrupt(data: bytes) -> None:
    # Execute / Assert
    with pytest.raises(BlobCorruptError):
        decode_blob(data, max_bytes=LIMIT)


def test_oversized_blob_is_rejected_before_parsing() -> None:
    # Prepare
    data = encode_blob(torch.zeros(1000), {})

    # Execute / Assert
    with pytest.raises(BlobTooLargeError, match=str(len(data))):
        decode_blob(data, max_bytes=len(data) - 1)
    assert decode_blob(data, max_bytes=len(data)).vector.numel() == 1000


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_a_format_error(bad: float) -> None:
    # Prepare: encode_blob refuses such vectors, so craft the file with safetensors directly
    vector = torch.zeros(8)
    vector[3] = bad
    data = safetensors.torch.save({"update": vector})

    # Execute / Assert
    with pytest.raises(BlobFormatError, match="NaN/inf"):
        decode_blob(data, max_bytes=LIMIT)
    with pytest.raises(BlobFormatError, match="NaN/inf"):
        encode_blob(vector, {})


def test_wrong_length_is_a_format_error_naming_both_counts() -> None:
    # Prepare
    data = encode_blob(torch.zeros(10), {})

    # Execute / Assert
    with pytest.raises(BlobFormatError, match=r"10 elements, expected 11"):
        decode_blob(data, max_bytes=LIMIT, expected_numel=11)


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        ({"weights": torch.zeros(3)}, "exactly one tensor"),
        ({"update": torch.zeros(3), "extra": torch.zeros(1)}, "exactly one tensor"),
        ({}, "exactly one tensor"),
        ({"update": torch.zeros(2, 3)}, "1-D"),
        ({"update": torch.zeros(3, dtype=torch.float64)}, "float32"),
        ({"update": torch.zeros(3, dtype=torch.float16)}, "float32"),
        ({"update": torch.zeros(3, dtype=torch.int32)}, "float32"),
    ],
)
def test_well_formed_files_that_are_not_updates_are_format_errors(
    tensors: dict[str, torch.Tensor], message: str
) -> None:
    # Prepare
    data = safetensors.torch.save(tensors)

    # Execute / Assert
    with pytest.raises(BlobFormatError, match=message):
        decode_blob(data, max_bytes=LIMIT)


def test_encode_rejects_non_string_metadata() -> None:
    # Execute / Assert
    with pytest.raises(BlobFormatError, match="metadata"):
        encode_blob(torch.zeros(2), {"round": 3})  # type: ignore[dict-item]


def test_pickle_payload_is_rejected_without_being_unpickled(tmp_path: Path) -> None:
    # Prepare: prove the payload would run code if unpickled
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_TouchOnUnpickle(probe)))
    assert probe.exists()
    marker = tmp_path / "marker"
    payloads = [pickle.dumps({"update": _TouchOnUnpickle(marker)})]
    buffer = io.BytesIO()
    torch.save({"update": torch.zeros(3), "hook": _TouchOnUnpickle(marker)}, buffer)
    payloads.append(buffer.getvalue())

    # Execute / Assert
    for payload in payloads:
        with pytest.raises(BlobCorruptError):
            decode_blob(payload, max_bytes=LIMIT)
    assert not marker.exists()


def test_all_store_errors_share_one_base_class() -> None:
    # Assert
    for error in (
        BlobCorruptError,
        BlobFormatError,
        BlobHashMismatchError,
        BlobNotFoundError,
        BlobTooLargeError,
    ):
        assert issubclass(error, StoreError)
    assert issubclass(StoreError, Exception)


# --- hashing ------------------------------------------------------------------------------------


def test_blob_hash_is_sha256_and_hex_form_roundtrips() -> None:
    # Prepare
    data = encode_blob(_vector(), METADATA)

    # Execute
    digest = blob_hash(data)
    text = hash_hex(digest)

    # Assert
    assert digest == hashlib.sha256(data).digest()
    assert len(digest) == 32
    assert text == "0x" + hashlib.sha256(data).hexdigest()
    assert digest_from_hex(text) == digest
    assert digest_from_hex(text[2:].upper()) == digest


@pytest.mark.parametrize("text", ["0x1234", "0x" + "zz" * 32, ""])
def test_digest_from_hex_rejects_malformed_text(text: str) -> None:
    # Execute / Assert
    with pytest.raises(ValueError):
        digest_from_hex(text)


# --- UpdateStore --------------------------------------------------------------------------------


def test_put_then_get_returns_the_bit_exact_update(store: UpdateStore) -> None:
    # Prepare
    vector = _vector()

    # Execute
    digest = store.put(vector, METADATA)
    blob = store.get(digest, expected_numel=len(vector))

    # Assert
    assert _same_bits(blob.vector, vector)
    assert blob.metadata == METADATA
    assert store.get_bytes(digest) == encode_blob(vector, METADATA)


def test_stored_file_is_named_by_the_hash_of_its_bytes(store: UpdateStore) -> None:
    # Execute
    digest = store.put(_vector(), METADATA)

    # Assert
    path = store.root / f"{digest.hex()}.safetensors"
    assert path.is_file()
    assert hashlib.sha256(path.read_bytes()).digest() == digest
    assert store.path(digest) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_uri_names_the_digest_so_another_participant_can_fetch_it(
    store: UpdateStore, tmp_path: Path
) -> None:
    # Prepare
    digest = store.put(_vector(), METADATA)
    other = UpdateStore(store.root, max_bytes=LIMIT)

    # Execute
    uri = store.uri(digest)
    fetched = other.get(digest_from_uri(uri))

    # Assert
    assert uri.startswith("file:///")
    assert uri.endswith(f"{digest.hex()}.safetensors")
    assert _same_bits(fetched.vector, _vector())


def test_uri_base_publishes_the_same_uri_wherever_the_store_lies(tmp_path: Path) -> None:
    # Prepare: two stores in different directories, publishing relative to their run dirs
    here = UpdateStore(tmp_path / "a" / "store", max_bytes=LIMIT, uri_base="store/")
    there = UpdateStore(tmp_path / "elsewhere" / "store", max_bytes=LIMIT, uri_base="store/")

    # Execute
    digest = here.put(_vector(), METADATA)
    uris = {here.uri(digest), there.uri(there.put(_vector(), METADATA))}

    # Assert: one URI (what goes on chain does not name the directory), naming the digest
    assert uris == {f"store/{digest.hex()}.safetensors"}
    assert digest_from_uri(uris.pop()) == digest


def test_put_is_idempotent_and_leaves_no_temporary_files(store: UpdateStore) -> None:
    # Execute
    first = store.put(_vector(), METADATA)
    second = store.put(_vector(), dict(reversed(list(METADATA.items()))))
    third = store.put_bytes(encode_blob(_vector(), METADATA))

    # Assert
    assert first == second == third
    assert [p.name for p in store.root.iterdir()] == [f"{first.hex()}.safetensors"]


def test_put_repairs_a_damaged_copy(store: UpdateStore) -> None:
    # Prepare
    digest = store.put(_vector(), METADATA)
    store.path(digest).write_bytes(b"damaged")

    # Execute
    assert store.put(_vector(), METADATA) == digest

    # Assert
    assert store.get(digest).metadata == METADATA


def test_tampered_file_is_detected_by_hash(store: UpdateStore) -> None:
    # Prepare: replace the content with another *valid* update
    digest = store.put(_vector(), METADATA)
    store.path(digest).write_bytes(encode_blob(torch.zeros(106), METADATA))

    # Execute / Assert
    with pytest.raises(BlobHashMismatchError, match=hash_hex(digest)):
        store.get(digest)
    with pytest.raises(BlobHashMismatchError):
        store.get_bytes(digest)


def test_single_flipped_bit_is_detected(store: UpdateStore) -> None:
    # Prepare
    digest = store.put(_vector(), METADATA)
    data = bytearray(store.path(digest).read_bytes())
    data[-1] ^= 0x01
    store.path(digest).write_bytes(bytes(data))

    # Execute / Assert
    with pytest.raises(BlobHashMismatchError):
        store.get(digest)


def test_missing_blob_is_not_found(store: UpdateStore) -> None:
    # Prepare
    digest = blob_hash(b"never stored")

    # Execute / Assert
    assert not store.exists(digest)
    with pytest.raises(BlobNotFoundError):
        store.get(digest)
    assert store.exists(store.put(torch.zeros(2), {}))


def test_store_refuses_to_publish_invalid_bytes(store: UpdateStore) -> None:
    # Prepare
    valid = encode_blob(_vector(), METADATA)

    # Execute / Assert
    with pytest.raises(BlobCorruptError):
        store.put_bytes(valid[:-3])
    with pytest.raises(BlobFormatError):
        store.put_bytes(safetensors.torch.save({"update": torch.full((2,), float("nan"))}))
    with pytest.raises(BlobTooLargeError):
        store.put(torch.zeros(LIMIT // 4 + 1), {})
    assert list(store.root.iterdir()) == []


def test_get_rejects_an_oversized_file_before_reading_it(tmp_path: Path) -> None:
    # Prepare
    big = UpdateStore(tmp_path, max_bytes=LIMIT, fsync=False)
    digest = big.put(torch.zeros(1000), {})
    small = UpdateStore(tmp_path, max_bytes=1000)

    # Execute / Assert
    with pytest.raises(BlobTooLargeError, match="limit is 1000"):
        small.get(digest)


def test_get_rejects_a_truncated_file_stored_under_its_own_hash(store: UpdateStore) -> None:
    # Prepare: an adversary publishes truncated bytes under their genuine hash
    truncated = encode_blob(_vector(), METADATA)[:-8]
    digest = blob_hash(truncated)
    store.path(digest).write_bytes(truncated)

    # Execute / Assert
    with pytest.raises(BlobCorruptError):
        store.get(digest)


def test_get_rejects_a_pickle_file_without_loading_it(store: UpdateStore, tmp_path: Path) -> None:
    # Prepare
    marker = tmp_path / "marker"
    buffer = io.BytesIO()
    torch.save({"update": torch.zeros(3), "hook": _TouchOnUnpickle(marker)}, buffer)
    payload = buffer.getvalue()
    digest = blob_hash(payload)
    store.path(digest).write_bytes(payload)

    # Execute / Assert
    with pytest.raises(BlobCorruptError):
        store.get(digest)
    assert not marker.exists()


def test_get_checks_the_expected_length(store: UpdateStore) -> None:
    # Prepare
    digest = store.put(torch.zeros(5), {})

    # Execute / Assert
    with pytest.raises(BlobFormatError, match="5 elements, expected 6"):
        store.get(digest, expected_numel=6)


@pytest.mark.parametrize("digest", [b"\x00" * 31, b"\x00" * 33, "00" * 32])
def test_store_rejects_malformed_digests(store: UpdateStore, digest) -> None:
    # Execute / Assert
    with pytest.raises(ValueError, match="32 bytes"):
        store.get(digest)
