"""The role draw: the Python mirror against the contract, proposer frequencies over 10,000 seeds,
and what a participant can (not) do to a round whose roles are fixed."""

from __future__ import annotations

import math
import random

import pytest
from conftest import (
    BASE_PARAMS,
    TOKEN,
    Alliance,
    AllianceFactory,
    build_alliance,
    honest_attestation,
    honest_base,
)
from eth_abi import encode
from eth_utils import keccak
from web3.logs import DISCARD
from web3.types import RPCEndpoint

from flock.contracts import Role, RpcChain, SlashReason
from flock.contracts.errors import ERRORS
from flock.contracts.participant import ChainParticipant
from flock.contracts.tx import Signer
from flock.protocol.role_draw import assign_roles, committee_sizes, shuffled_index
from flock.roles.fairness import (
    fairness_seeds,
    proposer_counts,
    proposer_fairness,
    shuffled_positions,
    subset_chi_square,
)

PHASE_ENROLMENT = 1


# ---------------------------------------------------------------- the mirror


@pytest.mark.parametrize("n", [1, 2, 3, 10, 64, 256, 257, 600])
def test_whole_roster_shuffle_equals_the_per_index_mirror(n: int) -> None:
    for seed in fairness_seeds(8 if n <= 64 else 2):
        assert shuffled_positions(n, seed) == [shuffled_index(i, n, seed) for i in range(n)]


def test_mirror_matches_contract_on_a_subset_of_the_fairness_seeds(
    embedded_alliance: AllianceFactory,
) -> None:
    # Prepare: every 1000th of the 10,000 seeds the fairness test draws, with the roster sizes
    # of flock run (10), the conftest alliances (6) and one past a source-hash chunk (300)
    alliance = embedded_alliance(n=2)
    shuffle = alliance.task.contract.functions.shuffle
    seeds = fairness_seeds(10_000)[::1000]

    for seed in seeds:
        for n in (6, 10):
            # Execute / Assert: the permutation position of every roster slot
            on_chain = [shuffle(i, n, seed).call() for i in range(n)]
            assert on_chain == shuffled_positions(n, seed)
    rng = random.Random(11)
    for seed in seeds[:3]:
        for i in rng.sample(range(300), 10):
            assert shuffle(i, 300, seed).call() == shuffled_index(i, 300, seed)


# ---------------------------------------------------------------- proposer frequencies


def test_every_participant_proposes_equally_often_over_10000_seeds() -> None:
    # Execute: flock run's default roster, 10 participants with 3 proposers per round
    report = proposer_fairness(participants=10, proposers_per_round=3, draws=10_000)

    # Assert: 30,000 proposer seats, spread evenly (chi-square, 9 degrees of freedom)
    assert sum(report.counts) == 30_000
    assert report.p_value > 0.01, report


def test_proposer_frequencies_are_even_for_a_small_committee() -> None:
    counts = proposer_counts(
        6, fairness_seeds(2_000, start=10_000), proposers_per_round=2, max_voters=16
    )
    _, p_value = subset_chi_square(counts, 2_000, 2)
    assert p_value > 0.01, counts


