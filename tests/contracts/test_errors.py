"""Bad input reaches the caller as a Python exception named after the Solidity custom error."""

from __future__ import annotations

import pytest
from conftest import BASE_PARAMS, TOKEN, AllianceFactory

from flock.contracts import (
    ChainMismatchError,
    ChainUnreachableError,
    EmbeddedChain,
    Role,
    RpcChain,
    Signer,
    TxSender,
)
from flock.contracts.anvil import free_port
from flock.contracts.clients import TaskClient
from flock.contracts.deploy import deploy_alliance
from flock.contracts.errors import (
    ERRORS,
    ContractRevert,
    decode_revert,
    error_selector,
)
from flock.contracts.participant import ChainParticipant
from flock.protocol.commitments import encode_scores, random_secret

CONFIG_FIELD_MAX_SAMPLES = 12  # IAllianceTask.ConfigField.MaxSamples
SETTLE_FIELD_SCORES = 3  # IAllianceTask.SettleField.Scores
SETTLE_FIELD_HINTS = 6  # IAllianceTask.SettleField.Hints
SETTLE_FIELD_ATTESTATIONS = 7  # IAllianceTask.SettleField.Attestations


BASE = BASE_PARAMS.initial_model_hash  # what round 1 trains from and its voters attest


def _voting_round(make: AllianceFactory):
    alliance = make(n=6)
    alliance.driver.start()
    roles = alliance.driver.roles(1)
    proposer = alliance.by_address(next(a for a, r in roles.items() if r == Role.PROPOSER))
    voter = alliance.by_address(next(a for a, r in roles.items() if r == Role.VOTER))
    return alliance, proposer, voter


def test_every_solidity_error_has_a_python_exception() -> None:
    for name in ("StakeBelowMinimum", "VoteDuplicate", "VoteRevealMismatch", "PhaseClosed"):
        cls = ERRORS[name]
        assert issubclass(cls, ContractRevert)
        assert cls.__name__ == name
        assert isinstance(decode_revert(error_selector(name) + bytes(32 * 4)), cls)


def test_stake_below_minimum_is_refused(embedded_alliance: AllianceFactory) -> None:
    alliance = embedded_alliance(n=1)
    newcomer = Signer.create()
    alliance.chain.fund(newcomer.address, 10**20)
    alliance.task.token.transfer(alliance.creator, newcomer.address, 100 * TOKEN)

    with pytest.raises(ERRORS["StakeBelowMinimum"]) as info:
        ChainParticipant(newcomer, alliance.task).join(TOKEN)

    assert info.value.values == {"amount": TOKEN, "minimum": 10 * TOKEN}


def test_stake_without_allowance_is_refused(embedded_alliance: AllianceFactory) -> None:
    alliance = embedded_alliance(n=1)
    poor = Signer.create()
    alliance.chain.fund(poor.address, 10**20)
    call = alliance.task.contract.functions.join(20 * TOKEN, 0, bytes(32))
    with pytest.raises(ContractRevert, match="ERC20InsufficientAllowance"):
        alliance.sender.transact(poor, call)


def test_double_join_is_refused(embedded_alliance: AllianceFactory) -> None:
    alliance = embedded_alliance(n=2)
    with pytest.raises(ERRORS["ParticipantAlreadyJoined"]):
        alliance.participants[0].join(20 * TOKEN)


def test_non_participant_cannot_commit_randomness(embedded_alliance: AllianceFactory) -> None:
    alliance = embedded_alliance(n=2)
    stranger = Signer.create()
    alliance.chain.fund(stranger.address, 10**20)
    with pytest.raises(ERRORS["ParticipantUnknown"]):
        alliance.task.commit_seed(stranger, 2, random_secret())


def test_only_voters_vote_and_only_once(embedded_alliance: AllianceFactory) -> None:
    alliance, proposer, voter = _voting_round(embedded_alliance)
    propose_end, _, _ = alliance.task.deadlines(1)
    alliance.chain.advance_time(propose_end - alliance.chain.now())

    with pytest.raises(ERRORS["RoleMismatch"]):
        proposer.commit_vote(1, [8000], BASE)
    voter.commit_vote(1, [8000], BASE)
    with pytest.raises(ERRORS["VoteDuplicate"]):
        voter.commit_vote(1, [8000], BASE)


