"""Python mirror of contracts/RewardMath.sol: the fixed-point weights by which accepted
proposers share a round's budget (geometric by rank, softmax by score)."""

from __future__ import annotations

#: RewardMath.ONE: 18-decimal fixed point.
ONE = 10**18
#: RewardMath.LN2: ln 2 in 18-decimal fixed point.
LN2 = 693_147_180_559_945_309


def geometric_weight(rank: int) -> int:
    """RewardMath.geometric: 2^(63 - rank), 0 from rank 64 on."""
    return 0 if rank >= 64 else 1 << (63 - rank)


def exp2neg(x: int) -> int:
    """RewardMath.exp2neg: 2^(-x / 1e18) in 18-decimal fixed point (degree-8 Horner series of
    e^(-y) on the fractional part, integer part by shift)."""
    whole = x // ONE
    if whole >= 60:
        return 0
    y = ((x % ONE) * LN2) // ONE
    h = ONE
    for k in range(8, 0, -1):
        h = ONE - (y * h) // (k * ONE)
    return h >> whole


def softmax_weight(score: int, best: int, temperature: int) -> int:
    """RewardMath.softmax: 2^(-(best - score) / temperature) in 18-decimal fixed point."""
    return exp2neg(((best - score) * ONE) // temperature)
