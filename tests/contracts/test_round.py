"""A whole alliance round, played and settled from Python, on the in-process EVM and on anvil."""

from __future__ import annotations

import pytest
from conftest import TOKEN, Alliance, AllianceFactory, honest_attestation, honest_base

from flock.contracts import Outcome, Role, SlashReason
from flock.contracts.participant import ChainParticipant
from flock.protocol.role_draw import assign_roles
from flock.protocol.types import Proposal


def _honest_proposal(p: ChainParticipant, r: int) -> tuple[bytes, int, str, bytes]:
    digest = bytes.fromhex(p.address[2:]) + r.to_bytes(12, "big")
    return digest, 100, f"file:///store/{digest.hex()}", honest_base(p.task)


def _scores_rejecting(bad: set[str]):
    """Voters score every proposal 80 % except those of `bad` proposers (30 %)."""

    def score(p: ChainParticipant, r: int, proposals: list[Proposal]) -> tuple[list[int], bytes]:
        scores = [8000] + [3000 if q.proposer in bad else 8050 for q in proposals]
        return scores, honest_attestation(p.task)

    return score


def _assert_solvent(alliance: Alliance) -> None:
    t = alliance.task.totals()
    assert t["balance"] == t["reward_pool"] + t["total_staked"] + t["total_claimable"]


def test_full_round_assigns_roles_settles_and_pays(make_alliance: AllianceFactory) -> None:
    # Prepare
    alliance = make_alliance(n=6)
    task, driver = alliance.task, alliance.driver
    driver.start()
    roles = driver.roles(1)
    roster = [task.participant_at(i) for i in range(task.round_info(1).roster_size)]
    proposers = [a for a, role in roles.items() if role == Role.PROPOSER]
    bad = {proposers[0]}

    # Execute
    result = driver.play_round(1, _honest_proposal, _scores_rejecting(bad))

    # Assert: roles follow the seed exactly as the Python mirror draws them
    mirror = assign_roles(
        roster, task.seed_of(1), proposers_per_round=2, max_voters=task.params.max_voters
    )
    assert roles == mirror
    assert sorted(roles.values()).count(Role.PROPOSER) == 2
    assert result.settlement.outcome == Outcome.SETTLED
    bad_index = next(p.index for p in result.proposals if p.proposer in bad)
    assert not result.settlement.accepted(bad_index)
    assert result.settlement.accepted(1 - bad_index)
    slashed = {(a, reason) for a, reason, _ in result.settlement.slashes}
    assert slashed == {(proposers[0], SlashReason.REJECTED_PROPOSAL)}
    rewarded = {a for a, _ in result.settlement.rewards}
    voters = {a for a, role in roles.items() if role == Role.VOTER}
    assert rewarded == voters | {proposers[1]}
    _assert_solvent(alliance)

    # Execute: every rewarded participant claims exactly what it was credited
    honest = alliance.by_address(proposers[1])
    _, credited = task.account_of(honest.address)
    before = task.token.balance_of(honest.address)
    task.claim(honest.signer)
    assert task.token.balance_of(honest.address) - before == credited
    assert task.account_of(honest.address)[1] == 0
    _assert_solvent(alliance)


def test_missing_vote_reveal_is_slashed(make_alliance: AllianceFactory) -> None:
    alliance = make_alliance(n=6)
    alliance.driver.start()
    roles = alliance.driver.roles(1)
    lazy = next(a for a, role in roles.items() if role == Role.VOTER)

    result = alliance.driver.play_round(
        1, _honest_proposal, _scores_rejecting(set()), reveal=lambda p, r: p.address != lazy
    )

    assert (lazy, SlashReason.MISSING_VOTE_REVEAL) in {
        (a, reason) for a, reason, _ in result.settlement.slashes
    }
    assert lazy not in {a for a, _ in result.settlement.rewards}
    stake, _ = alliance.task.account_of(lazy)
    assert stake == 50 * TOKEN - 5 * TOKEN
    _assert_solvent(alliance)


def test_wash_round_is_voided_without_rewards(make_alliance: AllianceFactory) -> None:
    alliance = make_alliance(n=8)
    alliance.driver.start()
    roles = alliance.driver.roles(1)
    voters = sorted(a for a, role in roles.items() if role == Role.VOTER)
    lazy = voters[0]
    pool_before = alliance.task.totals()["reward_pool"]

    def split(p: ChainParticipant, r: int, proposals: list[Proposal]) -> tuple[list[int], bytes]:
        # every voter far from every other: no consensus anywhere
        k = voters.index(p.address)
        scores = [(k * 1700) % 10_001] + [((k + 3) * 2900) % 10_001 for _ in proposals]
        return scores, honest_attestation(p.task)

    result = alliance.driver.play_round(
        1, _honest_proposal, split, reveal=lambda p, r: p.address != lazy
    )

    assert result.settlement.outcome == Outcome.VOID
    assert result.settlement.rewards == ()
    assert {reason for _, reason, _ in result.settlement.slashes} == {
        SlashReason.MISSING_VOTE_REVEAL
    }
    assert alliance.task.totals()["reward_pool"] == pool_before + 5 * TOKEN
    _assert_solvent(alliance)


def test_task_runs_to_the_end_and_everyone_withdraws(make_alliance: AllianceFactory) -> None:
    alliance = make_alliance(n=5, rounds=2)
    task = alliance.task
    alliance.driver.start()
    for r in (1, 2):
        alliance.driver.play_round(r, _honest_proposal, _scores_rejecting(set()))
    # round 2's aggregate is pending: the closing round (voters only) attests it
    assert task.status()[1] is False
    assert task.pending_aggregate_round() == 2
    closing = alliance.driver.play_round(3, _honest_proposal, _scores_rejecting(set()))
    assert closing.proposals == [] and closing.settlement.outcome == Outcome.EMPTY
    assert task.global_model()[1] == 2
    assert task.status()[1] is True

    for p in alliance.participants:
        stake, claimable = task.account_of(p.address)
        if claimable:
            task.claim(p.signer)
        task.withdraw(p.signer)
    if task.totals()["reward_pool"]:
        task.reclaim_leftover(alliance.creator)

    totals = task.totals()
    assert totals == {"reward_pool": 0, "total_staked": 0, "total_claimable": 0, "balance": 0}


@pytest.mark.parametrize("seed_count", [200])
def test_python_shuffle_matches_contract(make_alliance: AllianceFactory, seed_count: int) -> None:
    import random

    from flock.protocol.role_draw import shuffled_index

    alliance = make_alliance(n=2)
    rng = random.Random(7)
    for _ in range(seed_count):
        n = rng.randint(1, 300)
        index = rng.randrange(n)
        seed = rng.randbytes(32)
        on_chain = alliance.task.contract.functions.shuffle(index, n, seed).call()
        assert shuffled_index(index, n, seed) == on_chain
