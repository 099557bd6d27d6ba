"""The global model is adopted by attestation: played end to end through the Python client."""

from __future__ import annotations

import pytest
from conftest import (
    BASE_PARAMS,
    Alliance,
    AllianceFactory,
    honest_attestation,
    honest_base,
    stand_in_aggregate,
)
from eth_utils import keccak

from flock.contracts import Outcome, Phase, Role, SlashReason
from flock.contracts.errors import ERRORS
from flock.contracts.participant import ChainParticipant
from flock.local.driver import RoundResult
from flock.protocol.commitments import UNAVAILABLE
from flock.protocol.types import Proposal

POISON = keccak(b"a poisoned aggregate")
INITIAL = BASE_PARAMS.initial_model_hash


def _propose(p: ChainParticipant, r: int) -> tuple[bytes, int, str, bytes]:
    digest = keccak(bytes.fromhex(p.address[2:]) + r.to_bytes(32, "big"))
    return digest, 100, f"file:///store/{digest.hex()}", honest_base(p.task)


def _voting(attest: dict[str, bytes] | None = None):
    """Voters agree on every proposal; those in `attest` attest the hash given there, the
    others honestly (the pending aggregate's stand-in, else the adopted model)."""
    attest = attest or {}

    def score(p: ChainParticipant, r: int, proposals: list[Proposal]):
        ballot = [8000] + [8050] * len(proposals)
        return ballot, attest.get(p.address, honest_attestation(p.task))

    return score


def _voters(alliance: Alliance, round_: int) -> list[str]:
    return sorted(a for a, r in alliance.driver.roles(round_).items() if r == Role.VOTER)


def _slashed(result: RoundResult, reason: SlashReason) -> set[str]:
    return {a for a, why, _ in result.settlement.slashes if why == reason}


