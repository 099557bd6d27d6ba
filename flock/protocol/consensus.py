"""Python mirror of the contract's consensus arithmetic (integer medians of revealed scores)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# MAX_SCORE is also the offset of the paired differences; UNAVAILABLE counts as 0
from flock.protocol.commitments import MAX_SCORE, UNAVAILABLE


def integer_median(values: Sequence[int]) -> int:
    """Median as Stats.sol computes it: the middle value, or the floor of the two middles' mean."""
    if not values:
        raise ValueError("median of no values")
    ordered = sorted(values)
    n = len(ordered)
    if n % 2:
        return ordered[n // 2]
    return (ordered[n // 2 - 1] + ordered[n // 2]) // 2


def _score(value: int) -> int:
    return 0 if value == UNAVAILABLE else value


def consensus_scores(ballots: Sequence[Sequence[int]]) -> list[int]:
    """Median score per item (baseline first, then each proposal) over revealed ballots (the
    "unavailable" mark counts as 0)."""
    if not ballots:
        raise ValueError("no revealed ballots")
    items = len(ballots[0])
    if any(len(b) != items for b in ballots):
        raise ValueError("ballots have different lengths")
    return [integer_median([_score(b[i]) for b in ballots]) for i in range(items)]


def paired_ballots(ballots: Sequence[Sequence[int]]) -> list[list[int]]:
    """ScoreMatrix.loadPaired: per ballot, each proposal's score minus the voter's own score of
    the base model (item 0), plus MAX_SCORE (0 .. 2 * MAX_SCORE; the mark 0xFFFF counts as 0).
    A voter's test-split bias, shared by everything it scores, cancels."""
    return [[_score(x) + MAX_SCORE - _score(b[0]) for x in b[1:]] for b in ballots]


def _middles(values: Sequence[int]) -> tuple[int, int]:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[(n - 1) // 2], ordered[n // 2]


def settlement_hints(ballots: Sequence[Sequence[int]]) -> bytes:
    """The `hints` of AllianceTask.settle: per proposal, over the voters' paired differences
    (:func:`paired_ballots`), then over the voters' own base-model scores (item 0), the lower
    and upper middle value, then the lower and upper middle absolute deviation from the
    median, as 4 big-endian uint16."""
    if not ballots:
        return b""
    paired = paired_ballots(ballots)
    columns = [[b[i] for b in paired] for i in range(len(paired[0]))]
    columns.append([_score(b[0]) for b in ballots])
    out = bytearray()
    for column in columns:
        lo, hi = _middles(column)
        median = (lo + hi) // 2
        d_lo, d_hi = _middles([abs(x - median) for x in column])
        for value in (lo, hi, d_lo, d_hi):
            out += value.to_bytes(2, "big")
    return bytes(out)


def consensus_statistics(
    scores: Sequence[Sequence[int]], items: int
) -> tuple[list[int], list[int]]:
    """Per item the median of the values and the median absolute deviation from it (both the
    floor of the two middles' mean for an even count), as Consensus.fromHints computes
    them over the paired differences (:func:`flock.protocol.consensus.paired_ballots`)."""
    medians: list[int] = []
    mads: list[int] = []
    for i in range(items):
        column = [ballot[i] for ballot in scores]
        median = integer_median(column)
        medians.append(median)
        mads.append(integer_median([abs(x - median) for x in column]))
    return medians, mads


def band_width(mad: int, multiplier_x100: int, floor: int) -> int:
    """Band.width: max(MAD * k, floor), k = multiplier_x100 / 100 (floor division)."""
    return max((mad * multiplier_x100) // 100, floor)


@dataclass(frozen=True)
class BaseConsensus:
    """The voters' own scores of the base model (item 0; the mark 0xFFFF counts as 0), their
    median and MAD: a voter's paired differences are offset by its base score, so the base
    score itself is judged against the committee's (ScoreMatrix.loadPaired's `bases`,
    Band.voterWeights)."""

    scores: tuple[int, ...]
    median: int
    mad: int

    @classmethod
    def of(cls, scores: Sequence[Sequence[int]]) -> BaseConsensus:
        """The base-model column of the revealed ballots `scores`."""
        column = tuple(_score(ballot[0]) for ballot in scores)
        median = integer_median(column)
        return cls(column, median, integer_median([abs(x - median) for x in column]))


def passes(score: int, refused: bool, peer: int, tolerance: int, peer_tolerance: int) -> bool:
    """Consensus.accepts: a proposal with paired median `score` (MAX_SCORE + the median
    difference) that a majority did not refuse, at least -`tolerance` from its base model and
    within `peer_tolerance` of the median proposal's `peer`."""
    return not refused and score + tolerance >= MAX_SCORE and score + peer_tolerance >= peer
