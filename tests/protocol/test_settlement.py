"""The settlement mirror on hand-computed rounds (tests/contracts/test_settlement_mirror.py
checks it against the contract itself on random rounds)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flock.protocol.reward_math import ONE, exp2neg, geometric_weight, softmax_weight
from flock.protocol.settlement import (
    RoundRecord,
    SettlementResult,
    SettlementRules,
    proposer_weights,
    settle_round,
)
from flock.protocol.types import Outcome, RewardRule, SlashReason

TOKEN = 10**18
RULES = SettlementRules(
    rounds=2,
    min_voters=1,
    slash_bps=1000,
    tolerance_bps=200,
    peer_tolerance_bps=1500,
    mad_multiplier_x100=300,
    min_deviation_bps=500,
    wash_mad_bps=1500,
    voter_share_bps=3000,
    reward_rule=RewardRule.GEOMETRIC,
    softmax_temperature_bps=100,
    base_band_bps=10_000,  # base scores unjudged: most rounds here give voters biases of their own
    accept_tolerance_bps=200,  # two-way unless a test narrows these
    accept_peer_tolerance_bps=1500,
)
STAKES = {a: 50 * TOKEN for a in ("P0", "P1", "V0", "V1", "V2", "M")}


def _record(**changes: object) -> RoundRecord:
    base = RoundRecord(
        round=1,
        proposers=["P0", "P1"],
        voters=["V0", "V1", "V2"],
        scores=[[8000, 8050, 3000], [8000, 8050, 3000], [0, 10_000, 0]],
        missing=["M"],
        stakes=STAKES,
        reward_pool=1000 * TOKEN,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_exp2neg_halves_per_unit_and_vanishes_after_sixty() -> None:
    assert exp2neg(0) == ONE
    assert exp2neg(ONE) == ONE // 2
    assert exp2neg(3 * ONE) == ONE // 8
    assert exp2neg(ONE // 2) == pytest.approx(ONE / 2**0.5, rel=2e-7)
    assert exp2neg(60 * ONE) == 0
    values = [exp2neg(k * ONE // 37) for k in range(200)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))


def test_reward_weights() -> None:
    assert geometric_weight(0) == 2**63 and geometric_weight(3) == 2**60
    assert geometric_weight(64) == 0
    assert softmax_weight(9000, 9000, 100) == ONE
    assert softmax_weight(8900, 9000, 100) == ONE // 2
    # rank ties break by index; rejected proposers weigh nothing
    weights = proposer_weights([7000, 7000, 9000], 0b111, [1, 1, 1], RULES)
    assert weights == [2**62, 2**61, 2**63]
    assert proposer_weights([7000, 9000], 0b01, [1, 1], RULES) == [2**63, 0]


def test_settles_a_round_like_the_contract() -> None:
    # Execute: V2 is an outlier on every proposal, P1 scores far below the base model, M is
    # missing
    result = settle_round(_record(), RULES)

    # Assert (by hand): paired differences + 10000: P0 10050, 10050, 20000; P1 5000, 5000, 0.
    # Share 500, slashes 3 x 5, budget 515 = 360.5 to P0 + 154.5 to voters
    assert result.outcome == Outcome.SETTLED and not result.wash
    assert result.medians == (10_050, 5000) and result.mads == (0, 0)
    assert result.accepted_mask == 0b01
    assert result.outliers == ("V2",)
    assert result.slashes == (
        ("M", SlashReason.MISSING_VOTE_REVEAL, 5 * TOKEN),
        ("P1", SlashReason.REJECTED_PROPOSAL, 5 * TOKEN),
        ("V2", SlashReason.VOTE_OUTSIDE_CONSENSUS, 5 * TOKEN),
    )
    assert result.rewards == (
        ("P0", 3605 * TOKEN // 10),
        ("V0", 7725 * TOKEN // 100),
        ("V1", 7725 * TOKEN // 100),
    )
    assert (result.credited, result.slashed) == (515 * TOKEN, 15 * TOKEN)
    assert result.reward_pool == 500 * TOKEN
    assert result.stakes["P1"] == 45 * TOKEN and result.stakes["P0"] == 50 * TOKEN


def test_without_proposals_the_round_is_empty_and_only_missing_reveals_pay() -> None:
    result = settle_round(_record(proposers=[], scores=[[8000]] * 3), RULES)
    assert result.outcome == Outcome.EMPTY
    assert result.slashes == (("M", SlashReason.MISSING_VOTE_REVEAL, 5 * TOKEN),)
    assert result.rewards == () and result.reward_pool == 1005 * TOKEN


def test_too_few_reveals_void_the_round() -> None:
    result = settle_round(_record(), replace(RULES, min_voters=4))
    assert result.outcome == Outcome.VOID and not result.wash
    assert result.credited == 0


def test_dispersed_scores_are_a_wash() -> None:
    scores = [[5000, 0, 10_000], [5000, 5000, 5000], [5000, 10_000, 0]]
    result = settle_round(_record(scores=scores), RULES)
    assert result.outcome == Outcome.VOID and result.wash
    assert [reason for _, reason, _ in result.slashes] == [SlashReason.MISSING_VOTE_REVEAL]


def test_rejects_a_ballot_the_contract_would_refuse() -> None:
    with pytest.raises(ValueError, match="scores"):
        settle_round(_record(scores=[[8000, 8050]] * 3), RULES)
    with pytest.raises(ValueError, match="stakes unknown"):
        settle_round(_record(stakes={}), RULES)


def test_a_zero_median_is_rejected_even_when_the_baseline_is_zero() -> None:
    # an untrained global model can score 0; a proposal the voters refused (score 0) must not
    # clear "baseline - tolerance" anyway, while a weak but valid one (score 1) does
    scores = [[0, 0, 1], [0, 0, 1], [0, 0, 1]]
    result = settle_round(_record(scores=scores), RULES)
    assert result.outcome == Outcome.SETTLED
    assert result.accepted_mask == 0b10
    assert ("P0", SlashReason.REJECTED_PROPOSAL, 5 * TOKEN) in result.slashes


THREE_WAY = replace(RULES, tolerance_bps=1000, accept_tolerance_bps=200)


def test_a_proposal_between_the_accept_and_slash_tolerances_is_declined_not_slashed() -> None:
    # P1 scores 500 below the base: past the accept tolerance (200), within the slash one (1000)
    scores = [[8000, 8050, 7500]] * 3
    result = settle_round(_record(scores=scores), THREE_WAY)
    assert result.accepted_mask == 0b01
    assert [who for who, _, _ in result.slashes] == ["M"]
    assert [who for who, _ in result.rewards] == ["P0", "V0", "V1", "V2"]
    assert result.stakes["P1"] == 50 * TOKEN
    # the same proposal with the accept tolerance at the slash tolerance: accepted
    two_way = replace(THREE_WAY, accept_tolerance_bps=1000)
    assert settle_round(_record(scores=scores), two_way).accepted_mask == 0b11
    # 1100 below: past the slash tolerance too
    slashed = settle_round(_record(scores=[[8000, 8050, 6900]] * 3), THREE_WAY)
    assert ("P1", SlashReason.REJECTED_PROPOSAL, 5 * TOKEN) in slashed.slashes


def test_rules_refuse_an_accept_tolerance_wider_than_its_tolerance() -> None:
    # the contract refuses such a task (TaskConfigCheck): the mirror does not settle one
    with pytest.raises(ValueError, match="accept tolerance"):
        replace(RULES, accept_tolerance_bps=201)
    with pytest.raises(ValueError, match="accept tolerance"):
        replace(RULES, accept_peer_tolerance_bps=1501)


def test_a_proposal_between_the_peer_tolerances_is_declined_not_slashed() -> None:
    # P1 scores the base (paired median 10_000) and P0 1300 above it (11_300): the median
    # proposal of two is the mean of theirs, 10_650, and P1 lies 650 below it
    rules = replace(RULES, peer_tolerance_bps=1000, accept_peer_tolerance_bps=200)
    result = settle_round(_record(scores=[[8000, 9300, 8000]] * 3), rules)
    assert result.medians == (11_300, 10_000)
    assert result.accepted_mask == 0b01
    assert [who for who, _, _ in result.slashes] == ["M"]
    tight = replace(rules, peer_tolerance_bps=600, accept_peer_tolerance_bps=200)
    assert ("P1", SlashReason.REJECTED_PROPOSAL, 5 * TOKEN) in settle_round(
        _record(scores=[[8000, 9300, 8000]] * 3), tight
    ).slashes


def test_a_voters_test_split_bias_cancels_in_the_paired_differences() -> None:
    # every voter sees the proposal 50 points above the base model, on very different splits
    scores = [[2000, 2050, 2050], [9000, 9050, 9050], [5000, 5050, 5050]]
    result = settle_round(_record(scores=scores), RULES)
    assert result.outcome == Outcome.SETTLED and result.accepted_mask == 0b11
    assert result.outliers == () and result.medians == (10_050, 10_050)


def test_a_colluding_minority_cannot_get_an_honest_proposer_or_voter_slashed() -> None:
    # The finding: one proposer, five voters, two colluders copy the lowest honest value to pull
    # an absolute median down and collapse its MAD. Paired differences cancel the honest
    # voters' bias; a minority can only move the median within the honest differences.
    honest = [[6000, 6100], [8000, 8150], [9000, 9050]]
    colluders = [[9000, 6100], [9000, 6100]]
    record = _record(
        proposers=["P0"],
        voters=["V0", "V1", "V2", "C0", "C1"],
        scores=honest + colluders,
        missing=[],
        stakes={**STAKES, "C0": 50 * TOKEN, "C1": 50 * TOKEN},
    )
    result = settle_round(record, RULES)
    assert result.accepted_mask == 0b1
    slashed = {who for who, _, _ in result.slashes}
    assert not slashed & {"P0", "V0", "V1", "V2"}


def test_a_colluding_minority_can_at_most_decline_an_honest_proposal_three_way() -> None:
    # Attack: two of five voters score the proposal 2900 below their base score. The median
    # stays within the honest voters' differences: all inside the accept tolerance (200), it
    # is accepted; straddling it (+50, -300, -400), it is declined, and never slashed
    colluders = [[9000, 6100], [9000, 6100]]
    stakes = {**STAKES, "C0": 50 * TOKEN, "C1": 50 * TOKEN}
    voters = ["V0", "V1", "V2", "C0", "C1"]

    def settle(honest: list[list[int]]) -> SettlementResult:
        record = _record(
            proposers=["P0"], voters=voters, scores=honest + colluders, missing=[], stakes=stakes
        )
        return settle_round(record, THREE_WAY)

    inside = settle([[6000, 6100], [8000, 8150], [9000, 9050]])
    assert inside.accepted_mask == 0b1
    straddling = settle([[6000, 6050], [8000, 7700], [9000, 8600]])
    assert straddling.accepted_mask == 0
    assert "P0" not in {who for who, _, _ in straddling.slashes}
    assert straddling.stakes["P0"] == 50 * TOKEN


def test_a_voter_misreporting_its_base_score_is_an_outlier_when_base_scores_are_judged() -> None:
    # Prepare: five voters score the base 85-89 % and the proposal 1 point better; V4 inverts
    # what it measured (10000 - score), so its paired difference (-100) stays inside the band
    honest = [[8500, 8600], [8700, 8800], [8900, 9000], [8600, 8700]]
    record = _record(
        proposers=["P0"],
        voters=["V0", "V1", "V2", "V3", "V4"],
        scores=[*honest, [1300, 1200]],
        missing=[],
        stakes={**STAKES, "V3": 50 * TOKEN, "V4": 50 * TOKEN},
    )
    judged = replace(RULES, min_deviation_bps=2000, base_band_bps=2000)

    # Execute / Assert: unjudged base scores leave V4 inside; a base band slashes it alone
    assert settle_round(record, RULES).outliers == ()
    result = settle_round(record, judged)
    assert result.outliers == ("V4",)
    assert result.accepted_mask == 0b1
    assert [(who, why) for who, why, _ in result.slashes] == [
        ("V4", SlashReason.VOTE_OUTSIDE_CONSENSUS)
    ]


def test_the_base_band_is_k_base_mads_or_its_floor() -> None:
    # base scores 8000, 8000, 8600, 9200, 9800: median 8600, MAD 600, V4 1200 off the median
    bases = [8000, 8000, 8600, 9200, 9800]
    record = _record(
        proposers=["P0"],
        voters=["V0", "V1", "V2", "V3", "V4"],
        scores=[[b, b + 100] for b in bases],
        missing=[],
        stakes={**STAKES, "V3": 50 * TOKEN, "V4": 50 * TOKEN},
    )

    def outliers(k_x100: int, floor: int) -> tuple[str, ...]:
        rules = replace(RULES, mad_multiplier_x100=k_x100, base_band_bps=floor)
        return settle_round(record, rules).outliers

    assert outliers(300, 500) == ()  # 3 MADs: 1800
    assert outliers(100, 1300) == ()  # the floor: 1300
    assert outliers(100, 1199) == ("V4",)  # 1 MAD below the floor: 1199
    assert outliers(100, 500) == ("V4",)  # 1 MAD above the floor: 600 (9200, 600 off, inside)
