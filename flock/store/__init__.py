"""The update store: content-addressed model-update blobs (safetensors, never pickle); every
reader re-hashes what it gets against the digest on chain."""

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
from flock.store.directory import UpdateStore

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DIGEST_SIZE",
    "FILE_SUFFIX",
    "BlobCorruptError",
    "BlobFormatError",
    "BlobHashMismatchError",
    "BlobNotFoundError",
    "BlobTooLargeError",
    "StoreError",
    "UpdateBlob",
    "UpdateStore",
    "blob_hash",
    "decode_blob",
    "digest_from_hex",
    "digest_from_uri",
    "encode_blob",
    "hash_hex",
]
