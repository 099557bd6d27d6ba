"""Python mirror of the contract's consensus arithmetic (integer medians of revealed scores)."""

from __future__ import annotations

from collections.abc import Sequence


def integer_median(values: Sequence[int]) -> int:
    """Median as Stats.sol computes it: the middle value, or the floor of the two middles' mean."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    n = len(ordered)
    if n % 2:
        return ordered[n // 2]
    return (ordered[n // 2 - 1] + ordered[n // 2]) // 2


def consensus_scores(ballots: Sequence[Sequence[int]]) -> list[int]:
    """Median score per item (baseline first, then each proposal) over revealed ballots."""
    if not ballots:
        raise ValueError("no revealed ballots")
    items = len(ballots[0])
    if any(len(b) != items for b in ballots):
        raise ValueError("ballots have different lengths")
    return [integer_median([b[i] for b in ballots]) for i in range(items)]


def _middles(values: Sequence[int]) -> tuple[int, int]:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[(n - 1) // 2], ordered[n // 2]


def settlement_hints(ballots: Sequence[Sequence[int]]) -> bytes:
    """The `hints` of AllianceTask.settle: per item the lower and upper middle score, then the
    lower and upper middle absolute deviation from the median, as 4 big-endian uint16. The
    "unavailable" mark 0xFFFF counts as 0, as the contract reads it."""
    if not ballots:
        return b""
    out = bytearray()
    for i in range(len(ballots[0])):
        column = [0 if b[i] == 0xFFFF else b[i] for b in ballots]
        lo, hi = _middles(column)
        median = (lo + hi) // 2
        d_lo, d_hi = _middles([abs(x - median) for x in column])
        for value in (lo, hi, d_lo, d_hi):
            out += value.to_bytes(2, "big")
    return bytes(out)
