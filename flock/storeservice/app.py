"""flock's blob service: update blobs by the digest that goes on chain, over HTTP.

``PUT /blobs/0x<digest>`` takes one blob from a member of the task (an EIP-191 signature over
task, digest, size and expiry: :mod:`flock.store.signing`), streams it to a temporary file
while hashing it, and keeps it only when its bytes hash to the digest (write-once: a stored
blob is never replaced). ``GET``/``HEAD /blobs/<digest or CID>`` and ``GET /ipfs/<CID>`` are
public and stream the file; readers verify the hash themselves. Every refusal is a named
:class:`~flock.store.StoreError` answered as ``{"error": <code>, "detail": <text>}``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from flock.store import (
    DEFAULT_MAX_BYTES,
    FILE_SUFFIX,
    BadDigestError,
    BlobHashMismatchError,
    BlobNotFoundError,
    BlobTooLargeError,
    LengthRequiredError,
    NotAMemberError,
    RateLimitedError,
    SignatureExpiredError,
    SignatureInvalidError,
    SignatureMissingError,
    StoreError,
    UpdateStore,
    UploadIncompleteError,
    cid_of,
    decode_blob,
    digest_from_cid,
    digest_from_hex,
    hash_hex,
)
from flock.store.errors import error_status
from flock.store.http_client import SERVICE_NAME, blob_path
from flock.store.signing import (
    EXPIRY_HEADER,
    SIGNATURE_HEADER,
    SIGNER_HEADER,
    recover_uploader,
    replay_key,
)
from flock.storeservice.guards import ReplayGuard, TokenBuckets
from flock.storeservice.membership import MemberCheck

log = logging.getLogger(__name__)

#: The service's record of used upload signatures, in its blob directory.
USED_SIGNATURES = ".used-signatures"
#: Blobs up to this size are read, checked and answered on the event loop: no thread hop.
INLINE_BYTES = 1 << 20


class MembershipUnavailableError(StoreError):
    """The chain could not be asked whether the uploader is a member (retry later)."""


@dataclass(frozen=True)
class ServiceSettings:
    """One service: where its blobs live, whose task it serves and its limits.

    Attributes
    ----------
    root : Path
        Blob directory (``<hex digest>.safetensors`` files; blobs already there are served).
    task : str
        The task whose members may upload.
    max_bytes : int
        Largest blob accepted (the `store.max_bytes` of the task's config).
    rate_burst, rate_per_s : float
        Each uploader's token bucket.
    max_signature_ttl_s : float
        The farthest an upload signature's expiry may lie ahead.
    membership_ttl_s : float
        How long a "yes, a member" from the chain is believed (a member who left is refused
        after that); a "no" is asked again every time (a member may have joined since).
    """

    root: Path
    task: str
    max_bytes: int = DEFAULT_MAX_BYTES
    rate_burst: float = 20.0
    rate_per_s: float = 2.0
    max_signature_ttl_s: float = 360.0
    membership_ttl_s: float = 10.0

    @classmethod
    def from_config(cls, store: Any, *, root: Path, task: str) -> ServiceSettings:
        """From the task's `store` config node (its `http` keys; missing ones: defaults)."""
        rate = store.get("rate") or {}
        ttl = float(store.get("signature_ttl_s") or 300.0)
        return cls(
            root=Path(root),
            task=task,
            max_bytes=int(store.get("max_bytes") or DEFAULT_MAX_BYTES),
            rate_burst=float(rate.get("burst", cls.rate_burst)),
            rate_per_s=float(rate.get("per_s", cls.rate_per_s)),
            max_signature_ttl_s=ttl + 60.0,  # a minute of clock skew
            membership_ttl_s=float(store.get("membership_ttl_s") or 10.0),
        )


class BlobResponse(FileResponse):
    """A blob file, streamed in 1 MiB chunks."""

    chunk_size = 1 << 20


def parse_ref(ref: str) -> bytes:
    """The digest named by a path segment: 64 hex characters (``0x`` optional) or a raw
    sha2-256 CID.

    Raises
    ------
    BadDigestError
        For anything else.
    """
    try:
        if len(ref.removeprefix("0x")) == 64:
            return digest_from_hex(ref)
        return digest_from_cid(ref)
    except ValueError as exc:
        raise BadDigestError(f"{ref!r} names no blob: {exc}") from None


def _content_length(request: Request) -> int:
    text = request.headers.get("content-length")
    if text is None:
        raise LengthRequiredError("an upload needs a Content-Length (the signature covers it)")
    try:
        size = int(text)
    except ValueError:
        raise LengthRequiredError(f"Content-Length {text!r} is not a number") from None
    if size < 1:
        raise LengthRequiredError("an upload needs a body")
    return size


async def _drain(request: Request, limit: int) -> None:
    """Read and drop a refused upload's body (up to `limit` bytes), so that the uploader reads
    the refusal instead of a broken connection."""
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                return
    except ClientDisconnect:
        return


def create_app(settings: ServiceSettings, is_member: MemberCheck) -> FastAPI:
    """The service's ASGI app (run it with uvicorn: :mod:`flock.storeservice.server`).

    Parameters
    ----------
    settings : ServiceSettings
        Directory, task and limits.
    is_member : MemberCheck
        Whether a (recovered, lowercase) address may upload: the chain's word
        (:func:`flock.storeservice.membership.task_membership`), never the uploader's.
    """
    store = UpdateStore(settings.root, max_bytes=settings.max_bytes)
    guard = ReplayGuard(store.root / USED_SIGNATURES)
    buckets = TokenBuckets(settings.rate_burst, settings.rate_per_s)
    task = settings.task.lower()
    members: dict[str, float] = {}  # address -> until when the chain's "yes" is believed
    app = FastAPI(title="flock store", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.counts = {"stored": 0, "exists": 0, "refused": 0}

    @app.exception_handler(StoreError)
    async def refused(request: Request, exc: StoreError) -> JSONResponse:
        code, status = error_status(exc)
        if isinstance(exc, MembershipUnavailableError):
            code, status = "membership_unavailable", 503
        headers = {}
        if isinstance(exc, RateLimitedError):
            headers["Retry-After"] = f"{exc.retry_after:.2f}"
        if request.method == "PUT":
            app.state.counts["refused"] += 1
            log.info("refused %s %s: %s %s", request.method, request.url.path, code, exc)
        return JSONResponse({"error": code, "detail": str(exc)}, status, headers=headers)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"service": SERVICE_NAME, "task": task, "max_bytes": settings.max_bytes}

    def serve(digest: bytes, method: str) -> Response:
        path = store.path(digest)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise BlobNotFoundError(f"no blob {hash_hex(digest)} here") from None
        headers = {"X-Flock-Digest": hash_hex(digest), "X-Flock-CID": cid_of(digest)}
        if size > INLINE_BYTES:  # streamed from the file in 1 MiB chunks
            return BlobResponse(path, media_type="application/octet-stream", headers=headers)
        body = b"" if method == "HEAD" else path.read_bytes()
        headers["Content-Length"] = str(size)
        return Response(body, media_type="application/octet-stream", headers=headers)

    @app.api_route("/blobs/{ref}", methods=["GET", "HEAD"])
    async def download(ref: str, request: Request) -> Response:
        return serve(parse_ref(ref), request.method)

    @app.api_route("/ipfs/{cid}", methods=["GET", "HEAD"])
    async def download_cid(cid: str, request: Request) -> Response:
        try:
            digest = digest_from_cid(cid)
        except ValueError as exc:
            raise BadDigestError(str(exc)) from None
        return serve(digest, request.method)

    async def member(address: str) -> bool:
        if members.get(address, 0.0) > time.monotonic():
            return True
        try:
            allowed = await run_in_threadpool(is_member, address)  # the chain: off the loop
        except Exception as exc:
            message = f"cannot ask the chain about {address}: {exc}"
            raise MembershipUnavailableError(message) from exc
        if allowed:
            members[address] = time.monotonic() + settings.membership_ttl_s
        return bool(allowed)

    async def authorise(request: Request, digest: bytes, size: int) -> str:
        """The uploader's address, once every check before the body passed."""
        headers = request.headers
        if not all(h in headers for h in (SIGNER_HEADER, EXPIRY_HEADER, SIGNATURE_HEADER)):
            raise SignatureMissingError(
                f"an upload needs {SIGNER_HEADER}, {EXPIRY_HEADER} and {SIGNATURE_HEADER}"
            )
        try:
            expiry = int(headers[EXPIRY_HEADER])
            signature = bytes.fromhex(headers[SIGNATURE_HEADER].removeprefix("0x"))
        except ValueError:
            raise SignatureInvalidError("expiry must be an integer, signature hex") from None
        now = time.time()
        if expiry < now:
            raise SignatureExpiredError(f"the signature expired {now - expiry:.0f}s ago")
        if expiry > now + settings.max_signature_ttl_s:
            raise SignatureExpiredError(
                f"the expiry lies {expiry - now:.0f}s ahead, more than the "
                f"{settings.max_signature_ttl_s:.0f}s this service accepts"
            )
        signer = recover_uploader(task, digest, size, expiry, signature)
        claimed = headers[SIGNER_HEADER].lower()
        if signer != claimed:
            raise SignatureInvalidError(
                f"the signature over this upload is by {signer}, not {claimed} (another task, "
                "digest, size or expiry was signed)"
            )
        guard.use(replay_key(task, digest, size, expiry, signer), expiry)
        buckets.take(signer)
        if not await member(signer):
            raise NotAMemberError(f"{signer} is neither a member nor the creator of task {task}")
        return signer

    async def receive(request: Request, digest: bytes, size: int) -> Path:
        """Stream the body to a temporary file in the blob directory, hashing it."""
        hasher, received = hashlib.sha256(), 0
        fd, name = tempfile.mkstemp(dir=store.root, prefix=".upload-", suffix=FILE_SUFFIX)
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > size:
                        raise UploadIncompleteError(f"the body ran past its {size} bytes")
                    hasher.update(chunk)
                    out.write(chunk)
            if received < size:
                raise UploadIncompleteError(f"the body ended after {received} of {size} bytes")
            actual = hasher.digest()
            if actual != digest:
                raise BlobHashMismatchError(
                    f"the bytes sent as {hash_hex(digest)} hash to {hash_hex(actual)} (a stored "
                    "blob of that digest stays as it is)"
                )
        except ClientDisconnect:
            tmp.unlink(missing_ok=True)
            raise UploadIncompleteError(
                f"the uploader went away after {received} of {size} bytes"
            ) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    @app.put("/blobs/{ref}")
    async def upload(ref: str, request: Request) -> JSONResponse:
        digest = parse_ref(ref)
        size = _content_length(request)
        if size > settings.max_bytes:
            raise BlobTooLargeError(f"the blob is {size} bytes, limit is {settings.max_bytes}")
        try:
            signer = await authorise(request, digest, size)
        except StoreError:
            await _drain(request, size)
            raise
        tmp = await receive(request, digest, size)
        try:
            # a well-formed update only (safetensors, one finite float32 vector): never pickle
            if size <= INLINE_BYTES:
                decode_blob(tmp.read_bytes(), max_bytes=size)
            else:
                await run_in_threadpool(lambda: decode_blob(tmp.read_bytes(), max_bytes=size))
            os.chmod(tmp, store.file_mode)
            try:
                os.link(tmp, store.path(digest))  # never replaces a stored blob
                status, code = "stored", 201
            except FileExistsError:
                status, code = "exists", 200
        finally:
            tmp.unlink(missing_ok=True)
        app.state.counts[status] += 1
        log.info("%s %s (%d bytes) from %s", status, hash_hex(digest), size, signer)
        body = {"status": status, "digest": hash_hex(digest), "cid": cid_of(digest),
                "size": size, "path": blob_path(digest)}  # fmt: skip
        return JSONResponse(body, code)

    return app
