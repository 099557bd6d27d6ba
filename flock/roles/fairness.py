"""Statistical check of the role draw: is every participant a proposer equally often?"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eth_utils import keccak
from scipy.stats import chi2

from flock.protocol.role_draw import SHUFFLE_ROUNDS, committee_sizes

#: Domain of the reproducible seeds the check draws roles for.
SEED_DOMAIN = b"flock.fairness.seed"


def fairness_seeds(count: int, *, start: int = 0) -> list[bytes]:
    """`count` reproducible 32-byte seeds: keccak(domain, i) for i in [start, start + count)."""
    return [keccak(SEED_DOMAIN + i.to_bytes(32, "big")) for i in range(start, start + count)]


def shuffled_positions(n: int, seed: bytes) -> list[int]:
    """Position of every index of range(n) under `seed`: the same permutation as
    `shuffled_index(i, n, seed)` for each i, with the round hashes shared by all indices
    (2 hashes per round for n <= 256 instead of 2 per round and index)."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    positions = list(range(n))
    for r in range(SHUFFLE_ROUNDS):
        rb = bytes([r])
        pivot = int.from_bytes(keccak(seed + rb), "big") % n
        # bit (p % 256) of source chunk p // 256, read little-endian: byte p % 256 // 8, bit p % 8
        chunks = [
            int.from_bytes(keccak(seed + rb + c.to_bytes(4, "big")), "little")
            for c in range((n - 1 >> 8) + 1)
        ]
        next_positions = []
        for index in positions:
            flip = (pivot + n - index) % n
            position = index if index > flip else flip
            if chunks[position >> 8] >> (position & 0xFF) & 1:
                index = flip
            next_positions.append(index)
        positions = next_positions
    return positions


def proposer_counts(
    n: int, seeds: Iterable[bytes], *, proposers_per_round: int, max_voters: int
) -> list[int]:
    """How often each of `n` roster slots is drawn proposer over `seeds`."""
    proposers, _ = committee_sizes(n, proposers_per_round, max_voters)
    counts = [0] * n
    for seed in seeds:
        for i, position in enumerate(shuffled_positions(n, seed)):
            if position < proposers:
                counts[i] += 1
    return counts


def subset_chi_square(counts: Sequence[int], draws: int, per_draw: int) -> tuple[float, float]:
    """Chi-square statistic and p-value of `counts` against uniform draws of `per_draw`
    distinct slots out of `len(counts)`, `draws` times.

    Each count has mean N p and variance N p (1 - p), p = k / n, and two counts have covariance
    -N p (1 - p) / (n - 1) (k distinct slots per draw, not k independent picks), so
    sum (O - N p)^2 / (N p (1 - p) n / (n - 1)) is chi-square with n - 1 degrees of freedom.
    (Pearson's sum (O - E)^2 / E would understate it by the factor (1 - p) n / (n - 1).)

    Returns
    -------
    tuple[float, float]
        (statistic, p-value: the chance of a statistic at least this large under uniformity)
    """
    n = len(counts)
    if n < 2 or not 0 < per_draw < n or draws <= 0:
        raise ValueError(f"need 0 < per_draw < n with n >= 2 and draws > 0, got {per_draw}, {n}")
    if sum(counts) != draws * per_draw:
        raise ValueError(f"counts sum to {sum(counts)}, expected {draws * per_draw}")
    p = per_draw / n
    expected = draws * p
    scale = draws * p * (1 - p) * n / (n - 1)
    statistic = math.fsum((c - expected) ** 2 for c in counts) / scale
    return statistic, float(chi2.sf(statistic, n - 1))


@dataclass(frozen=True)
class FairnessReport:
    """Proposer frequencies of `draws` role draws among `participants`."""

    participants: int
    proposers_per_round: int
    draws: int
    counts: tuple[int, ...]
    chi2: float
    p_value: float


def proposer_fairness(
    participants: int = 10,
    proposers_per_round: int = 3,
    draws: int = 10_000,
    *,
    max_voters: int = 64,
) -> FairnessReport:
    """Draw roles for `draws` reproducible seeds with the Python mirror of the contract's shuffle
    and test that every participant is a proposer equally often.

    Parameters
    ----------
    participants, proposers_per_round, max_voters
        The roster and committee caps (defaults: `flock run`'s 10 participants, 3 proposers).
    draws
        Number of seeds.
    """
    proposers, _ = committee_sizes(participants, proposers_per_round, max_voters)
    counts = proposer_counts(
        participants,
        fairness_seeds(draws),
        proposers_per_round=proposers_per_round,
        max_voters=max_voters,
    )
    statistic, p_value = subset_chi_square(counts, draws, proposers)
    return FairnessReport(
        participants, proposers_per_round, draws, tuple(counts), statistic, p_value
    )


def main(argv: list[str] | None = None) -> None:
    """Print `chi2: X` and `chi2_p: X` for the proposer frequencies of the role draw."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--proposers", type=int, default=3)
    parser.add_argument("--draws", type=int, default=10_000)
    args = parser.parse_args(argv)
    report = proposer_fairness(args.participants, args.proposers, args.draws)
    print(f"proposer_counts: {' '.join(map(str, report.counts))}")
    print(f"chi2: {report.chi2:.4f}")
    print(f"chi2_p: {report.p_value:.4f}")


if __name__ == "__main__":
    main()
