"""The upload signature of the http store: EIP-191 (``personal_sign``) over the task, the blob's
digest, its size and an expiry, by a key on the task's roster.

The signed message is ASCII text, lines joined by a single ``\\n`` with no trailing newline::

    flock-store upload v1
    task: 0x<task address, 40 lowercase hex>
    digest: 0x<SHA-256 of the blob, 64 lowercase hex>
    size: <the blob's length in bytes, decimal>
    expiry: <unix seconds after which the signature is void, decimal>

and the signature is ``sign(keccak256("\\x19Ethereum Signed Message:\\n" + len(message) +
message))``, 65 bytes ``r || s || v`` (what ``eth_account.Account.sign_message(
encode_defunct(primitive=message))`` or any wallet's ``personal_sign`` gives).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from flock.store.blob import _check_digest
from flock.store.errors import SignatureInvalidError

MESSAGE_HEADER = "flock-store upload v1"
#: Request headers of a signed upload.
SIGNER_HEADER = "X-Flock-Signer"
EXPIRY_HEADER = "X-Flock-Expiry"
SIGNATURE_HEADER = "X-Flock-Signature"


def _address(text: str) -> str:
    body = text.lower().removeprefix("0x")
    if len(body) != 40 or any(c not in "0123456789abcdef" for c in body):
        raise SignatureInvalidError(f"not an address: {text!r}")
    return "0x" + body


def upload_message(task: str, digest: bytes, size: int, expiry: int) -> bytes:
    """The exact bytes an uploader signs (see the module docstring)."""
    lines = [
        MESSAGE_HEADER,
        f"task: {_address(task)}",
        f"digest: 0x{_check_digest(digest).hex()}",
        f"size: {int(size)}",
        f"expiry: {int(expiry)}",
    ]
    return "\n".join(lines).encode("ascii")


@dataclass(frozen=True)
class UploadSignature:
    """One upload's authorisation, as carried in the request headers."""

    signer: str
    expiry: int
    signature: bytes

    def headers(self) -> dict[str, str]:
        """The request headers that carry it."""
        return {
            SIGNER_HEADER: self.signer,
            EXPIRY_HEADER: str(self.expiry),
            SIGNATURE_HEADER: "0x" + self.signature.hex(),
        }


def sign_upload(
    account: LocalAccount, task: str, digest: bytes, size: int, expiry: int
) -> UploadSignature:
    """Sign the upload of `size` bytes named `digest` to `task`'s store, valid until `expiry`."""
    message = encode_defunct(primitive=upload_message(task, digest, size, expiry))
    signed = account.sign_message(message)
    return UploadSignature(account.address, int(expiry), bytes(signed.signature))


def recover_uploader(task: str, digest: bytes, size: int, expiry: int, signature: bytes) -> str:
    """The lowercase address whose key made `signature` over this upload.

    Raises
    ------
    SignatureInvalidError
        For a signature that is not 65 bytes or recovers no key.
    """
    if len(signature) != 65:
        raise SignatureInvalidError(f"a signature is 65 bytes, got {len(signature)}")
    message = encode_defunct(primitive=upload_message(task, digest, size, expiry))
    try:
        return str(Account.recover_message(message, signature=signature)).lower()
    except Exception as exc:  # eth_keys raises BadSignature, ValueError, ... for bad bytes
        raise SignatureInvalidError(f"signature recovers no key: {exc}") from None


def replay_key(task: str, digest: bytes, size: int, expiry: int, signer: str) -> bytes:
    """What makes an upload authorisation unique: the signed message and its signer (the
    signature bytes are not used, since an ECDSA signature has a second valid form)."""
    return keccak(upload_message(task, digest, size, expiry) + _address(signer).encode())