def test_minority_poisoned_attestation_is_never_adopted_and_attackers_are_slashed(
    make_alliance: AllianceFactory,
) -> None:
    # Prepare: round 1 accepts updates, so its aggregate is pending for round 2's voters
    alliance = make_alliance(n=8, rounds=2)
    task, driver = alliance.task, alliance.driver
    driver.start()
    first = driver.play_round(1, _propose, _voting())
    assert first.settlement.accepted_mask and task.pending_aggregate_round() == 1
    assert task.global_model() == (INITIAL, 0)  # not adopted before round 2 attests it
    voters = _voters(alliance, 2)
    attackers = voters[: (len(voters) - 1) // 2]  # a minority, colluding on one hash
    assert attackers

    # Execute
    second = driver.play_round(2, _propose, _voting(dict.fromkeys(attackers, POISON)))

    # Assert: the honest aggregate adopted, every attacker slashed, no honest voter
    adopted = task.adopted_aggregate(2)
    assert adopted is not None
    assert (adopted.round, adopted.model_hash) == (1, stand_in_aggregate(1))
    assert (adopted.votes, adopted.reveals) == (len(voters) - len(attackers), len(voters))
    assert task.global_model() == (stand_in_aggregate(1), 1)
    assert _slashed(second, SlashReason.WRONG_ATTESTATION) == set(attackers)
    assert not {a for a, amount in second.settlement.rewards if amount} & set(attackers)
    assert second.settlement.outcome == Outcome.SETTLED
    assert task.voided_aggregate(2) is None

    # Execute: the closing round (voters only) attests round 2's aggregate
    assert task.status()[1] is False and task.pending_aggregate_round() == 2
    closing = driver.play_round(3, _propose, _voting())

    # Assert: adopted, the task ended; no honest voter was ever slashed for its attestation
    assert closing.proposals == [] and closing.settlement.outcome == Outcome.EMPTY
    assert task.global_model() == (stand_in_aggregate(2), 2)
    assert task.status()[1] is True
    for result in (first, second, closing):
        assert _slashed(result, SlashReason.WRONG_ATTESTATION) <= set(attackers)


def test_wrong_attestation_of_the_adopted_model_is_slashed_without_a_pending_aggregate(
    embedded_alliance: AllianceFactory,
) -> None:
    # Prepare: round 1 trains from the initial model; nothing is pending
    alliance = embedded_alliance(n=6)
    alliance.driver.start()
    assert alliance.task.pending_aggregate_round() == 0
    liar = _voters(alliance, 1)[0]

    # Execute
    result = alliance.driver.play_round(1, _propose, _voting({liar: POISON}))

    # Assert: the initial model stays, the liar alone is slashed for it
    assert _slashed(result, SlashReason.WRONG_ATTESTATION) == {liar}
    assert alliance.task.adopted_aggregate(1) is None
    assert alliance.task.global_model() == (INITIAL, 0)


@pytest.mark.parametrize("split", ["zero-majority", "no-strict-majority"])
def test_aggregate_without_a_nonzero_majority_is_voided(
    make_alliance: AllianceFactory, split: str
) -> None:
    # Prepare: round 1's aggregate pending
    alliance = make_alliance(n=8, rounds=2)
    task, driver = alliance.task, alliance.driver
    driver.start()
    driver.play_round(1, _propose, _voting())
    voters = _voters(alliance, 2)
    half = len(voters) // 2
    if split == "zero-majority":  # most voters could not recompute the base: they attest 0
        attest = dict.fromkeys(voters[: half + 1], bytes(32))
    else:  # an exact tie between the honest hash and a poisoned one
        assert len(voters) % 2 == 0
        attest = dict.fromkeys(voters[:half], POISON)
    pool_before = task.totals()["reward_pool"]

    # Execute
    result = driver.play_round(2, _propose, _voting(attest))

    # Assert: void for good, nobody slashed for attesting, the alliance keeps the initial model
    assert task.voided_aggregate(2) == 1
    assert task.adopted_aggregate(2) is None
    assert result.settlement.outcome == Outcome.VOID
    assert result.settlement.rewards == () and result.settlement.accepted_mask == 0
    assert _slashed(result, SlashReason.WRONG_ATTESTATION) == set()
    assert task.global_model() == (INITIAL, 0)
    assert task.pending_aggregate_round() == 0
    assert task.totals()["reward_pool"] == pool_before  # the round's share stays in the pool
    assert task.status()[1] is True  # nothing pending after the last round: no closing round


def test_closing_round_adopts_the_final_aggregate(make_alliance: AllianceFactory) -> None:
    # Prepare: a one-round task whose round accepted updates
    alliance = make_alliance(n=6, rounds=1)
    task, driver = alliance.task, alliance.driver
    driver.start()
    driver.play_round(1, _propose, _voting())
    assert task.status()[:2] == (2, False)

    # Assert: the closing round has voters only and no propose period
    info = task.round_info(2)
    propose_end, commit_end, _ = task.deadlines(2)
    assert propose_end == info.start and commit_end == info.start + task.params.commit_period
    assert info.base_round == 1
    proposers, voters = task.committee_of(2)
    assert proposers == 0 and voters == min(task.params.max_voters, 6)
    assert Role.PROPOSER not in driver.roles(2).values()
    assert task.phase() == (2, Phase.VOTE_COMMIT, commit_end)
    someone = alliance.participants[0]
    with pytest.raises(ERRORS["PhaseClosed"]):
        someone.propose(2, b"\x01" * 32, 1, "file:///x", stand_in_aggregate(1))

    # Execute
    closing = driver.play_round(2, _propose, _voting())

    # Assert
    assert closing.settlement.outcome == Outcome.EMPTY
    adopted = task.adopted_aggregate(2)
    assert adopted is not None and (adopted.round, adopted.model_hash) == (
        1,
        stand_in_aggregate(1),
    )
    assert task.global_model() == (stand_in_aggregate(1), 1)
    assert task.status()[1] is True and task.phase() == (2, Phase.TASK, 0)


def test_proposal_most_voters_cannot_fetch_is_slashed_as_unavailable(
    embedded_alliance: AllianceFactory,
) -> None:
    # Prepare: every voter marks proposal 0 unavailable
    alliance = embedded_alliance(n=6)
    alliance.driver.start()

    def score(p: ChainParticipant, r: int, proposals: list[Proposal]):
        return [8000, UNAVAILABLE] + [8050] * (len(proposals) - 1), honest_attestation(p.task)

    # Execute
    result = alliance.driver.play_round(1, _propose, score)

    # Assert
    unserved = result.proposals[0].proposer
    assert _slashed(result, SlashReason.UNAVAILABLE_PROPOSAL) == {unserved}
    assert not result.settlement.accepted(0) and result.settlement.accepted(1)
