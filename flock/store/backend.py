"""The one interface of every update-store backend (dir, http, s3): put, get, exists, uri."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from flock.store.blob import UpdateBlob


@runtime_checkable
class BlobStore(Protocol):
    """What roles and orchestrations use of a store. Every backend names blobs by the SHA-256
    of their bytes (the digest on chain) and verifies that hash on every read.
    """

    @property
    def max_bytes(self) -> int:
        """Largest blob accepted for writing or reading."""
        ...

    def put(self, vector: torch.Tensor, metadata: dict[str, str], *, publish: bool = True) -> bytes:
        """Encode and store an update; return its digest. `publish=False` keeps it where this
        member can read it again without making it available to others (an aggregate every
        member recomputes); a backend with one location stores it there either way."""
        ...

    def put_bytes(self, data: bytes, *, publish: bool = True) -> bytes:
        """Validate and store already-encoded bytes; return their digest."""
        ...

    def get(self, digest: bytes, *, expected_numel: int | None = None) -> UpdateBlob:
        """Fetch, verify and decode the blob of `digest`.

        Raises
        ------
        BlobNotFoundError
            No such blob (a networked store: also after its retries ran out, as
            :class:`~flock.store.errors.BlobUnavailableError`).
        BlobHashMismatchError
            The bytes do not hash to `digest`.
        StoreError
            Any other refusal (too large, malformed).
        """
        ...

    def get_bytes(self, digest: bytes) -> bytes:
        """The verified raw bytes of `digest` (same errors as :meth:`get`)."""
        ...

    def exists(self, digest: bytes) -> bool:
        """Whether the store holds `digest` (content not verified)."""
        ...

    def uri(self, digest: bytes) -> str:
        """Where the blob is published: what a proposal names on chain."""
        ...

    def check(self, deadline_s: float | None = None) -> None:
        """Raise :class:`~flock.store.errors.StoreUnreachableError` (naming the location)
        when the store cannot be reached within `deadline_s` seconds (None: the store's own
        deadline); return quietly otherwise."""
        ...
