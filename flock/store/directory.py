"""The directory backend of the update store: one ``<hex digest>.safetensors`` file per blob."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import torch

from flock.store.blob import (
    DEFAULT_FILE_MODE,
    DEFAULT_MAX_BYTES,
    FILE_SUFFIX,
    BlobHashMismatchError,
    BlobNotFoundError,
    BlobTooLargeError,
    StoreError,
    UpdateBlob,
    _check_digest,
    blob_hash,
    decode_blob,
    encode_blob,
    hash_hex,
)

logger = logging.getLogger(__name__)


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

    def check(self, deadline_s: float | None = None) -> None:
        """A directory is always at hand (created by the constructor)."""

    def put(self, vector: torch.Tensor, metadata: dict[str, str], *, publish: bool = True) -> bytes:
        """Encode and store an update; return its 32-byte digest.

        Parameters
        ----------
        vector : torch.Tensor
            1-D finite float32 update.
        metadata : dict of str to str
            Provenance strings.
        publish : bool
            Ignored: a directory is one location, where every reader looks.

        Returns
        -------
        bytes
            SHA-256 digest of the canonical encoding.
        """
        return self.put_bytes(encode_blob(vector, metadata))

    def put_bytes(self, data: bytes, *, publish: bool = True) -> bytes:
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
        try:
            if self.get_bytes(digest) == data:
                return digest
        except StoreError:
            pass
        self.write_verified(digest, data)
        return digest

    def write_verified(self, digest: bytes, data: bytes) -> Path:
        """Write bytes the caller has already checked to hash to `digest` (a networked
        backend's download, verified while streaming) under its name, atomically; return the
        file's path. Readers re-hash it all the same."""
        target = self.path(digest)
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
        return target

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
