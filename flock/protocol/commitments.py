"""Commitment hashes and score encoding, byte-for-byte as the contracts compute them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from eth_utils import keccak, to_bytes, to_canonical_address

#: Scores are accuracies in basis points.
MAX_SCORE = 10_000
#: The score of a proposal whose blob the voter could not fetch (AllianceTask.UNAVAILABLE);
#: consensus counts it as 0 (refused), settlement tells it apart in the slash reason.
UNAVAILABLE = 0xFFFF


def random_secret() -> bytes:
    """A fresh 32-byte secret (for randomness commits and vote salts)."""
    return secrets.token_bytes(32)


def seed_commit(secret: bytes, participant: str, round_: int) -> bytes:
    """keccak256(abi.encodePacked(secret, participant, uint256 round))."""
    _require32(secret, "secret")
    return keccak(secret + to_canonical_address(participant) + round_.to_bytes(32, "big"))


def encode_scores(scores: Sequence[int]) -> bytes:
    """Pack scores (basis points, baseline first) as 2 big-endian bytes each.

    Raises
    ------
    ValueError
        If a score is not an integer in [0, 10000] or the mark UNAVAILABLE (0xFFFF).
    """
    out = bytearray()
    for i, score in enumerate(scores):
        if not isinstance(score, int) or not (0 <= score <= MAX_SCORE or score == UNAVAILABLE):
            raise ValueError(
                f"score {i} must be an int in [0, {MAX_SCORE}] or {UNAVAILABLE}, got {score!r}"
            )
        out += score.to_bytes(2, "big")
    return bytes(out)


def decode_scores(data: bytes) -> tuple[int, ...]:
    """Inverse of :func:`encode_scores`."""
    if len(data) % 2:
        raise ValueError(f"score bytes must have even length, got {len(data)}")
    return tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))


def vote_commit(scores: bytes, attestation: bytes, salt: bytes, voter: str, round_: int) -> bytes:
    """keccak256(abi.encodePacked(scores, attestation, salt, voter, uint256 round)): scores as
    packed bytes, the 32-byte attestation and salt, the 20-byte address, the round as 32 bytes."""
    _require32(salt, "salt")
    _require32(attestation, "attestation")
    return keccak(
        scores + attestation + salt + to_canonical_address(voter) + round_.to_bytes(32, "big")
    )


def as_bytes32(value: bytes | str) -> bytes:
    """Accept 32 raw bytes or a 0x-prefixed hex string of 32 bytes."""
    raw = to_bytes(hexstr=value) if isinstance(value, str) else bytes(value)
    _require32(raw, "value")
    return raw


def _require32(value: bytes, what: str) -> None:
    if len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes, got {len(value)}")
