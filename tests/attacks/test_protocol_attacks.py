"""Attacks on the protocol around the vote (the global model's attestation, the aggregation
weight, the base model, blob availability): each changes what it should, and the protocol
answers it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from flock.attacks import AggregatePoster, StaleBase, WeightInflation, Withholding
from flock.defence.world import World, build_world
from flock.protocol.commitments import UNAVAILABLE
from flock.protocol.types import Proposal

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


def _cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(_cfg("+experiment=defence", "attack=none"))


def _proposal(world: World, i: int, vector: torch.Tensor, **fields: object) -> Proposal:
    who = world.members[1 + i]
    digest = world.store.put(vector, {"proposer": who.address, "round": "1"})
    values = {"num_samples": 10, "base_hash": b"\x01" * 32, **fields}
    return Proposal(1, who.address, i, digest, values["num_samples"], "",  # type: ignore[arg-type]
                    values["base_hash"])  # type: ignore[arg-type]  # fmt: skip


def test_a_voter_marks_what_it_cannot_fetch_unavailable_and_refuses_a_wrong_base(
    world: World,
) -> None:
    # Prepare: four honest proposals; one names another base, one's blob is never served
    voter = world.members[0].voter
    base = world.initial
    g = torch.Generator().manual_seed(5)
    vectors = [base + 0.01 * torch.randn(len(base), generator=g) for _ in range(4)]
    proposals = [_proposal(world, i, v) for i, v in enumerate(vectors)]
    proposals[1] = _proposal(world, 1, vectors[1], base_hash=b"\x02" * 32)
    proposals[2] = Proposal(1, proposals[2].proposer, 2, b"\x09" * 32, 10, "", b"\x01" * 32)
    # Execute
    ballot = voter.ballot(base, proposals, base_hash=b"\x01" * 32, round_=1)
    # Assert: 0xFFFF for the missing blob (not a quality refusal), 0 for the wrong base
    assert ballot.scores[3] == UNAVAILABLE and ballot.unavailable == {2}
    assert ballot.scores[2] == 0 and "built on base" in ballot.rejected_blobs[1]
    assert ballot.scores[1] >= 1 and ballot.scores[4] >= 1
    assert ballot.attestation == b"\x01" * 32  # an honest voter attests its own recomputation


def test_a_voter_refuses_a_claim_implausible_for_its_own_data(world: World) -> None:
    voter = world.members[0].voter
    own = voter.ctx.data.num_train
    ratio = voter.screening.max_sample_ratio
    base = world.initial
    plausible = _proposal(world, 0, base + 0.01, num_samples=int(ratio * own))
    inflated = _proposal(world, 1, base - 0.01, num_samples=int(ratio * own) + 1)
    ballot = voter.ballot(base, [plausible, inflated], base_hash=b"\x01" * 32, round_=1)
    assert ballot.scores[1] >= 1
    assert ballot.scores[2] == 0 and "claims" in ballot.rejected_blobs[1]


def test_aggregate_posters_attest_one_stored_poisoned_model(world: World) -> None:
    # Prepare: two colluding posters with the run's poster seed
    honest = b"\x01" * 32
    stored: dict[int, bytes] = {}

    def poison(seed: int) -> bytes:
        stored[seed] = world.members[0].voter._poison(seed)
        return stored[seed]

    # Execute
    first = AggregatePoster(seed=666).attestation(honest, round=3, poison=poison)
    second = AggregatePoster(seed=666).attestation(honest, round=3, poison=poison)
    # Assert: the same poisoned hash (colluders pool their votes), a blob that exists
    assert first == second != honest
    assert world.store.exists(first)
    assert AggregatePoster(seed=666).attestation(honest, round=4, poison=poison) != first


def test_weight_inflation_claims_the_chains_cap_and_honest_claims_the_truth() -> None:
    assert WeightInflation().claimed_samples(120, 100_000) == 100_000
    assert WeightInflation(claim=5_000).claimed_samples(120, 100_000) == 5_000
    assert WeightInflation(claim=10**9).claimed_samples(120, 100_000) == 100_000
    assert Withholding().claimed_samples(120, 100_000) == 120
    with pytest.raises(ValueError, match="claim"):
        WeightInflation(claim=0)


def test_stale_base_trains_from_and_names_the_initial_model(world: World) -> None:
    member = world.members[2]
    proposer = member.proposer
    proposer.behaviour = StaleBase()
    current = world.initial + 0.5
    initial = (world.initial, b"\x07" * 32)
    digest, _, _, base = proposer.prepare(current, 1, base_hash=b"\x01" * 32, initial=initial)
    proposer.behaviour = type(proposer.behaviour).__mro__[1]()  # back to honest
    assert base == b"\x07" * 32
    honest_digest, _, _, honest_base = proposer.prepare(
        world.initial, 1, base_hash=b"\x07" * 32, initial=initial
    )
    assert honest_base == b"\x07" * 32 and honest_digest == digest  # same model, same training


def test_withholding_proposes_a_hash_it_never_serves(world: World) -> None:
    member = world.members[3]
    member.proposer.behaviour = Withholding()
    try:
        digest, samples, uri, _ = member.proposer.prepare(world.initial, 1, base_hash=bytes(32))
    finally:
        member.proposer.behaviour = type(member.proposer.behaviour).__mro__[1]()
    assert not world.store.exists(digest)
    assert samples == member.proposer.ctx.data.num_train and digest.hex() in uri


def _alliance_run(tmp_path: Path, attack: str, rounds: int = 4):
    from flock.contracts.connect import open_chain
    from flock.local.alliance import build_alliance
    from flock.local.experiment import adopted_model_quality, play

    cfg = _cfg(f"attack={attack}", f"task.rounds={rounds}", "training.epochs=3")
    with open_chain(cfg.chain) as chain:
        alliance = build_alliance(cfg, chain, tmp_path)
        play(cfg, alliance)
        accuracy, model_round = adopted_model_quality(alliance)
    return alliance, accuracy, model_round


def test_aggregate_posters_are_outvoted_and_slashed_and_the_honest_aggregate_is_adopted(
    tmp_path: Path,
) -> None:
    alliance, accuracy, model_round = _alliance_run(tmp_path, "aggregate_poster")
    posters = {m.address for m in alliance.members if m.voter_behaviour == "aggregate_poster"}
    assert len(posters) == 2
    # every round's adopted aggregate is the honest recomputation, the last one included
    assert alliance.adopted_mismatches == [] and model_round == 4
    assert accuracy >= 0.85
    wrong = {
        a for rec in alliance.records for a, why, _ in rec.slashes if why == "WRONG_ATTESTATION"
    }
    voted = {a for rec in alliance.records for a, role in rec.roles.items() if role == "VOTER"}
    # the closing round seats every member as a voter: each poster acted, and was slashed
    assert posters <= voted and wrong == posters


def test_weight_inflators_are_refused_whenever_they_propose(tmp_path: Path) -> None:
    alliance, accuracy, _ = _alliance_run(tmp_path, "weight_inflation")
    inflators = {m.address for m in alliance.members if m.proposer_behaviour == "weight_inflation"}
    assert alliance.adopted_mismatches == []
    proposed = [(rec, a) for rec in alliance.records for a in rec.accepted + rec.rejected]
    for rec, address in proposed:
        if address in inflators:  # holds for every role draw: refused and slashed when it acts
            assert address in rec.rejected
            assert (address, "REJECTED_PROPOSAL") in {(a, why) for a, why, _ in rec.slashes}
    honest_slashed = {a for rec in alliance.records for a, _, _ in rec.slashes} - inflators
    assert not honest_slashed
    assert accuracy >= 0.85


def test_stale_base_and_withholding_proposers_are_rejected_and_slashed_when_they_propose(
    tmp_path: Path,
) -> None:
    # Prepare: two stale-base proposers and (a cartel of one) one withholding proposer; half
    # the members propose each round, and seed 1 draws both attacks into rounds 2 and 3
    from flock.contracts.connect import open_chain
    from flock.local.alliance import build_alliance
    from flock.local.experiment import play

    cfg = _cfg(
        "attack=stale_base",
        "attack.cartel.size=1",
        "attack.cartel.proposer.behaviour=withholding",
        "task.rounds=3",
        "task.proposers_per_round=5",
        "training.epochs=3",
        "seed=1",
    )
    with open_chain(cfg.chain) as chain:
        alliance = build_alliance(cfg, chain, tmp_path)
        # Execute
        play(cfg, alliance)
        base_rounds = {r: alliance.task.round_info(r).base_round for r in (1, 2, 3)}
    behaviour = {m.address: m.proposer_behaviour for m in alliance.members}
    expected = {"stale_base": "REJECTED_PROPOSAL", "withholding": "UNAVAILABLE_PROPOSAL"}
    acted: set[str] = set()
    # Assert: whenever an attacker proposed, it was rejected and slashed for its own fault (a
    # base the voters did not compute; a blob nobody could fetch). A stale base is only stale
    # once the round trains from an aggregate (round 1 trains from the initial model itself).
    for rec in alliance.records:
        slashes = {(a, why) for a, why, _ in rec.slashes}
        for address in rec.accepted + rec.rejected:
            kind = behaviour[address]
            if kind == "withholding" or (kind == "stale_base" and base_rounds[rec.round]):
                acted.add(kind)
                assert address in rec.rejected
                assert (address, expected[kind]) in slashes
        assert not {a for a, _ in slashes if behaviour[a] == "honest"}
    assert acted == set(expected)  # the draw this test needs
    assert alliance.adopted_mismatches == []
