"""Content-addressed store of model updates in the safetensors format (never pickle)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import safetensors.torch
import torch
from safetensors import SafetensorError

logger = logging.getLogger(__name__)

TENSOR_NAME = "update"
"""The single tensor every update blob must contain."""
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


def encode_blob(vector: torch.Tensor, metadata: dict[str, str]) -> bytes:
    """Serialise an update to canonical safetensors bytes.

    ``safetensors`` writes metadata in hash-map order, which varies between calls;
    the JSON header is therefore rewritten with sorted keys (same padding rules),
    so equal ``(vector, metadata)`` always give equal bytes and hence equal digests.

    Parameters
    ----------
    vector : torch.Tensor
        1-D, finite float32 tensor (moved to CPU).
    metadata : dict of str to str
        Provenance strings stored in the header.

    Returns
    -------
    bytes
        A safetensors file with a single tensor named ``"update"``.

    Raises
    ------
    BlobFormatError
        If ``vector`` or ``metadata`` is invalid.
    """
    vec = _validate_vector(vector).detach().cpu().contiguous()
    meta = _validate_metadata(metadata)
    raw = safetensors.torch.save({TENSOR_NAME: vec}, metadata=meta)
    header, body = _split_header(raw)
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    header_bytes = canonical.encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % _HEADER_ALIGN)
    return len(header_bytes).to_bytes(_HEADER_LEN_BYTES, "little") + header_bytes + body


def decode_blob(data: bytes, *, max_bytes: int, expected_numel: int | None = None) -> UpdateBlob:
    """Parse and validate untrusted update bytes.

    Only ``safetensors.torch.load`` is used; nothing is ever unpickled.

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
        Not exactly one 1-D float32 tensor named ``"update"``, wrong length, or NaN/inf.
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
    if set(tensors) != {TENSOR_NAME}:
        raise BlobFormatError(
            f"blob must contain exactly one tensor named {TENSOR_NAME!r}, got {sorted(tensors)}"
        )
    vector = _validate_vector(tensors[TENSOR_NAME], expected_numel).clone()
    metadata = _validate_metadata(header.get("__metadata__") or {})
    return UpdateBlob(vector=vector, metadata=metadata)


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


class UpdateStore:
    """Directory of update blobs, each named by the SHA-256 of its bytes.

    Any participant with access to the directory can fetch a blob by the digest
    published on chain; :meth:`get` re-hashes what it reads, so a tampered or
    swapped file is detected rather than trusted.

    Parameters
    ----------
    root : pathlib.Path
        Directory holding ``<hex digest>.safetensors`` files (created if missing).
    max_bytes : int
        Largest blob accepted for writing or reading.
    fsync : bool
        Flush written files to disk before publishing them under their final name.
    file_mode : int
        Permission bits of stored files (readable by other local participants by default).
    uri_base : str, optional
        Prefix of the URIs that blobs are published under (:meth:`uri` returns
        ``<uri_base><hex digest>.safetensors``); by default the directory's absolute
        ``file://`` URI. A location-independent base such as ``"store/"`` (relative to the run
        directory) keeps the proposals sent on chain, and so the block hashes, the same
        wherever a run is written.
    """

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fsync: bool = True,
        file_mode: int = DEFAULT_FILE_MODE,
        uri_base: str | None = None,
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.file_mode = file_mode
        self.uri_base = uri_base
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: bytes) -> Path:
        """Return the file path that holds (or would hold) ``digest``."""
        return self.root / f"{_check_digest(digest).hex()}{FILE_SUFFIX}"

    def uri(self, digest: bytes) -> str:
        """Return the URI the blob is published under, naming its digest in the file name
        (``uri_base`` + file name, or the file's absolute ``file://`` URI)."""
        if self.uri_base is None:
            return self.path(digest).as_uri()
        return self.uri_base + self.path(digest).name

    def exists(self, digest: bytes) -> bool:
        """Return whether a file for ``digest`` is present (its content is not verified)."""
        return self.path(digest).is_file()

    def put(self, vector: torch.Tensor, metadata: dict[str, str]) -> bytes:
        """Encode and store an update; return its 32-byte digest.

        Parameters
        ----------
        vector : torch.Tensor
            1-D finite float32 update.
        metadata : dict of str to str
            Provenance strings.

        Returns
        -------
        bytes
            SHA-256 digest of the canonical encoding.
        """
        return self.put_bytes(encode_blob(vector, metadata))

    def put_bytes(self, data: bytes) -> bytes:
        """Validate and store already-encoded bytes; return their digest.

        Writing is atomic (temporary file in the same directory, then ``os.replace``)
        and idempotent: an intact existing copy is left as is, a damaged one replaced.

        Raises
        ------
        BlobTooLargeError, BlobCorruptError, BlobFormatError
            If ``data`` is not a valid update blob within ``max_bytes``.
        """
        data = bytes(data)
        decode_blob(data, max_bytes=self.max_bytes)
        digest = blob_hash(data)
        target = self.path(digest)
        try:
            if self.get_bytes(digest) == data:
                return digest
        except StoreError:
            pass
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=FILE_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            os.chmod(tmp_name, self.file_mode)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        logger.debug("stored blob %s (%d bytes)", hash_hex(digest), len(data))
        return digest

    def get_bytes(self, digest: bytes) -> bytes:
        """Read the raw bytes stored under ``digest`` after verifying their hash.

        Raises
        ------
        BlobNotFoundError
            No such file.
        BlobTooLargeError
            The file exceeds ``max_bytes`` (checked with ``stat`` before reading).
        BlobHashMismatchError
            The content does not hash to ``digest``.
        """
        target = self.path(digest)
        try:
            size = target.stat().st_size
            if size > self.max_bytes:
                raise BlobTooLargeError(f"{target.name} is {size} bytes, limit is {self.max_bytes}")
            with target.open("rb") as handle:
                data = handle.read(self.max_bytes + 1)
        except FileNotFoundError:
            raise BlobNotFoundError(f"no blob {hash_hex(digest)} in {self.root}") from None
        if len(data) > self.max_bytes:
            raise BlobTooLargeError(f"{target.name} grew beyond {self.max_bytes} bytes while read")
        actual = blob_hash(data)
        if actual != bytes(digest):
            raise BlobHashMismatchError(
                f"blob requested as {hash_hex(digest)} hashes to {hash_hex(actual)}"
            )
        return data

    def get(self, digest: bytes, *, expected_numel: int | None = None) -> UpdateBlob:
        """Fetch, verify and decode the update stored under ``digest``.

        Parameters
        ----------
        digest : bytes
            32-byte SHA-256 digest (e.g. read from the contract).
        expected_numel : int, optional
            Required vector length.

        Returns
        -------
        UpdateBlob
            The decoded update.

        Raises
        ------
        StoreError
            Any of the errors of :meth:`get_bytes` and :func:`decode_blob`.
        """
        data = self.get_bytes(digest)
        return decode_blob(data, max_bytes=self.max_bytes, expected_numel=expected_numel)