def test_chi_square_accepts_uniform_subsets_and_rejects_a_biased_draw() -> None:
    # Prepare: truly uniform 3-of-10 draws, and draws where slot 0 proposes 20 % more often
    rng = random.Random(5)
    draws, n, k = 10_000, 10, 3
    uniform = [0] * n
    biased = [0] * n
    for _ in range(draws):
        for slot in rng.sample(range(n), k):
            uniform[slot] += 1
        picked = rng.sample(range(n), k)
        if 0 not in picked and rng.random() < 0.2 * 0.3 / 0.7:
            picked[0] = 0
        for slot in picked:
            biased[slot] += 1

    # Execute
    _, p_uniform = subset_chi_square(uniform, draws, k)
    _, p_biased = subset_chi_square(biased, draws, k)
    stat_exact, p_exact = subset_chi_square([draws * k // n] * n, draws, k)

    # Assert
    assert p_uniform > 0.01
    assert p_biased < 1e-6
    assert (stat_exact, p_exact) == (0.0, 1.0)


def test_chi_square_statistic_matches_closed_forms() -> None:
    # Chi-square survival functions in closed form: df 1: erfc(sqrt(x/2));
    # df 3: erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2)
    def sf1(x: float) -> float:
        return math.erfc(math.sqrt(x / 2))

    def sf3(x: float) -> float:
        return sf1(x) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2)

    # 2 slots, 1 drawn per round: counts (60, 40) of 100. Squared deviations 200 over
    # N p (1 - p) n / (n - 1) = 100 * 0.25 * 2 = 50: statistic 4, p = 0.0455003
    stat, p = subset_chi_square([60, 40], 100, 1)
    assert stat == pytest.approx(4.0)
    assert p == pytest.approx(sf1(4.0), rel=1e-9)
    assert p == pytest.approx(0.04550026, rel=1e-6)
    # 4 slots, 2 per draw, 1000 draws: E = 500, squared deviations 2600 over 1000/4 * 4/3
    stat, p = subset_chi_square([530, 470, 520, 480], 1000, 2)
    assert stat == pytest.approx(2600 / (1000 * 0.25 * 4 / 3))
    assert p == pytest.approx(sf3(stat), rel=1e-9)
    with pytest.raises(ValueError):
        subset_chi_square([1, 2], 2, 1)


# ---------------------------------------------------------------- fixed rounds


def _roster(alliance: Alliance, round_: int) -> list[str]:
    task = alliance.task
    return [task.participant_at(i) for i in range(task.round_info(round_).roster_size)]


def _assert_roles_follow_the_mirror(alliance: Alliance, round_: int) -> dict[str, Role]:
    task = alliance.task
    roles = alliance.driver.roles(round_)
    mirror = assign_roles(
        _roster(alliance, round_),
        task.seed_of(round_),
        proposers_per_round=task.params.proposers_per_round,
        max_voters=task.params.max_voters,
    )
    assert roles == {a: mirror.get(a, Role.NONE) for a in roles}
    proposers, voters = committee_sizes(
        len(mirror), task.params.proposers_per_round, task.params.max_voters
    )
    assert task.committee_of(round_) == (proposers, voters)
    return roles


def _newcomer(alliance: Alliance) -> ChainParticipant:
    signer = Signer.create()
    alliance.chain.fund(signer.address, 10**20)
    alliance.task.token.transfer(alliance.creator, signer.address, 100 * TOKEN)
    return ChainParticipant(signer, alliance.task)


def _honest(p: ChainParticipant, r: int) -> tuple[bytes, int, str, bytes]:
    digest = bytes.fromhex(p.address[2:]) + r.to_bytes(12, "big")
    return digest, 100, "file:///u", honest_base(p.task)


def _agree(p: ChainParticipant, r: int, proposals: list) -> tuple[list[int], bytes]:
    return [8000] + [8050] * len(proposals), honest_attestation(p.task)


def test_joining_after_a_round_opened_changes_none_of_its_roles(
    embedded_alliance: AllianceFactory,
) -> None:
    # Prepare: round 1 open, its roles read from the contract
    alliance = embedded_alliance(n=6)
    task = alliance.task
    alliance.driver.start()
    before = _assert_roles_follow_the_mirror(alliance, 1)
    seed = task.seed_of(1)

    # Execute: two newcomers join while round 1 runs
    late = [_newcomer(alliance), _newcomer(alliance)]
    for p in late:
        p.join(50 * TOKEN)

    # Assert: same seed, same roster, same roles; the newcomers hold none in round 1
    assert task.seed_of(1) == seed
    assert task.round_info(1).roster_size == 6
    assert _assert_roles_follow_the_mirror(alliance, 1) == before
    assert all(task.role_of(1, p.address) == Role.NONE for p in late)
    with pytest.raises(ERRORS["RoleMismatch"]):
        late[0].propose(1, b"\x01" * 32, 1, "file:///x", honest_base(task))

    # ... and they are drawn like everyone else from the next round on
    alliance.driver.play_round(1, _honest, _agree)
    alliance.participants.extend(late)
    assert task.round_info(2).roster_size == 8
    roles2 = _assert_roles_follow_the_mirror(alliance, 2)
    assert set(roles2.values()) <= {Role.PROPOSER, Role.VOTER, Role.IDLE}


def test_leaving_is_refused_once_enrolment_closed(embedded_alliance: AllianceFactory) -> None:
    # Prepare
    alliance = embedded_alliance(n=6)
    task, chain = alliance.task, alliance.chain
    leaver = alliance.participants[2]
    chain.advance_time(task.enrol_end() - chain.now())

    # Execute / Assert: from the end of enrolment (before any round is drawn) leaving reverts
    with pytest.raises(ERRORS["PhaseClosed"]) as refused:
        task.leave(leaver.signer)
    assert refused.value.values["phase"] == PHASE_ENROLMENT

    alliance.driver.start()
    before = _assert_roles_follow_the_mirror(alliance, 1)
    for p in alliance.participants:
        with pytest.raises(ERRORS["PhaseClosed"]):
            task.leave(p.signer)
    assert task.round_info(1).roster_size == 6
    assert task.index_of(leaver.address) == 2
    assert _assert_roles_follow_the_mirror(alliance, 1) == before


def test_leaving_during_enrolment_happens_before_any_role_exists(
    embedded_alliance: AllianceFactory,
) -> None:
    alliance = embedded_alliance(n=4)
    task = alliance.task
    leaver = alliance.participants[1]

    with pytest.raises(ERRORS["RoundMismatch"]):
        task.seed_of(1)  # no round, no seed: there are no roles to change
    task.leave(leaver.signer)

    assert not task.is_participant(leaver.address)
    assert task.participant_at(1) == alliance.participants[3].address  # the last joiner moved up
    assert task.contract.functions.seedCommitOf(leaver.address).call() == [0, bytes(28)]


def _start_with_withholder(alliance: Alliance, withholder: ChainParticipant) -> None:
    """Close enrolment, reveal round 1's randomness for everyone but `withholder`, open round 1."""
    task, chain = alliance.task, alliance.chain
    chain.advance_time(task.enrol_end() - chain.now())
    for p in alliance.participants:
        if p is not withholder:
            p.reveal_seed(1)
    _, closes = task.seed_reveal_window(1)
    chain.advance_time(closes - chain.now())
    task.start(alliance.creator)


def test_withheld_seed_reveal_is_slashed_and_cannot_be_made_up(
    embedded_alliance: AllianceFactory,
) -> None:
    # Prepare: one participant keeps its round-1 secret back
    alliance = embedded_alliance(n=6)
    task = alliance.task
    withholder = alliance.participants[3]
    _start_with_withholder(alliance, withholder)
    alliance.chain.mine()
    before = _assert_roles_follow_the_mirror(alliance, 1)
    stake, _ = task.account_of(withholder.address)

    # Execute: the reveal comes too late; anyone slashes the missed reveal
    with pytest.raises(ERRORS["RoundMismatch"]):
        withholder.reveal_seed(1)
    receipt = task.slash_missed_seed_reveal(alliance.creator, withholder.address)

    # Assert: slashed once, by the task's rate; the fixed round's roles are untouched
    slashed = task.contract.events.Slashed().process_receipt(receipt, errors=DISCARD)
    assert [(e["args"]["participant"], e["args"]["reason"]) for e in slashed] == [
        (withholder.address, SlashReason.MISSING_SEED_REVEAL)
    ]
    rate = task.params.slash_bps
    assert task.account_of(withholder.address)[0] == stake - stake * rate // 10_000
    with pytest.raises(ERRORS["SeedCommitMissing"]):
        task.slash_missed_seed_reveal(alliance.creator, withholder.address)
    assert _assert_roles_follow_the_mirror(alliance, 1) == before


def test_withheld_seed_reveal_is_slashed_at_withdrawal_when_nobody_reported_it(
    embedded_alliance: AllianceFactory,
) -> None:
    # Prepare: a one-round task; the withholder plays the round as its role says
    alliance = embedded_alliance(n=5, rounds=1)
    task = alliance.task
    withholder = alliance.participants[0]
    _start_with_withholder(alliance, withholder)
    alliance.driver.play_round(1, _honest, _agree)
    if task.pending_aggregate_round():  # the closing round attests round 1's aggregate
        alliance.driver.play_round(2, _honest, _agree)
    assert task.status()[1] is True
    stake, _ = task.account_of(withholder.address)
    before = task.token.balance_of(withholder.address)

    # Execute: nobody called slashMissedSeedReveal; the withholder withdraws
    receipt = task.withdraw(withholder.signer)

    # Assert: the withdrawal itself settled the missed reveal first
    penalty = stake * task.params.slash_bps // 10_000
    reasons = [
        e["args"]["reason"]
        for e in task.contract.events.Slashed().process_receipt(receipt, errors=DISCARD)
    ]
    assert reasons == [SlashReason.MISSING_SEED_REVEAL]
    assert task.token.balance_of(withholder.address) - before == stake - penalty


# ---------------------------------------------------------------- the seed formula

SEED_DOMAIN = keccak(b"flock.AllianceTask.seed.v2")


def _xor(values: list[bytes]) -> bytes:
    out = 0
    for v in values:
        out ^= int.from_bytes(v, "big")
    return out.to_bytes(32, "big")


def _offline_seed(alliance: Alliance, round_: int, entropy: bytes) -> bytes:
    """keccak256(abi.encode(SEED_DOMAIN, task, chainid, round, entropy)), computed here."""
    fields = (SEED_DOMAIN, alliance.task.address, alliance.chain.chain_id, round_, entropy)
    return keccak(encode(["bytes32", "address", "uint256", "uint256", "bytes32"], fields))


def _reveal_round_one(alliance: Alliance) -> list[bytes]:
    """Close enrolment and reveal everyone's round-1 secret (returned); round 1 is not open."""
    task, chain = alliance.task, alliance.chain
    secrets = [p.seed_secrets[1] for p in alliance.participants]
    chain.advance_time(task.enrol_end() - chain.now())
    for p in alliance.participants:
        p.reveal_seed(1)
    _, closes = task.seed_reveal_window(1)
    chain.advance_time(closes - chain.now())
    return secrets


def test_seed_is_the_documented_hash_of_the_revealed_secrets(
    make_alliance: AllianceFactory,
) -> None:
    # Prepare: everyone revealed its round-1 secret
    alliance = make_alliance(n=6)
    task = alliance.task
    assert bytes(task.contract.functions.SEED_DOMAIN().call()) == SEED_DOMAIN
    secrets = _reveal_round_one(alliance)

    # Execute: open round 1, play it (its vote salts feed round 2)
    receipt = task.start(alliance.creator)
    seed1 = task.seed_of(1)
    alliance.driver.play_round(1, _honest, _agree)
    salts = [r.salt for r in task.vote_reveals(1)]

    # Assert: both seeds are the formula over the XOR of every secret revealed before
    assert seed1 == _offline_seed(alliance, 1, _xor(secrets))
    assert task.seed_of(2) == _offline_seed(alliance, 2, _xor(secrets + salts))
    opened = task.contract.events.RoundOpened().process_receipt(receipt, errors=DISCARD)
    assert [bytes(e["args"]["seed"]) for e in opened] == [seed1]
    assert opened[0]["args"]["startBlock"] == task.round_info(1).start_block
    _assert_roles_follow_the_mirror(alliance, 2)


def test_the_opening_block_cannot_change_the_seed(anvil) -> None:
    # Prepare: on anvil, the round-1 reveals done; the chain state saved before `start`
    chain = RpcChain(anvil.url, expected_chain_id=anvil.chain_id, dev=True)
    alliance = build_alliance(chain, 6, BASE_PARAMS, 50 * TOKEN)
    task = alliance.task
    secrets = _reveal_round_one(alliance)
    rpc = chain.w3.provider.make_request
    snapshot = rpc(RPCEndpoint("evm_snapshot"), [])["result"]

    def open_round_one() -> tuple[bytes, int, dict[str, Role]]:
        task.start(alliance.creator)
        info = task.round_info(1)
        return task.seed_of(1), info.start_block, _assert_roles_follow_the_mirror(alliance, 1)

    seed, block, roles = open_round_one()

    # Execute: the same reveals, but round 1 opens in another block: 40 blocks later, at
    # another timestamp, under another coinbase (another blockhash and prevrandao)
    assert rpc(RPCEndpoint("evm_revert"), [snapshot])["result"] is True
    alliance.creator.reset_nonce()
    chain.mine(40)
    chain.advance_time(3_600)
    rpc(RPCEndpoint("anvil_setCoinbase"), ["0x" + "ab" * 20])
    other_seed, other_block, other_roles = open_round_one()

    # Assert: the block differs, the seed and the roles do not
    assert other_block >= block + 40
    assert other_seed == seed == _offline_seed(alliance, 1, _xor(secrets))
    assert other_roles == roles


def test_a_fixed_seed_outlives_the_blockhash_window(embedded_alliance: AllianceFactory) -> None:
    # Prepare: round 1 open, its seed fixed at the opening
    alliance = embedded_alliance(n=6)
    alliance.driver.start()
    roles = _assert_roles_follow_the_mirror(alliance, 1)
    seed = alliance.task.seed_of(1)

    # Execute: more than 256 blocks pass
    alliance.chain.mine(300)

    # Assert: no blockhash enters the seed: the seed and the roles are unchanged
    assert alliance.task.seed_of(1) == seed
    assert _assert_roles_follow_the_mirror(alliance, 1) == roles
