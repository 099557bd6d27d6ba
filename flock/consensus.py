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