def test_reveal_that_does_not_match_commit_is_refused(embedded_alliance: AllianceFactory) -> None:
    alliance, _, voter = _voting_round(embedded_alliance)
    propose_end, commit_end, _ = alliance.task.deadlines(1)
    alliance.chain.advance_time(propose_end - alliance.chain.now())
    voter.commit_vote(1, [8000], BASE)
    alliance.chain.advance_time(commit_end - alliance.chain.now())
    salt = voter.votes[1].salt
    reveal = alliance.task.reveal_vote

    with pytest.raises(ERRORS["VoteRevealMismatch"]):
        reveal(voter.signer, 1, encode_scores([9000]), BASE, salt)
    with pytest.raises(ERRORS["VoteRevealMismatch"]):  # the attestation is committed too
        reveal(voter.signer, 1, encode_scores([8000]), b"\x33" * 32, salt)
    with pytest.raises(ERRORS["VoteScoresLength"]):
        reveal(voter.signer, 1, encode_scores([1, 2]), BASE, salt)
    with pytest.raises(ERRORS["VoteScoreOutOfRange"]) as info:  # only 0xFFFF is allowed above
        reveal(voter.signer, 1, (10_001).to_bytes(2, "big"), BASE, salt)
    assert info.value.values == {"item": 0, "score": 10_001}
    voter.reveal_vote(1)


def test_late_proposal_is_refused(embedded_alliance: AllianceFactory) -> None:
    alliance, proposer, _ = _voting_round(embedded_alliance)
    propose_end, _, _ = alliance.task.deadlines(1)
    alliance.chain.advance_time(propose_end - alliance.chain.now())

    with pytest.raises(ERRORS["PhaseClosed"]):
        proposer.propose(1, b"\x01" * 32, 10, "file:///x", BASE)


def test_proposer_cannot_propose_twice(embedded_alliance: AllianceFactory) -> None:
    alliance, proposer, _ = _voting_round(embedded_alliance)
    proposer.propose(1, b"\x01" * 32, 10, "file:///x", BASE)
    with pytest.raises(ERRORS["ProposalDuplicate"]):
        proposer.propose(1, b"\x02" * 32, 10, "file:///y", BASE)


@pytest.mark.parametrize("samples", [0, BASE_PARAMS.max_samples + 1, 2**64 - 1])
def test_sample_count_outside_the_task_range_is_refused(
    embedded_alliance: AllianceFactory, samples: int
) -> None:
    alliance, proposer, _ = _voting_round(embedded_alliance)
    with pytest.raises(ERRORS["ProposalSamplesOutOfRange"]) as info:
        proposer.propose(1, b"\x01" * 32, samples, "file:///x", BASE)
    assert info.value.values == {"numSamples": samples, "maxSamples": BASE_PARAMS.max_samples}
    proposer.propose(1, b"\x01" * 32, BASE_PARAMS.max_samples, "file:///x", BASE)  # the edge


def test_zero_max_samples_is_an_invalid_config(embedded_alliance: AllianceFactory) -> None:
    with pytest.raises(ERRORS["TaskInvalidConfig"]) as info:
        embedded_alliance(n=1, max_samples=0)
    assert info.value.values == {"field": CONFIG_FIELD_MAX_SAMPLES}


def test_settle_before_deadline_is_refused(embedded_alliance: AllianceFactory) -> None:
    alliance, _, _ = _voting_round(embedded_alliance)
    with pytest.raises(ERRORS["PhaseClosed"]):
        alliance.task.settle(alliance.creator, 1)


