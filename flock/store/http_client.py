"""The http backend: a member's cache directory in front of flock's blob service
(:mod:`flock.storeservice`), which holds blobs by digest. Uploads are signed (see
:mod:`flock.store.signing`); downloads stream, are hashed as they arrive and retried."""

from __future__ import annotations

import time
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount

from flock.store.directory import UpdateStore
from flock.store.errors import ERROR_CLASSES, ReadOnlyStoreError, StoreError
from flock.store.remote import (
    NotFound,
    Receiver,
    RemoteStore,
    RetryPolicy,
    Transient,
    raise_refusal,
)
from flock.store.signing import UploadSignature, sign_upload

#: Bytes per read of a download.
CHUNK_BYTES = 1 << 20
#: Service name the health endpoint answers with.
SERVICE_NAME = "flock-store"


def blob_path(digest: bytes) -> str:
    """The service's path of a blob: ``/blobs/0x<hex digest>``."""
    return f"/blobs/0x{bytes(digest).hex()}"


class HttpStore(RemoteStore):
    """Blobs at flock's blob service, cached in this member's own directory.

    Parameters
    ----------
    url : str
        The service, e.g. ``http://10.0.0.5:9101``.
    cache : UpdateStore
        This process's own cache directory.
    task : str
        The task whose members may upload (the service refuses another task's signatures).
    account : LocalAccount | None
        The key that signs uploads (a member's, or the creator's for the initial model); None
        opens the store read-only.
    policy : RetryPolicy
        Timeouts, deadline and backoff.
    uri_style : str
        "native" (proposals name ``<url>/blobs/0x<digest>``) or "ipfs" (``ipfs://<cid>``).
    signature_ttl_s : float
        How long an upload's signature stays valid.
    """

    def __init__(
        self,
        url: str,
        *,
        cache: UpdateStore,
        task: str,
        account: LocalAccount | None = None,
        policy: RetryPolicy | None = None,
        uri_style: str = "native",
        signature_ttl_s: float = 300.0,
    ) -> None:
        policy = policy or RetryPolicy()
        super().__init__(cache, policy=policy, uri_style=uri_style)
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"store url must be http(s)://host:port, got {url!r}")
        self.url = url.rstrip("/")
        self.location = self.url
        self.task = task.lower()
        self.account = account
        self.signature_ttl_s = signature_ttl_s
        self._last_expiry = 0
        self._client = httpx.Client(
            timeout=httpx.Timeout(policy.timeout_s), headers={"User-Agent": "flock-store"}
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _native_uri(self, digest: bytes) -> str:
        return self.url + blob_path(digest)

    def sign(self, digest: bytes, size: int) -> UploadSignature:
        """A fresh upload signature (each expiry later than the last: never the same message).

        Raises
        ------
        ReadOnlyStoreError
            When the store was opened without a key.
        """
        if self.account is None:
            raise ReadOnlyStoreError(f"no key to sign uploads to {self.url} (read-only store)")
        expiry = max(int(time.time() + self.signature_ttl_s), self._last_expiry + 1)
        self._last_expiry = expiry
        return sign_upload(self.account, self.task, digest, size, expiry)

    def _refused(self, response: httpx.Response) -> None:
        try:
            body: Any = response.json()
            code, detail = str(body.get("error", "")), str(body.get("detail", ""))
        except (ValueError, AttributeError):
            code, detail = "", response.text[:200]
        retry_after = response.headers.get("retry-after")
        raise_refusal(
            self.url,
            response.status_code,
            code,
            detail,
            ERROR_CLASSES,
            retry_after=float(retry_after) if retry_after else None,
        )

    def _upload(self, digest: bytes, data: bytes) -> str:
        signature = self.sign(digest, len(data))
        headers = {**signature.headers(), "Content-Type": "application/octet-stream"}
        try:
            response = self._client.put(self._native_uri(digest), content=data, headers=headers)
        except httpx.TransportError as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from None
        if response.status_code in (200, 201):
            return str(response.json().get("status", "stored"))
        self._refused(response)
        raise AssertionError("unreachable")  # _refused always raises

    def _download(self, digest: bytes, deadline: float) -> bytes:
        try:
            with self._client.stream("GET", self._native_uri(digest)) as response:
                if response.status_code == 404:
                    raise NotFound(f"{self.url} holds no such blob")
                if response.status_code != 200:
                    response.read()
                    self._refused(response)
                declared = response.headers.get("content-length")
                receiver = Receiver(self.max_bytes, int(declared) if declared else None)
                for chunk in response.iter_raw(CHUNK_BYTES):
                    receiver.add(chunk)
                    if time.monotonic() > deadline:
                        raise Transient(f"too slow: {len(receiver.data)} bytes by the deadline")
                return receiver.finish(digest)
        except httpx.TransportError as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from None

    def _exists_remote(self, digest: bytes) -> bool:
        try:
            return self._client.head(self._native_uri(digest)).status_code == 200
        except httpx.TransportError:
            return False

    def _check_remote(self) -> None:
        try:
            response = self._client.get(self.url + "/health")
        except httpx.TransportError as exc:
            raise Transient(f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise Transient(f"{self.url}/health answered {response.status_code}")
        health = response.json()
        if health.get("service") != SERVICE_NAME:
            raise StoreError(f"{self.url} is not a flock store service: {health!r}")
        if str(health.get("task", "")).lower() != self.task:
            raise StoreError(f"{self.url} serves task {health.get('task')}, not {self.task}")
