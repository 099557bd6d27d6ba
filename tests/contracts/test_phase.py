"""`phase()`: the window open now and its deadline, walked through a whole task."""

from __future__ import annotations

import pytest
from conftest import AllianceFactory, honest_attestation, honest_base

from flock.contracts import Phase, Role
from flock.contracts.errors import ERRORS
from flock.protocol.commitments import random_secret


def test_phase_view(make_alliance: AllianceFactory) -> None:
    # Prepare: a one-round task, so the walk reaches the closing round and the end
    alliance = make_alliance(n=5, rounds=1)
    task, chain = alliance.task, alliance.chain
    params = task.params
    seen: set[Phase] = set()

    def phase_before(deadline: int) -> tuple[int, Phase, int]:
        """phase() a few seconds before `deadline` (0: now)."""
        if deadline - 5 > chain.now():
            chain.advance_time(deadline - 5 - chain.now())
        round_, phase, closes = task.phase()
        seen.add(phase)
        return round_, phase, closes

    # Execute / Assert: enrolment, round 1's seed reveal window, then waiting for start()
    enrol_end = task.enrol_end()
    seed_end = enrol_end + params.reveal_period
    assert task.seed_reveal_window(1) == (enrol_end, seed_end)
    assert phase_before(0) == (0, Phase.ENROLMENT, enrol_end)
    assert phase_before(enrol_end + 10) == (0, Phase.SEED_REVEAL, seed_end)
    with pytest.raises(ERRORS["PhaseClosed"]) as late:  # commits closed with the enrolment
        task.commit_seed(alliance.participants[0].signer, 1, random_secret())
    assert late.value.values["phase"] == Phase.SEED_COMMIT
    for p in alliance.participants:
        p.reveal_seed(1)
    assert phase_before(seed_end + 10) == (0, Phase.START, 0)

    # round 1, played by hand in the phase that phase() names
    task.start(alliance.creator)
    propose_end, commit_end, reveal_end = task.deadlines(1)
    assert propose_end == task.round_info(1).start + params.propose_period
    assert commit_end == propose_end + params.commit_period
    assert reveal_end == commit_end + params.reveal_period
    roles = alliance.driver.roles(1)
    proposers = [alliance.by_address(a) for a, r in roles.items() if r == Role.PROPOSER]
    voters = [alliance.by_address(a) for a, r in roles.items() if r == Role.VOTER]
    assert phase_before(0) == (1, Phase.PROPOSE, propose_end)
    for i, p in enumerate(proposers):
        p.propose(1, bytes([i + 1]) * 32, 10, "file:///u", honest_base(task))
    assert phase_before(propose_end + 10) == (1, Phase.VOTE_COMMIT, commit_end)
    for v in voters:
        v.commit_vote(1, [8000] + [8050] * len(proposers), honest_attestation(task))
    assert phase_before(commit_end + 10) == (1, Phase.VOTE_REVEAL, reveal_end)
    for v in voters:
        v.reveal_vote(1)
    assert phase_before(reveal_end + 10) == (1, Phase.SETTLE, 0)
    task.settle(alliance.creator, 1)

    # the closing round: no propose period, voters attest round 1's aggregate
    assert task.pending_aggregate_round() == 1
    propose2, commit2, reveal2 = task.deadlines(2)
    assert propose2 == task.round_info(2).start
    assert phase_before(0) == (2, Phase.VOTE_COMMIT, commit2)
    alliance.driver.play_round(
        2, lambda p, r: None, lambda p, r, ps: ([8000], honest_attestation(task))
    )

    # Assert: the task ended; every phase was seen (seed commits only as the error above)
    assert phase_before(0) == (2, Phase.TASK, 0)
    assert seen | {Phase.SEED_COMMIT} == set(Phase)
    assert (commit2, reveal2) == (propose2 + params.commit_period, commit2 + params.reveal_period)
