"""Voter attacks: random, inverted and colluding scores, and the lazy voter who never reveals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from flock.attacks.base import VoterBehaviour
from flock.protocol.commitments import MAX_SCORE
from flock.protocol.types import Proposal


class RandomScore(VoterBehaviour):
    """Commits uniformly random scores, ignoring what it measured."""

    name = "random_score"

    def scores(
        self,
        measured: Sequence[int],
        rng: np.random.Generator,
        proposals: Sequence[Proposal] = (),
    ) -> list[int]:
        return [int(v) for v in rng.integers(0, MAX_SCORE + 1, size=len(measured))]


class InvertedScore(VoterBehaviour):
    """Commits MAX_SCORE - measured: the best model looks worst and the worst best."""

    name = "inverted_score"

    def scores(
        self,
        measured: Sequence[int],
        rng: np.random.Generator,
        proposals: Sequence[Proposal] = (),
    ) -> list[int]:
        # the "unavailable" mark (above MAX_SCORE) is kept: it is not a score to invert
        return [int(v) if v > MAX_SCORE else MAX_SCORE - int(v) for v in measured]


class Colluding(VoterBehaviour):
    """Scores the cartel's proposals `high` and every other item (the baseline included, so
    the cartel's proposals clear the baseline tolerance more easily) `low`.

    Parameters
    ----------
    cartel : iterable of str
        Addresses of the cartel (case-insensitive).
    """

    name = "colluding"

    def __init__(self, *, cartel: Iterable[str] = (), high: int = MAX_SCORE, low: int = 0) -> None:
        if not 0 <= low <= MAX_SCORE or not 0 <= high <= MAX_SCORE:
            raise ValueError(f"scores must lie in [0, {MAX_SCORE}]")
        self.cartel = frozenset(a.lower() for a in cartel)
        self.high = high
        self.low = low

    def scores(
        self,
        measured: Sequence[int],
        rng: np.random.Generator,
        proposals: Sequence[Proposal] = (),
    ) -> list[int]:
        if len(proposals) != len(measured) - 1:
            raise ValueError("a colluding voter needs the round's proposals")
        return [self.low] + [
            self.high if p.proposer.lower() in self.cartel else self.low for p in proposals
        ]


class Lazy(VoterBehaviour):
    """Commits its measured scores and never reveals them (free-riding on the vote)."""

    name = "lazy"
    reveals = False
