"""Python mirror of the contract's role draw: swap-or-not shuffle of the round's roster."""

from __future__ import annotations

from eth_utils import keccak

from flock.protocol.types import Role

#: Must equal Shuffle.ROUNDS in contracts/Shuffle.sol.
SHUFFLE_ROUNDS = 32


def shuffled_index(index: int, n: int, seed: bytes) -> int:
    """Position of `index` in the permutation of range(n) drawn from `seed` (as Shuffle.sol)."""
    if not 0 <= index < n:
        raise ValueError(f"index {index} out of range for n={n}")
    for r in range(SHUFFLE_ROUNDS):
        rb = bytes([r])
        pivot = int.from_bytes(keccak(seed + rb), "big") % n
        flip = (pivot + n - index) % n
        position = max(index, flip)
        source = keccak(seed + rb + (position >> 8).to_bytes(4, "big"))
        bit = (source[(position & 0xFF) >> 3] >> (position & 7)) & 1
        if bit:
            index = flip
    return index


def committee_sizes(roster_size: int, proposers_per_round: int, max_voters: int) -> tuple[int, int]:
    """(proposers, voters) of a round with `roster_size` revealed participants (the closing
    round after the last one: `proposers_per_round` = 0)."""
    if roster_size < 2:
        return 0, 0
    proposers = min(proposers_per_round, roster_size - 1)
    return proposers, min(max_voters, roster_size - proposers)


def role_for(
    roster_index: int, roster_size: int, seed: bytes, *, proposers_per_round: int, max_voters: int
) -> Role:
    """Role of the participant at `roster_index` (0-based join index) in a round of
    `roster_size` participants (those who had joined when the round opened)."""
    if not 0 <= roster_index < roster_size:
        return Role.NONE
    proposers, voters = committee_sizes(roster_size, proposers_per_round, max_voters)
    if proposers + voters == 0:
        return Role.IDLE
    position = shuffled_index(roster_index, roster_size, seed)
    if position < proposers:
        return Role.PROPOSER
    if position < proposers + voters:
        return Role.VOTER
    return Role.IDLE


def assign_roles(
    roster: list[str], seed: bytes, *, proposers_per_round: int, max_voters: int
) -> dict[str, Role]:
    """Roles of every participant of a roster (in join order), as the contract draws them."""
    return {
        address: role_for(
            i, len(roster), seed, proposers_per_round=proposers_per_round, max_voters=max_voters
        )
        for i, address in enumerate(roster)
    }
