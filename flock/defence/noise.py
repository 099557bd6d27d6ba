"""Honest noise of the vote (`benchmarks/defence.py --noise`): per threshold of the settlement,
the smallest value at which honest members pass, measured in clean runs, so that thresholds on
a score scale (accuracy or loss) come from what honest noise is, not from split sizes.

Each threshold compares one statistic of the voters' paired differences (a proposal's score
minus the voter's own score of the base model, :func:`flock.protocol.consensus.paired_ballots`):

- ``tolerance_bps``: a proposal is accepted when its median paired difference is at least
  ``-tolerance``; the honest figure is the gap ``MAX_SCORE - median`` of each honest proposal.
- ``peer_tolerance_bps``: ... and at most ``peer_tolerance`` below the median proposal's median;
  the honest figure is that shortfall.
- ``min_deviation_bps``: a voter is outside the band when, on most proposals, it deviates from
  the median by more than ``max(k * MAD, floor)``; the honest figure is, per honest voter and
  round, the smallest floor that keeps it inside.
- ``wash_mad_bps``: a round is void when most proposals' MAD exceeds the limit; the honest
  figure is, per round, the smallest limit that keeps it settled.
- ``base_band_bps``: a voter is outside when its own base-model score lies further than
  ``max(k * MAD, floor)`` from the voters' median base score; the honest figure is, per honest
  voter and round, the smallest floor that keeps it inside.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hydra import compose, initialize_config_dir

from flock.protocol.commitments import MAX_SCORE
from flock.protocol.consensus import BaseConsensus, integer_median, paired_ballots
from flock.protocol.settlement import RoundRecord, SettlementResult, SettlementRules

#: The quantiles the noise figures print (per cent).
QUANTILES: tuple[float, ...] = (50.0, 95.0, 99.0, 100.0)
#: The quantiles of the attackers' score gaps (the low tail is what a tolerance must not reach).
ATTACK_QUANTILES: tuple[float, ...] = (1.0, 5.0, 10.0, 50.0)
#: The statistic each threshold compares, in the order printed.
STATISTICS: tuple[str, ...] = (
    "tolerance",
    "peer_tolerance",
    "min_deviation",
    "wash_mad",
    "base_band",
)


@dataclass
class RoundNoise:
    """One settled round's honest figures (see the module docstring), in score units."""

    tolerance: list[int] = field(default_factory=list)
    peer_tolerance: list[int] = field(default_factory=list)
    min_deviation: list[int] = field(default_factory=list)
    wash_mad: list[int] = field(default_factory=list)
    base_band: list[int] = field(default_factory=list)
    #: MAX_SCORE - median of each attacker's proposal (how far below the base it scored)
    attack_gap: list[int] = field(default_factory=list)


