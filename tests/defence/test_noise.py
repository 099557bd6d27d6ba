"""The honest-noise figures: each is exactly the threshold at which honest members pass."""

from __future__ import annotations

from dataclasses import replace

from flock.defence.noise import noise_lines, quantile, round_noise
from flock.protocol.settlement import RoundRecord, SettlementRules, settle_round
from flock.protocol.types import Outcome, RewardRule

TOKEN = 10**18
LOOSE = SettlementRules(
    rounds=2,
    min_voters=1,
    slash_bps=1000,
    tolerance_bps=9000,
    peer_tolerance_bps=9000,
    mad_multiplier_x100=300,
    min_deviation_bps=9000,
    wash_mad_bps=9000,
    voter_share_bps=3000,
    reward_rule=RewardRule.GEOMETRIC,
    softmax_temperature_bps=100,
    base_band_bps=9000,
    accept_tolerance_bps=9000,
    accept_peer_tolerance_bps=9000,
)
VOTERS = ["V0", "V1", "V2", "V3", "V4"]
# base first; P0 scores about 300 below the base, P1 about 40 below, P2 about 10 above; V4
# deviates from the others on two of the three proposals
SCORES = [
    [8000, 7700, 7960, 8010],
    [8100, 7790, 8060, 8110],
    [7900, 7610, 7860, 7910],
    [8050, 7750, 8010, 8060],
    [8000, 6500, 9000, 8010],
]


def _record() -> RoundRecord:
    stakes = {a: 50 * TOKEN for a in ["P0", "P1", "P2", *VOTERS]}
    return RoundRecord(
        round=1,
        proposers=["P0", "P1", "P2"],
        voters=VOTERS,
        scores=SCORES,
        missing=[],
        stakes=stakes,
        reward_pool=100 * TOKEN,
    )


def _noise(rules: SettlementRules = LOOSE):  # type: ignore[no-untyped-def]
    record = _record()
    settled = settle_round(record, rules)
    return settled, round_noise(
        record, settled, rules, honest_proposals=[0, 1, 2], honest_voters=VOTERS
    )


def _two_way(rules: SettlementRules, **tolerances: int) -> SettlementRules:
    """`rules` with the tolerances changed and each accept tolerance set to its tolerance."""
    return replace(rules, **tolerances, **{f"accept_{k}": v for k, v in tolerances.items()})


def test_a_tolerance_at_the_largest_honest_gap_accepts_every_honest_proposal() -> None:
    settled, noise = _noise()
    assert settled.outcome == Outcome.SETTLED and noise.tolerance == [300, 40, -10]
    at = settle_round(_record(), _two_way(LOOSE, tolerance_bps=max(noise.tolerance)))
    below = settle_round(_record(), _two_way(LOOSE, tolerance_bps=max(noise.tolerance) - 1))
    assert at.accepted_mask == 0b111 and below.accepted_mask == 0b110


def test_a_peer_tolerance_at_the_largest_honest_shortfall_accepts_every_honest_proposal() -> None:
    _, noise = _noise()
    worst = max(noise.peer_tolerance)
    assert worst == 260  # P0's median against the median proposal's (P1)
    assert settle_round(_record(), _two_way(LOOSE, peer_tolerance_bps=worst)).accepted_mask == 7
    assert settle_round(_record(), _two_way(LOOSE, peer_tolerance_bps=worst - 1)).accepted_mask == 6


def test_a_band_floor_at_the_honest_figure_keeps_every_honest_voter_in() -> None:
    _, noise = _noise()
    floor = max(noise.min_deviation)
    assert floor > 0  # V4 is outside k * MAD on two of three proposals
    assert settle_round(_record(), replace(LOOSE, min_deviation_bps=floor)).outliers == ()
    assert settle_round(_record(), replace(LOOSE, min_deviation_bps=floor - 1)).outliers == ("V4",)


def test_a_wash_limit_at_the_honest_figure_settles_the_round() -> None:
    _, noise = _noise()
    (limit,) = noise.wash_mad
    assert settle_round(_record(), replace(LOOSE, wash_mad_bps=limit)).outcome == Outcome.SETTLED
    assert settle_round(_record(), replace(LOOSE, wash_mad_bps=limit - 1)).wash


def test_a_base_band_floor_at_the_honest_figure_keeps_every_honest_voter_in() -> None:
    # V4's own base score 7000 lies 1000 from the median (8000); 3 x MAD (100) is 300
    record = replace(_record(), scores=[*SCORES[:4], [7000, 6500, 9000, 8010]])
    settled = settle_round(record, LOOSE)
    noise = round_noise(record, settled, LOOSE, honest_proposals=[0, 1, 2], honest_voters=VOTERS)
    assert noise.base_band == [0, 0, 0, 0, 1000]
    assert settle_round(record, replace(LOOSE, base_band_bps=1000)).outliers == ()
    assert settle_round(record, replace(LOOSE, base_band_bps=999)).outliers == ("V4",)


def test_attackers_proposals_are_kept_apart_and_voters_named_dishonest_are_left_out() -> None:
    record = _record()
    settled = settle_round(record, LOOSE)
    noise = round_noise(record, settled, LOOSE, honest_proposals=[1, 2], honest_voters=VOTERS[:4])
    assert noise.attack_gap == [300] and noise.tolerance == [40, -10]
    assert len(noise.min_deviation) == 4


def test_quantiles_and_lines() -> None:
    assert quantile([3, 1, 2, 4], 50) == 2 and quantile([3, 1, 2, 4], 100) == 4
    lines = dict(line.split(": ") for line in noise_lines("x", {"tolerance": [0, 10000]}, 200.0))
    assert lines["noise_p100[tolerance,x]"] == "10000"
    assert lines["noise_p100_loss_pct[tolerance,x]"] == "19900.0"  # 200x the loss
    assert lines["noise_samples[wash_mad,x]"] == "0"
