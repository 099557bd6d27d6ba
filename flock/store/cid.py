"""IPFS-compatible names of update blobs: the on-chain digest is the SHA-256 of the blob's bytes,
so the blob's CIDv1 (raw codec, sha2-256 multihash) follows from it and back, with no lookup."""

from __future__ import annotations

from flock.store.blob import DIGEST_SIZE, _check_digest

#: The multicodec of a blob's bytes taken as they are (no IPLD wrapping) and its hash function.
CODEC = "raw"
HASH = "sha2-256"
IPFS_SCHEME = "ipfs://"


def cid_of(digest: bytes) -> str:
    """The CIDv1 (base32, raw codec, sha2-256) of the blob whose SHA-256 is `digest`.

    Parameters
    ----------
    digest : bytes
        32-byte SHA-256 digest, as on chain.

    Returns
    -------
    str
        ``"bafkrei..."``, what ``ipfs add --cid-version 1 --raw-leaves`` prints for a blob
        that fits one block.
    """
    from multiformats import CID, multihash

    return str(CID("base32", 1, CODEC, multihash.wrap(_check_digest(digest), HASH)))


def digest_from_cid(cid: str) -> bytes:
    """The SHA-256 digest named by a raw sha2-256 CID (any multibase), the inverse of
    :func:`cid_of`.

    Raises
    ------
    ValueError
        For text that is no CID, or a CID of another codec, hash function or digest size.
    """
    from multiformats import CID

    try:
        parsed = CID.decode(cid.removeprefix(IPFS_SCHEME))
    except Exception as exc:  # multiformats raises several error types for bad text
        raise ValueError(f"not a CID: {cid!r} ({exc})") from None
    if parsed.codec.name != CODEC or parsed.hashfun.name != HASH:
        raise ValueError(
            f"{cid!r} is a {parsed.codec.name}/{parsed.hashfun.name} CID, not {CODEC}/{HASH}"
        )
    digest = bytes(parsed.raw_digest)
    if len(digest) != DIGEST_SIZE:
        raise ValueError(f"{cid!r} names a {len(digest)}-byte digest, not {DIGEST_SIZE}")
    return digest


def ipfs_uri(digest: bytes) -> str:
    """``ipfs://<cid>`` of the blob whose SHA-256 is `digest`."""
    return IPFS_SCHEME + cid_of(digest)