def _upper_half(values: Sequence[int]) -> int:
    """The smallest limit that at most half of `values` exceed (0 for none)."""
    if not values:
        return 0
    ordered = sorted(values, reverse=True)
    return ordered[len(ordered) // 2]


def round_noise(
    record: RoundRecord,
    settled: SettlementResult,
    rules: SettlementRules,
    *,
    honest_proposals: Sequence[int],
    honest_voters: Iterable[str],
) -> RoundNoise:
    """The honest figures of one settled round (empty for a round without consensus).

    Parameters
    ----------
    record, settled : RoundRecord, SettlementResult
        The round as settled (its revealed ballots, its paired medians and MADs).
    rules : SettlementRules
        The MAD multiplier of the voter band (the floor is what is measured).
    honest_proposals : sequence of int
        Proposal indices of honest proposers.
    honest_voters : iterable of str
        Addresses of honest voters.
    """
    out = RoundNoise()
    if not settled.medians:
        return out
    medians, mads = settled.medians, settled.mads
    honest = set(honest_proposals)
    peer = integer_median(medians)
    for p, median in enumerate(medians):
        gap = MAX_SCORE - median
        if p in honest:
            out.tolerance.append(gap)
            out.peer_tolerance.append(peer - median)
        else:
            out.attack_gap.append(gap)
    out.wash_mad.append(_upper_half(list(mads)))
    bands = [(mad * rules.mad_multiplier_x100) // 100 for mad in mads]
    good = set(honest_voters)
    base = BaseConsensus.of(record.scores)
    base_band = (base.mad * rules.mad_multiplier_x100) // 100
    paired = paired_ballots(record.scores)
    for voter, ballot, own_base in zip(record.voters, paired, base.scores, strict=True):
        if voter not in good:
            continue
        excess = [
            abs(x - m) if abs(x - m) > band else 0
            for x, m, band in zip(ballot, medians, bands, strict=True)
        ]
        out.min_deviation.append(_upper_half(excess))
        off = abs(own_base - base.median)
        out.base_band.append(off if off > base_band else 0)
    return out


def merge(into: dict[str, list[int]], noise: RoundNoise) -> None:
    """Append one round's figures to a run's (`RunResult.noise`)."""
    for name in (*STATISTICS, "attack_gap"):
        into.setdefault(name, []).extend(getattr(noise, name))


def quantile(values: Sequence[float], q: float) -> float:
    """The `q` per cent quantile, nearest rank (the largest value at q = 100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def noise_lines(label: str, pooled: dict[str, list[int]], loss_ratio: float | None) -> list[str]:
    """`name: value` lines of pooled figures: each statistic's quantiles in score units (and,
    with `loss_ratio` = loss_max / loss_min of the loss scoring, the relative loss increase
    they stand for, per cent: ``loss_ratio ** (units / MAX_SCORE) - 1``)."""
    lines = []
    for name in STATISTICS:
        values = pooled.get(name, [])
        lines.append(f"noise_samples[{name},{label}]: {len(values)}")
        for q in QUANTILES:
            value = quantile(values, q)
            lines.append(f"noise_p{q:g}[{name},{label}]: {value:g}")
            if loss_ratio is not None and not math.isnan(value):
                pct = 100 * (loss_ratio ** (value / MAX_SCORE) - 1)
                lines.append(f"noise_p{q:g}_loss_pct[{name},{label}]: {pct:.1f}")
    gaps = pooled.get("attack_gap", [])
    if gaps:  # how far below the base the attackers' proposals scored: the other side
        lines.append(f"attack_gap_samples[{label}]: {len(gaps)}")
        for q in ATTACK_QUANTILES:
            lines.append(f"attack_gap_p{q:g}[{label}]: {quantile(gaps, q):g}")
    return lines


def measure(
    dataset: str,
    scoring: str,
    seeds: Sequence[int],
    *,
    attack: str = "none",
    eta: float | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, list[int]]:
    """Pooled figures of flock's rule over `seeds` runs of the defence preset."""
    from flock.defence.engine import simulate
    from flock.defence.grid import CONFIG_DIR

    pooled: dict[str, list[int]] = {}
    for seed in seeds:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                config_name="config",
                overrides=[
                    "+experiment=defence",
                    f"dataset={dataset}",
                    f"attack={attack}",
                    f"defence.attack_name={attack}",
                    f"defence.eta={'null' if eta is None else eta}",
                    "defence.name=flock",
                    f"scoring={scoring}",
                    f"seed={seed}",
                    *overrides,
                ],
            )
        result = simulate(cfg)
        for name, values in result.noise.items():
            pooled.setdefault(name, []).extend(values)
        pooled.setdefault("honest_slashed", []).append(result.honest_slashed())
        pooled.setdefault("honest_rejected", []).append(result.honest_rejected)
    return pooled


def noise_report(
    seeds: Sequence[int], *, datasets: Sequence[str] = ("digits", "breast_cancer")
) -> list[str]:
    """The `--noise` lines: per dataset and scoring, the clean runs' honest figures (and their
    honest slashes and rejections under the thresholds the scoring's config sets)."""
    from flock.learning.scoring import SCORINGS, Scoring

    lines = []
    default = Scoring(name="loss")
    ratio = default.loss_max / default.loss_min
    for dataset in datasets:
        for scoring in SCORINGS:
            pooled = measure(dataset, scoring, seeds)
            label = f"{dataset},{scoring}"
            lines += noise_lines(label, pooled, ratio if scoring == "loss" else None)
            lines.append(f"honest_slashed[clean,{label}]: {sum(pooled['honest_slashed'])}")
            lines.append(f"honest_rejected[clean,{label}]: {sum(pooled['honest_rejected'])}")
    return lines
