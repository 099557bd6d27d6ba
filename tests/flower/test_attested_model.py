"""Over Flower, the global model belongs to the protocol: a member process that attests a
poisoned model is outvoted and slashed, and every honest member trains from the honest
aggregate (real processes: anvil, the coordinator's gRPC server, one process per member)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from flock.attacks import plan_attacks
from flock.contracts import RpcChain, SlashReason, TaskClient, TxSender
from flock.contracts.anvil import AnvilProcess, anvil_available
from flock.flower.common import AllianceFile
from flock.flower.launch import launch_alliance, load_config
from flock.roles.global_model import aggregate_from_chain
from flock.spec import participant_signer

PARTICIPANTS = 4
ROUNDS = 2
OVERRIDES = [
    f"participants={PARTICIPANTS}",
    f"task.rounds={ROUNDS}",
    "task.proposers_per_round=1",
    "task.min_voters=2",
    "training.epochs=1",
    "flower.route=grpc",
    "flower.message_timeout_s=90",
    "attack=aggregate_poster",
    "attack.voter.count=1",
]

pytestmark = [
    pytest.mark.anvil,
    pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)"),
    pytest.mark.skipif(sys.platform != "linux", reason="the launcher uses process groups"),
]


def test_a_member_process_attesting_a_poisoned_model_is_outvoted_and_slashed(
    tmp_path: Path,
) -> None:
    # Prepare: one of four member processes plays aggregate_poster
    cfg = load_config(OVERRIDES)
    attack = OmegaConf.to_container(cfg.attack)
    plan = plan_attacks(attack, n=PARTICIPANTS, seed=int(cfg.seed))  # type: ignore[arg-type]
    (bad,) = [i for i, a in enumerate(plan.assignments) if a.voter == "aggregate_poster"]
    attacker = participant_signer(cfg, bad).address
    with AnvilProcess(chain_id=int(cfg.flower.chain_id)) as node:
        # Execute
        launched = launch_alliance(cfg, tmp_path / "run", rpc_url=node.url)
        result = launched["result"]
        assert result["error"] is None
        task = TaskClient(TxSender(RpcChain(node.url, dev=True)), result["task"])
        store = AllianceFile.read(tmp_path / "run" / "alliance.json").store()
        # Assert: each round's aggregate was adopted by the next round's (or the closing
        # round's) voters, and it is the coordinator's own recomputation
        adoptions = [r for r in result["rounds"] if r["adopted_round"]]
        assert [r["adopted_round"] for r in adoptions] == list(range(1, ROUNDS + 1))
        assert all(r["aggregate_matches"] is True for r in adoptions)
        assert task.global_model()[1] == ROUNDS
        # every honest proposer of round 2 trained from the honest aggregate of round 1
        honest_round1 = task.adopted_aggregate(2)
        assert honest_round1 is not None
        for proposal in task.proposals(2):
            assert proposal.base_hash == honest_round1.model_hash
        recomputed = aggregate_from_chain(cfg.aggregation, task, store, 1)
        assert recomputed is not None and recomputed[0] == honest_round1.model_hash
        # the attacker attested another hash whenever it voted (the closing round seats every
        # member) and was slashed for it each time; no honest member ever was
        events = task.contract.events
        wrong = [
            e["args"]["participant"]
            for e in events.Slashed().get_logs(from_block=0)
            if e["args"]["reason"] == SlashReason.WRONG_ATTESTATION
        ]
        revealed = [
            e for e in events.VoteRevealed().get_logs(from_block=0)
            if e["args"]["voter"] == attacker
        ]  # fmt: skip
        assert revealed and set(wrong) == {attacker} and len(wrong) == len(revealed)
