"""The update blob: safetensors bytes (never pickle) named by their SHA-256; the store errors."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import safetensors.torch
import torch
from safetensors import SafetensorError

from flock.protocol.layout import TensorLayout

logger = logging.getLogger(__name__)

TENSOR_NAME = "update"
"""The single tensor of an update blob of a model without a named-tensor layout."""
LAYOUT_KEY = "layout"
"""Metadata key of a named blob's layout digest (:attr:`TensorLayout.digest`)."""
LAYOUT_ENTRIES_KEY = "tensor_layout"
"""Metadata key of a named blob's layout itself (:meth:`TensorLayout.to_json`)."""
FILE_SUFFIX = ".safetensors"
DIGEST_SIZE = 32
DEFAULT_MAX_BYTES = 64 * 2**20
DEFAULT_FILE_MODE = 0o644
_HEADER_LEN_BYTES = 8  # safetensors: little-endian u64 header length prefix
_HEADER_ALIGN = 8  # safetensors pads the JSON header so tensor data is 8-byte aligned


class StoreError(Exception):
    """Base class of every error raised by the update store."""


class BlobTooLargeError(StoreError):
    """The blob exceeds the configured size limit."""


class BlobCorruptError(StoreError):
    """The bytes are not a well-formed safetensors file (truncated, garbage, pickle, ...)."""


class BlobFormatError(StoreError):
    """Well-formed safetensors, but not a valid update (names, shape, dtype, values)."""


class BlobNotFoundError(StoreError):
    """No blob with the requested digest is stored."""


class BlobHashMismatchError(StoreError):
    """The stored bytes do not hash to the digest they were requested by."""


@dataclass(frozen=True, eq=False)
class UpdateBlob:
    """A decoded model update.

    Attributes
    ----------
    vector : torch.Tensor
        1-D float32 flat parameter (or delta) vector, finite.
    metadata : dict of str to str
        Free-form provenance, e.g. proposer address, round, task address, num_samples.
    """

    vector: torch.Tensor
    metadata: dict[str, str]


def blob_hash(data: bytes) -> bytes:
    """Return the 32-byte SHA-256 digest that addresses ``data``.

    Parameters
    ----------
    data : bytes
        Encoded blob.

    Returns
    -------
    bytes
        32-byte digest (fits a Solidity ``bytes32``).
    """
    return hashlib.sha256(data).digest()


def hash_hex(digest: bytes) -> str:
    """Format a 32-byte digest as a ``"0x"``-prefixed lowercase hex string.

    Parameters
    ----------
    digest : bytes
        32-byte digest.

    Returns
    -------
    str
        ``"0x"`` followed by 64 hex characters.
    """
    return "0x" + _check_digest(digest).hex()


def digest_from_hex(text: str) -> bytes:
    """Parse a 64-hex-character digest, with or without ``"0x"`` prefix.

    Parameters
    ----------
    text : str
        Hex digest as produced by :func:`hash_hex`.

    Returns
    -------
    bytes
        The 32-byte digest.
    """
    body = text[2:] if text[:2].lower() == "0x" else text
    try:
        digest = bytes.fromhex(body)
    except ValueError:
        raise ValueError(f"not a hex digest: {text!r}") from None
    return _check_digest(digest)


def _check_digest(digest: bytes) -> bytes:
    if not isinstance(digest, bytes | bytearray) or len(digest) != DIGEST_SIZE:
        raise ValueError(f"digest must be {DIGEST_SIZE} bytes, got {digest!r}")
    return bytes(digest)


def _validate_vector(vector: Any, expected_numel: int | None = None) -> torch.Tensor:
    if not isinstance(vector, torch.Tensor):
        raise BlobFormatError(f"update must be a torch.Tensor, got {type(vector).__name__}")
    if vector.ndim != 1:
        raise BlobFormatError(f"update must be 1-D, got shape {tuple(vector.shape)}")
    if vector.dtype != torch.float32:
        raise BlobFormatError(f"update must be float32, got {vector.dtype}")
    if expected_numel is not None and vector.numel() != expected_numel:
        raise BlobFormatError(f"update has {vector.numel()} elements, expected {expected_numel}")
    if not bool(torch.isfinite(vector).all()):
        raise BlobFormatError("update contains NaN/inf values")
    return vector


def _validate_metadata(metadata: Any) -> dict[str, str]:
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise BlobFormatError("metadata must be a dict of str to str")
    return dict(metadata)


