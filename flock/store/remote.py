"""What the networked backends (http, s3) share: a member's own cache directory in front of a
remote copy, reads verified against the digest while they stream, and retries with backoff
until a deadline, after which the same named errors as the directory store are raised."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from flock.store.blob import (
    BlobHashMismatchError,
    BlobNotFoundError,
    BlobTooLargeError,
    StoreError,
    UpdateBlob,
    decode_blob,
    encode_blob,
    hash_hex,
)
from flock.store.cid import ipfs_uri
from flock.store.directory import UpdateStore
from flock.store.errors import BlobUnavailableError, StoreUnreachableError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The file in a member's cache directory that records every blob fetched from the remote.
FETCH_LOG = "fetched.jsonl"
URI_STYLES = ("native", "ipfs")


@dataclass(frozen=True)
class RetryPolicy:
    """How a networked store waits for its remote (the `store` config's timing keys).

    Attributes
    ----------
    timeout_s : float
        Connecting, and each read of a response: a remote silent for longer is given up on.
    deadline_s : float
        The whole of one fetch or upload, retries included; keep it well inside the task's
        commit period (a voter marks a blob it could not fetch by then UNAVAILABLE).
    backoff_s, max_backoff_s : float
        First wait between tries, doubling up to the maximum.
    not_found_tries : int
        Answers of "no such blob" before a fetch gives up (a live remote that lacks the blob
        is believed sooner than one that does not answer).
    """

    timeout_s: float = 10.0
    deadline_s: float = 60.0
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0
    not_found_tries: int = 3

    @classmethod
    def from_config(cls, cfg: Any) -> RetryPolicy:
        """From a `store` config node (missing keys keep their defaults)."""
        names = ("timeout_s", "deadline_s", "backoff_s", "max_backoff_s", "not_found_tries")
        known = {"deadline_s": "fetch_deadline_s"}
        values = {n: cfg.get(known.get(n, n)) for n in names}
        return cls(**{n: type(getattr(cls, n))(v) for n, v in values.items() if v is not None})


class Transient(Exception):
    """A failure worth another try: no answer, a timeout, a 5xx, a truncated or corrupted
    transfer, a rate limit (`retry_after`: the remote's own wait, in seconds; `final`: the
    error to raise if it still fails at the deadline)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        final: type[StoreError] | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.final = final


class NotFound(Exception):
    """The remote answered that it holds no such blob."""


class Mismatch(Transient):
    """The bytes received do not hash to the digest asked for."""


class Receiver:
    """Collects a download's chunks, hashing as they arrive and holding the size cap."""

    def __init__(self, max_bytes: int, declared: int | None) -> None:
        if declared is not None and declared > max_bytes:
            raise BlobTooLargeError(f"the blob is {declared} bytes, limit is {max_bytes}")
        self.max_bytes = max_bytes
        self.declared = declared
        self.hasher = hashlib.sha256()
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        """Take one chunk."""
        self.data += chunk
        if len(self.data) > self.max_bytes:
            raise BlobTooLargeError(f"the blob grew past the limit of {self.max_bytes} bytes")
        self.hasher.update(chunk)

    def finish(self, digest: bytes) -> bytes:
        """The verified bytes.

        Raises
        ------
        Transient
            When fewer (or more) bytes arrived than announced.
        Mismatch
            When they do not hash to `digest`.
        """
        if self.declared is not None and len(self.data) != self.declared:
            raise Transient(f"truncated: {len(self.data)} of {self.declared} bytes arrived")
        actual = self.hasher.digest()
        if actual != digest:
            raise Mismatch(f"bytes fetched as {hash_hex(digest)} hash to {hash_hex(actual)}")
        return bytes(self.data)


class RemoteStore:
    """A member's cache directory in front of a remote copy; subclasses move the bytes.

    Parameters
    ----------
    cache : UpdateStore
        This process's own directory: blobs it wrote or fetched, read again from disk.
    policy : RetryPolicy
        Timeouts, deadline and backoff of every remote call.
    uri_style : str
        "native" (the backend's own URL) or "ipfs" (``ipfs://<cid>``) for :meth:`uri`.
    """

    #: The remote, for messages (a URL).
    location: str = ""

    def __init__(self, cache: UpdateStore, *, policy: RetryPolicy, uri_style: str = "native"):
        if uri_style not in URI_STYLES:
            raise ValueError(f"uri_style must be one of {URI_STYLES}, got {uri_style!r}")
        self.cache = cache
        self.policy = policy
        self.uri_style = uri_style
        self._published: set[bytes] = set()

    # ------------------------------------------------------------- subclasses
    def _upload(self, digest: bytes, data: bytes) -> str:
        """Send `data` once; return "stored" or "exists" (raise Transient to be retried)."""
        raise NotImplementedError

    def _download(self, digest: bytes, deadline: float) -> bytes:
        """Fetch and verify `digest` once (Receiver), by monotonic `deadline`."""
        raise NotImplementedError

    def _exists_remote(self, digest: bytes) -> bool:
        raise NotImplementedError

    def _check_remote(self) -> None:
        raise NotImplementedError

    def _native_uri(self, digest: bytes) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------- interface
    @property
    def max_bytes(self) -> int:
        """Largest blob accepted for writing or reading."""
        return self.cache.max_bytes

    @property
    def root(self) -> Path:
        """The cache directory."""
        return self.cache.root

    def path(self, digest: bytes) -> Path:
        """The cache file of `digest`."""
        return self.cache.path(digest)

    def uri(self, digest: bytes) -> str:
        """Where the blob is published: the remote's URL of it, or ``ipfs://<cid>``."""
        return ipfs_uri(digest) if self.uri_style == "ipfs" else self._native_uri(digest)

    def check(self, deadline_s: float | None = None) -> None:
        """Reach the remote, retrying until the deadline (`deadline_s`, else the policy's).

        Raises
        ------
        StoreUnreachableError
            Naming the remote's URL, when it never answered.
        """
        self._retry("reach", lambda _: self._check_remote(), None, deadline_s=deadline_s)

    def put(self, vector: torch.Tensor, metadata: dict[str, str], *, publish: bool = True) -> bytes:
        """Encode the update, keep it in the cache and (`publish`) upload it; return its digest."""
        return self.put_bytes(encode_blob(vector, metadata), publish=publish)

    def put_bytes(self, data: bytes, *, publish: bool = True) -> bytes:
        """Validate `data`, keep it in the cache and (`publish`) upload it; return its digest.

        Raises
        ------
        UploadRefusedError
            (a subclass) when the remote refuses the upload.
        StoreUnreachableError
            When the remote did not take it before the deadline.
        """
        digest = self.cache.put_bytes(data)
        if publish and digest not in self._published:
            started = time.perf_counter()
            status = self._retry("upload", lambda _: self._upload(digest, bytes(data)), None)
            log.debug(
                "%s %s at %s (%d bytes, %.3fs)", status, hash_hex(digest), self.location,
                len(data), time.perf_counter() - started,
            )  # fmt: skip
            self._published.add(digest)
        return digest

    def exists(self, digest: bytes) -> bool:
        """Whether the cache or the remote holds `digest`."""
        return self.cache.exists(digest) or self._exists_remote(digest)

    def get_bytes(self, digest: bytes) -> bytes:
        """The verified bytes of `digest`: from the cache, else fetched (and then cached).

        Raises
        ------
        BlobNotFoundError
            The remote holds no such blob (after `not_found_tries` answers).
        BlobUnavailableError
            The remote did not deliver it before the deadline.
        BlobHashMismatchError
            Every copy received hashed to something else.
        BlobTooLargeError
            The blob is over the size cap.
        """
        try:
            return self.cache.get_bytes(digest)
        except (BlobNotFoundError, BlobHashMismatchError):
            pass
        started = time.perf_counter()
        data = self._retry("fetch", lambda deadline: self._download(digest, deadline), digest)
        self.cache.write_verified(digest, data)
        self._log_fetch(digest, len(data), time.perf_counter() - started)
        return data

    def get(self, digest: bytes, *, expected_numel: int | None = None) -> UpdateBlob:
        """Fetch (see :meth:`get_bytes`), verify and decode the update of `digest`."""
        data = self.get_bytes(digest)
        return decode_blob(data, max_bytes=self.max_bytes, expected_numel=expected_numel)

    # ------------------------------------------------------------- internals
    def _log_fetch(self, digest: bytes, size: int, seconds: float) -> None:
        record = {"digest": digest.hex(), "source": self._native_uri(digest), "bytes": size,
                  "seconds": round(seconds, 4), "time": time.time()}  # fmt: skip
        with open(self.cache.root / FETCH_LOG, "a") as journal:
            journal.write(json.dumps(record) + "\n")

    def _retry(
        self,
        what: str,
        attempt: Callable[[float], T],
        digest: bytes | None,
        *,
        deadline_s: float | None = None,
    ) -> T:
        """Run `attempt(deadline)` until it succeeds, a permanent error rises, or the deadline
        (`deadline_s` from now, else the policy's) passes; then raise the named error of what
        failed last."""
        policy = self.policy
        started = time.monotonic()
        deadline = started + (policy.deadline_s if deadline_s is None else deadline_s)
        delay, tries, not_found = policy.backoff_s, 0, 0
        last: Exception | None = None
        while True:
            tries += 1
            wait = delay
            try:
                return attempt(deadline)
            except NotFound as exc:
                not_found, last = not_found + 1, exc
                if not_found >= policy.not_found_tries:
                    break
            except Transient as exc:
                last = exc
                if exc.retry_after is not None:
                    wait = max(wait, exc.retry_after)
            if time.monotonic() + wait >= deadline:
                break
            log.info("%s at %s failed (%s); again in %.2fs", what, self.location, last, wait)
            time.sleep(wait)
            delay = min(delay * 2, policy.max_backoff_s)
        spent = time.monotonic() - started
        detail = f"{what} at {self.location}: {tries} tries in {spent:.1f}s, last: {last}"
        if isinstance(last, Transient) and last.final is not None:
            raise last.final(detail)
        if digest is None:
            raise StoreUnreachableError(f"the store is unreachable ({detail})")
        name = hash_hex(digest)
        if isinstance(last, NotFound):
            raise BlobNotFoundError(f"no blob {name} ({detail})")
        if isinstance(last, Mismatch):
            raise BlobHashMismatchError(f"blob {name} arrived corrupted ({detail})")
        raise BlobUnavailableError(f"blob {name} unavailable ({detail})")


def raise_refusal(
    location: str,
    status: int,
    code: str,
    detail: str,
    classes: dict[str, type[StoreError]],
    *,
    retry_after: float | None = None,
) -> None:
    """Raise the named error of a remote's refusal (`classes`: code -> class), or Transient for
    a 5xx, a rate limit (429, waiting `retry_after`) or an unknown answer, worth another try."""
    cls = classes.get(code)
    if status >= 500 or status == 429 or cls is None:
        final = cls if status == 429 else None
        message = f"{location} answered {status} {code}: {detail}"
        raise Transient(message, retry_after=retry_after, final=final)
    raise cls(f"{location} refused ({status} {code}): {detail}")


__all__ = [
    "FETCH_LOG",
    "Mismatch",
    "NotFound",
    "Receiver",
    "RemoteStore",
    "RetryPolicy",
    "Transient",
    "raise_refusal",
]