def test_forged_settlement_hints_are_refused(embedded_alliance: AllianceFactory) -> None:
    alliance, proposer, voter = _voting_round(embedded_alliance)
    task, chain = alliance.task, alliance.chain
    proposer.propose(1, b"\x01" * 32, 10, "file:///x", BASE)
    propose_end, commit_end, reveal_end = task.deadlines(1)
    chain.advance_time(propose_end - chain.now())
    voter.commit_vote(1, [8000, 7000], BASE)
    chain.advance_time(commit_end - chain.now())
    voter.reveal_vote(1)
    chain.advance_time(reveal_end - chain.now())
    reveal = task.vote_reveals(1)[0]
    # the paired difference's hint is true (7000 - 8000 + 10000), the base score's is not (8000)
    forged = (9000).to_bytes(2, "big") * 2 + bytes(4) + (7000).to_bytes(2, "big") * 2 + bytes(4)
    settle_input = (
        [proposer.address],
        [voter.address],
        [reveal.scores],
        [reveal.attestation],
        [reveal.salt],
        [],
        forged,
    )

    with pytest.raises(ERRORS["SettlementInputInvalid"]) as refused:
        alliance.sender.transact(alliance.creator, task.contract.functions.settle(1, settle_input))
    # the hint after the last proposal's is the base scores' (index = number of proposals)
    assert refused.value.values == {"what": SETTLE_FIELD_HINTS, "index": 1}


def test_forged_settlement_attestations_are_refused(embedded_alliance: AllianceFactory) -> None:
    # Prepare: one revealed vote attesting the initial model
    alliance, proposer, voter = _voting_round(embedded_alliance)
    task, chain = alliance.task, alliance.chain
    proposer.propose(1, b"\x01" * 32, 10, "file:///x", BASE)
    propose_end, commit_end, reveal_end = task.deadlines(1)
    chain.advance_time(propose_end - chain.now())
    voter.commit_vote(1, [8000, 8000], BASE)
    chain.advance_time(commit_end - chain.now())
    voter.reveal_vote(1)
    chain.advance_time(reveal_end - chain.now())
    reveal = task.vote_reveals(1)[0]
    # one proposal: the paired difference 8000 - 8000 (+ 10000) is both middles, deviation 0;
    # then the base score 8000, deviation 0
    hints = (10_000).to_bytes(2, "big") * 2 + bytes(4) + (8000).to_bytes(2, "big") * 2 + bytes(4)

    def settle(attestations: list[bytes]) -> object:
        settle_input = (
            [proposer.address], [voter.address], [reveal.scores], attestations,
            [reveal.salt], [], hints,
        )  # fmt: skip
        return alliance.sender.transact(
            alliance.creator, task.contract.functions.settle(1, settle_input)
        )

    # Execute / Assert: a settler cannot swap the attestation (it is under the commitment) ...
    with pytest.raises(ERRORS["SettlementInputInvalid"]) as swapped:
        settle([b"\x44" * 32])
    assert swapped.value.values == {"what": SETTLE_FIELD_SCORES, "index": 0}
    # ... nor drop it
    with pytest.raises(ERRORS["SettlementInputInvalid"]) as dropped:
        settle([])
    assert dropped.value.values == {"what": SETTLE_FIELD_ATTESTATIONS, "index": 0}
    settle([reveal.attestation])


def test_unreachable_rpc_is_a_clear_error() -> None:
    with pytest.raises(ChainUnreachableError, match="cannot reach"):
        RpcChain(f"http://127.0.0.1:{free_port()}", request_timeout=2)


def test_wrong_chain_id_is_refused(anvil) -> None:
    with pytest.raises(ChainMismatchError, match="serves chain"):
        RpcChain(anvil.url, expected_chain_id=1)


def test_address_without_code_is_refused(embedded_alliance: AllianceFactory) -> None:
    alliance = embedded_alliance(n=1)
    with pytest.raises(ChainMismatchError, match="no contract code"):
        TaskClient(alliance.sender, Signer.create().address)


def test_bad_private_key_is_a_clear_error_without_the_key() -> None:
    with pytest.raises(ValueError, match="invalid private key") as info:
        Signer.from_key("0x1234")
    assert "1234" not in str(info.value)


def test_reward_pool_above_the_amount_cap_is_refused() -> None:
    chain = EmbeddedChain()
    creator = Signer.create()
    chain.fund(creator.address, 10**22)
    cap = 2**110  # AllianceTask.MAX_AMOUNT
    with pytest.raises(ERRORS["AmountTooLarge"]):
        deploy_alliance(
            TxSender(chain), creator, BASE_PARAMS, reward_pool=cap + 1, token_supply=cap + 1
        )
    _, task = deploy_alliance(
        TxSender(chain), creator, BASE_PARAMS, reward_pool=cap, token_supply=cap
    )
    assert task.totals()["reward_pool"] == cap
