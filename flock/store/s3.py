"""The s3 backend: a member's cache directory in front of any S3-compatible bucket, one object
per blob keyed by its digest, written once (``If-None-Match: *``) and hashed on every read.

Who may write is the bucket's policy (its credentials), not flock's: flock checks the size cap
on both sides, never overwrites an object and verifies every byte it reads. Credentials come
from boto3's usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, a role).
"""

from __future__ import annotations

import base64
import time
from typing import Any

from flock.store.blob import FILE_SUFFIX, StoreError
from flock.store.directory import UpdateStore
from flock.store.errors import UploadRefusedError
from flock.store.remote import Mismatch, NotFound, Receiver, RemoteStore, RetryPolicy, Transient

CHUNK_BYTES = 1 << 20
#: Error codes of an object that already exists under a conditional write.
_EXISTS = {"PreconditionFailed", "ConditionalRequestConflict"}
#: Error codes worth another try (besides every 5xx).
_RETRY = {"SlowDown", "RequestTimeout", "Throttling", "ThrottlingException", "InternalError"}
_CORRUPTED = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}


def _error(exc: Any) -> tuple[str, int]:
    response = getattr(exc, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    return code, int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


class S3Store(RemoteStore):
    """Blobs in an S3-compatible bucket, cached in this member's own directory.

    Parameters
    ----------
    bucket : str
        The bucket (it must exist).
    cache : UpdateStore
        This process's own cache directory.
    endpoint_url : str | None
        Any S3-compatible endpoint (MinIO, Ceph, R2, moto); None: AWS.
    prefix : str
        Key prefix (keys are ``<prefix><hex digest>.safetensors``).
    region : str | None
        The bucket's region.
    policy : RetryPolicy
        Timeouts, deadline and backoff (botocore's own retries are off: this is the one loop).
    uri_style : str
        "native" (``s3://<bucket>/<key>``) or "ipfs".
    client : botocore S3 client, optional
        A ready client (tests); by default one is built from the arguments.
    """

    def __init__(
        self,
        *,
        bucket: str,
        cache: UpdateStore,
        endpoint_url: str | None = None,
        prefix: str = "",
        region: str | None = None,
        policy: RetryPolicy | None = None,
        uri_style: str = "native",
        client: Any = None,
    ) -> None:
        policy = policy or RetryPolicy()
        super().__init__(cache, policy=policy, uri_style=uri_style)
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        where = f" at {endpoint_url}" if endpoint_url else ""
        self.location = f"s3://{bucket}/{prefix}{where}"
        self._client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(
                connect_timeout=policy.timeout_s,
                read_timeout=policy.timeout_s,
                retries={"max_attempts": 1, "mode": "standard"},
            ),
        )

    def key(self, digest: bytes) -> str:
        """The object key of `digest`."""
        return f"{self.prefix}{bytes(digest).hex()}{FILE_SUFFIX}"

    def _native_uri(self, digest: bytes) -> str:
        return f"s3://{self.bucket}/{self.key(digest)}"

    def _transient(self, exc: Exception) -> Transient:
        return Transient(f"{self.location}: {type(exc).__name__}: {exc}")

    def _upload(self, digest: bytes, data: bytes) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        request = {
            "Bucket": self.bucket,
            "Key": self.key(digest),
            "Body": data,
            "ContentLength": len(data),
            "ContentType": "application/octet-stream",
            # the bucket checks the bytes it received against the digest
            "ChecksumSHA256": base64.b64encode(digest).decode(),
        }
        try:
            self._client.put_object(IfNoneMatch="*", **request)
        except ClientError as exc:
            code, status = _error(exc)
            if status == 412 or code in _EXISTS:
                return "exists"
            if status == 501 or code == "NotImplemented":  # no conditional writes: look first
                if self._exists_remote(digest):
                    return "exists"
                try:
                    self._client.put_object(**request)
                except (ClientError, BotoCoreError) as again:
                    raise self._transient(again) from None
                return "stored"
            if code in _CORRUPTED:
                raise Mismatch(f"{self.location} received other bytes: {code}") from None
            if status >= 500 or code in _RETRY:
                raise self._transient(exc) from None
            raise UploadRefusedError(f"{self.location} refused the upload: {code} {exc}") from None
        except BotoCoreError as exc:
            raise self._transient(exc) from None
        return "stored"

    def _download(self, digest: bytes, deadline: float) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError
        from urllib3.exceptions import HTTPError

        try:
            obj = self._client.get_object(Bucket=self.bucket, Key=self.key(digest))
        except ClientError as exc:
            code, status = _error(exc)
            if status == 404 or code in {"NoSuchKey", "NotFound"}:
                raise NotFound(f"{self.location} holds no such blob") from None
            if status >= 500 or code in _RETRY:
                raise self._transient(exc) from None
            raise StoreError(f"{self.location} refused the download: {code} {exc}") from None
        except BotoCoreError as exc:
            raise self._transient(exc) from None
        receiver = Receiver(self.max_bytes, obj.get("ContentLength"))
        body = obj["Body"]
        try:
            for chunk in body.iter_chunks(CHUNK_BYTES):
                receiver.add(chunk)
                if time.monotonic() > deadline:
                    raise Transient(f"too slow: {len(receiver.data)} bytes by the deadline")
        except (BotoCoreError, HTTPError, OSError) as exc:
            raise self._transient(exc) from None
        finally:
            body.close()
        return receiver.finish(digest)

    def _exists_remote(self, digest: bytes) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.head_object(Bucket=self.bucket, Key=self.key(digest))
        except (ClientError, BotoCoreError):
            return False
        return True

    def _check_remote(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code, status = _error(exc)
            if status >= 500:
                raise self._transient(exc) from None
            raise StoreError(f"{self.location}: bucket not usable ({status} {code})") from None
        except BotoCoreError as exc:
            raise self._transient(exc) from None
