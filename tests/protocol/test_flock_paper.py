"""The FLock paper's rule on hand-computed rounds: a whole-aggregate vote, fixed slashes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flock.protocol.flock_paper import (
    ACCEPT,
    REJECT,
    PaperRound,
    PaperRules,
    PaperSlashReason,
    honest_vote,
    settle_paper_round,
)

TOKEN = 10**18
RULES = PaperRules(rounds=4, gamma=8 * TOKEN, tolerance_bps=100, voter_share_bps=3000)
STAKES = {a: 64 * TOKEN for a in ("P0", "P1", "V0", "V1", "V2", "M")}


def _round(**changes: object) -> PaperRound:
    base = PaperRound(
        round=1,
        proposers=["P0", "P1"],
        votes={"V0": ACCEPT, "V1": ACCEPT, "V2": REJECT},
        missing=[],
        stakes=STAKES,
        reward_pool=400 * TOKEN,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_honest_vote_accepts_within_the_tolerance() -> None:
    assert honest_vote(9000, 9100, 100) == ACCEPT
    assert honest_vote(8999, 9100, 100) == REJECT


def test_accepted_round_rewards_proposers_and_majority_slashes_dissent() -> None:
    result = settle_paper_round(_round(), RULES)

    assert result.accepted and result.tally == 1
    assert result.slashes == (("V2", PaperSlashReason.VOTE_AGAINST_OUTCOME, 8 * TOKEN),)
    budget = 100 * TOKEN + 8 * TOKEN  # pool / 4 rounds left + this round's slash
    voter_budget = budget * 3000 // 10_000
    rewards = dict(result.rewards)
    assert rewards["P0"] == rewards["P1"] == (budget - voter_budget) // 2
    assert rewards["V0"] == rewards["V1"] == voter_budget // 2
    assert "V2" not in rewards
    assert result.stakes["V2"] == 56 * TOKEN
    assert result.reward_pool == 400 * TOKEN + 8 * TOKEN - sum(rewards.values())


def test_a_tie_accepts() -> None:
    result = settle_paper_round(_round(votes={"V0": ACCEPT, "V1": REJECT}), RULES)
    assert result.accepted and result.tally == 0


def test_rejected_round_slashes_every_proposer_and_rewards_only_matching_voters() -> None:
    votes = {"V0": REJECT, "V1": REJECT, "V2": ACCEPT}
    result = settle_paper_round(_round(votes=votes, missing=["M"]), RULES)

    assert not result.accepted
    reasons = {who: reason for who, reason, _ in result.slashes}
    assert reasons == {
        "P0": PaperSlashReason.REJECTED_ROUND,
        "P1": PaperSlashReason.REJECTED_ROUND,
        "V2": PaperSlashReason.VOTE_AGAINST_OUTCOME,
        "M": PaperSlashReason.NO_VOTE,
    }
    assert all(amount == 8 * TOKEN for _, _, amount in result.slashes)
    assert set(dict(result.rewards)) == {"V0", "V1"}


def test_stake_reaching_zero_removes_the_participant() -> None:
    stakes = {**STAKES, "P0": 5 * TOKEN, "P1": 8 * TOKEN}
    result = settle_paper_round(
        _round(votes={"V0": REJECT}, stakes=stakes), replace(RULES, voter_share_bps=10_000)
    )

    assert result.stakes["P0"] == 0 and result.stakes["P1"] == 0
    assert result.removed == ("P0", "P1")
    assert [a for who, _, a in result.slashes if who == "P0"] == [5 * TOKEN]


def test_eight_rejections_take_the_papers_stake_of_64() -> None:
    stakes = dict(STAKES)
    for round_ in range(1, 9):
        result = settle_paper_round(
            _round(round=1, votes={"V0": REJECT}, stakes=stakes, reward_pool=0), RULES
        )
        stakes = {**stakes, **result.stakes}
        assert ("P0" in result.removed) == (round_ == 8)
    assert stakes["P0"] == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"votes": {"V0": 2}},
        {"votes": {"V0": ACCEPT}, "missing": ["V0"]},
        {"proposers": ["nobody"]},
    ],
)
def test_rejects_malformed_rounds(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        settle_paper_round(_round(**changes), RULES)
