"""The networked store's errors: each refusal has a name, an HTTP status and a JSON error code,
so the service answers ``{"error": <code>, "detail": ...}`` and the client raises the same class."""

from __future__ import annotations

from flock.store.blob import (
    BlobCorruptError,
    BlobFormatError,
    BlobHashMismatchError,
    BlobNotFoundError,
    BlobTooLargeError,
    StoreError,
)


class BlobUnavailableError(BlobNotFoundError):
    """A blob could not be fetched before the reader's deadline (the service unreachable, timed
    out, or sending truncated bytes on every try); a voter scores it UNAVAILABLE."""


class StoreUnreachableError(StoreError):
    """The store service (or bucket) does not answer; the message names its URL."""


class ReadOnlyStoreError(StoreError):
    """An upload was asked of a store opened without a signing key."""


class UploadRefusedError(StoreError):
    """Base class of the service's refusals of an upload (the stored blobs are unchanged)."""


class SignatureMissingError(UploadRefusedError):
    """The upload carries no signature, signer or expiry header."""


class SignatureInvalidError(UploadRefusedError):
    """The signature is malformed or was not made by the signer it names over this upload."""


class SignatureExpiredError(UploadRefusedError):
    """The signature's expiry has passed, or lies further ahead than the service allows."""


class SignatureReplayedError(UploadRefusedError):
    """The signature was used before: every upload needs a fresh one."""


class NotAMemberError(UploadRefusedError):
    """The signer is neither a member of the task (its roster) nor the task's creator."""


class RateLimitedError(UploadRefusedError):
    """The signer uploaded faster than its token bucket allows; retry after `retry_after` s."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LengthRequiredError(UploadRefusedError):
    """The upload names no Content-Length (the signature covers the size)."""


class UploadIncompleteError(UploadRefusedError):
    """The upload's body ended before its Content-Length, or ran past it."""


class BadDigestError(StoreError):
    """The request names no valid digest (64 hex characters, or a raw sha2-256 CIDv1)."""


#: JSON error code and HTTP status of each named error (the most specific class first).
ERROR_STATUS: dict[type[StoreError], tuple[str, int]] = {
    SignatureMissingError: ("signature_missing", 401),
    SignatureInvalidError: ("signature_invalid", 401),
    SignatureExpiredError: ("signature_expired", 401),
    NotAMemberError: ("not_a_member", 403),
    SignatureReplayedError: ("signature_replayed", 409),
    RateLimitedError: ("rate_limited", 429),
    LengthRequiredError: ("length_required", 411),
    UploadIncompleteError: ("upload_incomplete", 400),
    BlobTooLargeError: ("too_large", 413),
    BlobHashMismatchError: ("digest_mismatch", 422),
    BlobCorruptError: ("not_a_blob", 422),
    BlobFormatError: ("not_an_update", 422),
    BadDigestError: ("bad_digest", 400),
    BlobUnavailableError: ("unavailable", 503),
    BlobNotFoundError: ("not_found", 404),
}
#: The class of each JSON error code (what a client raises for the service's answer).
ERROR_CLASSES: dict[str, type[StoreError]] = {code: cls for cls, (code, _) in ERROR_STATUS.items()}


def error_status(exc: StoreError) -> tuple[str, int]:
    """The JSON error code and HTTP status of `exc` (500 ``store_error`` for any other)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return "store_error", 500
