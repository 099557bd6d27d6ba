"""The update store: content-addressed model-update blobs (safetensors, never pickle); every
reader re-hashes what it gets against the digest on chain. Backends (`store` config group):
a directory (`directory.py`), flock's blob service (`http_client.py`), an S3-compatible bucket
(`s3.py`); blobs also have an IPFS CID (`cid.py`)."""

from flock.protocol.layout import TensorLayout
from flock.store.backend import BlobStore
from flock.store.blob import (
    DEFAULT_MAX_BYTES,
    DIGEST_SIZE,
    FILE_SUFFIX,
    BlobCorruptError,
    BlobFormatError,
    BlobHashMismatchError,
    BlobNotFoundError,
    BlobTooLargeError,
    StoreError,
    UpdateBlob,
    blob_hash,
    decode_blob,
    digest_from_hex,
    digest_from_uri,
    encode_blob,
    hash_hex,
)
from flock.store.cid import cid_of, digest_from_cid, ipfs_uri
from flock.store.directory import UpdateStore
from flock.store.errors import (
    BadDigestError,
    BlobUnavailableError,
    LengthRequiredError,
    NotAMemberError,
    RateLimitedError,
    ReadOnlyStoreError,
    SignatureExpiredError,
    SignatureInvalidError,
    SignatureMissingError,
    SignatureReplayedError,
    StoreUnreachableError,
    UploadIncompleteError,
    UploadRefusedError,
)
from flock.store.factory import STORE_KINDS, open_store
from flock.store.remote import FETCH_LOG, RemoteStore, RetryPolicy

__all__ = [
    "TensorLayout",
    "DEFAULT_MAX_BYTES",
    "DIGEST_SIZE",
    "FETCH_LOG",
    "FILE_SUFFIX",
    "STORE_KINDS",
    "BadDigestError",
    "BlobCorruptError",
    "BlobFormatError",
    "BlobHashMismatchError",
    "BlobNotFoundError",
    "BlobStore",
    "BlobTooLargeError",
    "BlobUnavailableError",
    "LengthRequiredError",
    "NotAMemberError",
    "RateLimitedError",
    "ReadOnlyStoreError",
    "RemoteStore",
    "RetryPolicy",
    "SignatureExpiredError",
    "SignatureInvalidError",
    "SignatureMissingError",
    "SignatureReplayedError",
    "StoreError",
    "StoreUnreachableError",
    "UpdateBlob",
    "UpdateStore",
    "UploadIncompleteError",
    "UploadRefusedError",
    "blob_hash",
    "cid_of",
    "decode_blob",
    "digest_from_cid",
    "digest_from_hex",
    "digest_from_uri",
    "encode_blob",
    "hash_hex",
    "ipfs_uri",
    "open_store",
]