def _split_header(data: bytes) -> tuple[dict[str, Any], bytes]:
    """Return the parsed JSON header and the tensor byte buffer of a safetensors blob."""
    header_len = int.from_bytes(data[:_HEADER_LEN_BYTES], "little")
    raw = data[_HEADER_LEN_BYTES : _HEADER_LEN_BYTES + header_len]

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise BlobCorruptError("duplicate keys in safetensors header")
        return dict(pairs)

    try:
        header = json.loads(raw, object_pairs_hook=no_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BlobCorruptError(f"unreadable safetensors header: {exc}") from None
    if not isinstance(header, dict):
        raise BlobCorruptError("safetensors header is not a JSON object")
    return header, data[_HEADER_LEN_BYTES + header_len :]


def encode_blob(
    vector: torch.Tensor, metadata: dict[str, str], *, layout: TensorLayout | None = None
) -> bytes:
    """Serialise an update to canonical safetensors bytes.

    ``safetensors`` writes metadata in hash-map order, which varies between calls;
    the JSON header is therefore rewritten with sorted keys (same padding rules),
    so equal ``(vector, metadata, layout)`` always give equal bytes and hence equal digests.

    Parameters
    ----------
    vector : torch.Tensor
        1-D, finite float32 tensor (moved to CPU).
    metadata : dict of str to str
        Provenance strings stored in the header.
    layout : TensorLayout, optional
        The model's named-tensor layout (a LoRA adapter): each tensor is stored under its
        name, and the metadata names the layout (``layout``: its digest, ``tensor_layout``:
        the layout itself). None: one flat tensor named ``"update"``.

    Returns
    -------
    bytes
        A safetensors file.

    Raises
    ------
    BlobFormatError
        If ``vector`` or ``metadata`` is invalid, the vector does not fill the layout, or the
        metadata names another layout.
    """
    vec = _validate_vector(vector, None if layout is None else layout.numel).detach().cpu()
    meta = _validate_metadata(metadata)
    if layout is None:
        if LAYOUT_KEY in meta or LAYOUT_ENTRIES_KEY in meta:
            raise BlobFormatError("a flat update blob must not name a tensor layout")
        tensors = {TENSOR_NAME: vec.contiguous()}
    else:
        if meta.get(LAYOUT_KEY, layout.digest) != layout.digest:
            raise BlobFormatError("metadata names another tensor layout than the one encoded")
        meta |= {LAYOUT_KEY: layout.digest, LAYOUT_ENTRIES_KEY: layout.to_json()}
        tensors = layout.split(vec)
    raw = safetensors.torch.save(tensors, metadata=meta)
    header, body = _split_header(raw)
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    header_bytes = canonical.encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % _HEADER_ALIGN)
    return len(header_bytes).to_bytes(_HEADER_LEN_BYTES, "little") + header_bytes + body


def decode_blob(data: bytes, *, max_bytes: int, expected_numel: int | None = None) -> UpdateBlob:
    """Parse and validate untrusted update bytes.

    Only ``safetensors.torch.load`` is used; nothing is ever unpickled. A flat blob holds one
    tensor named ``"update"`` and names no layout; a named blob holds exactly the tensors its
    ``tensor_layout`` lists, with those shapes, and its ``layout`` is that layout's digest, so
    a reader that compares ``metadata["layout"]`` with its spec's digest has checked every
    tensor's name and shape. The vector is the tensors flattened in the layout's order.

    Parameters
    ----------
    data : bytes
        Encoded blob.
    max_bytes : int
        Size limit, checked before parsing.
    expected_numel : int, optional
        Required vector length (the model's parameter count).

    Returns
    -------
    UpdateBlob
        Vector (an owned copy) and metadata.

    Raises
    ------
    BlobTooLargeError
        ``len(data) > max_bytes``.
    BlobCorruptError
        Not parseable as safetensors (truncation, garbage, pickle, ...).
    BlobFormatError
        Not one float32 tensor named ``"update"`` nor exactly the tensors of the layout it
        names, a layout whose digest is not the one named, wrong length, or NaN/inf.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BlobCorruptError(f"blob must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise BlobTooLargeError(f"blob is {len(data)} bytes, limit is {max_bytes}")
    try:
        tensors = safetensors.torch.load(data)
    except SafetensorError as exc:
        raise BlobCorruptError(f"not a valid safetensors blob: {exc}") from None
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise BlobFormatError(f"unsupported tensor encoding: {exc!r}") from None
    header, _ = _split_header(data)
    metadata = _validate_metadata(header.get("__metadata__") or {})
    if LAYOUT_ENTRIES_KEY in metadata or LAYOUT_KEY in metadata:
        flat = _join_named(tensors, metadata)
    elif set(tensors) != {TENSOR_NAME}:
        raise BlobFormatError(
            f"blob must contain exactly one tensor named {TENSOR_NAME!r} or name its tensor "
            f"layout, got {sorted(tensors)}"
        )
    else:
        flat = tensors[TENSOR_NAME]
    vector = _validate_vector(flat, expected_numel).clone()
    return UpdateBlob(vector=vector, metadata=metadata)


def _join_named(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> torch.Tensor:
    """The flat vector of a named blob, checked against the layout its metadata names."""
    try:
        layout = TensorLayout.from_json(metadata[LAYOUT_ENTRIES_KEY])
    except (KeyError, ValueError) as exc:
        raise BlobFormatError(f"blob names no readable tensor layout: {exc}") from None
    if metadata.get(LAYOUT_KEY) != layout.digest:
        raise BlobFormatError(
            f"blob names layout {metadata.get(LAYOUT_KEY)!s:.12}, its tensors' layout is "
            f"{layout.digest[:12]}"
        )
    for name, tensor in tensors.items():
        if tensor.dtype != torch.float32:
            raise BlobFormatError(f"tensor {name!r} must be float32, got {tensor.dtype}")
    try:
        return layout.join(tensors)
    except ValueError as exc:
        raise BlobFormatError(str(exc)) from None


def digest_from_uri(uri: str) -> bytes:
    """Recover the digest from a ``file://`` URI produced by :meth:`UpdateStore.uri`.

    Parameters
    ----------
    uri : str
        ``file://.../<hex>.safetensors``.

    Returns
    -------
    bytes
        The 32-byte digest named by the file.
    """
    name = Path(unquote(urlparse(uri).path)).name
    if not name.endswith(FILE_SUFFIX):
        raise ValueError(f"not an update-store URI: {uri!r}")
    return digest_from_hex(name.removesuffix(FILE_SUFFIX))
