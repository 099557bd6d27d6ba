"""100 simulated members on Flower's simulation engine: every round's committee is the one the
contract drew, only its members are sent work, and both rounds settle and are adopted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from flock.contracts import Outcome, Role, RpcChain, TaskClient, TxSender
from flock.contracts.anvil import AnvilProcess, anvil_available
from flock.flower.launch import launch_alliance, load_config
from flock.protocol.role_draw import committee_sizes

MEMBERS = 100
ROUNDS = 2
PROPOSERS = 16


@pytest.mark.anvil
@pytest.mark.slow
@pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)")
@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="flwr[simulation] not installed"
)
@pytest.mark.skipif(sys.platform != "linux", reason="Ray's simulation runs on Linux here")
def test_a_hundred_simulated_members_settle_two_rounds_with_the_drawn_committee(
    tmp_path: Path,
) -> None:
    # Prepare: 100 members with sampled shards, 16 proposers and the contract's 64 voters
    cfg = load_config(
        [
            f"participants={MEMBERS}",
            f"task.rounds={ROUNDS}",
            f"task.proposers_per_round={PROPOSERS}",
            "partition=sampled",
            "training.epochs=1",
            "flower.route=simulation",
            "flower.run_timeout_s=600",
        ]
    )
    proposers, voters = committee_sizes(MEMBERS, PROPOSERS, int(cfg.task.max_voters))
    assert (proposers, voters) == (16, 64)

    with AnvilProcess(chain_id=int(cfg.flower.chain_id)) as node:
        # Execute
        summary = launch_alliance(cfg, tmp_path / "run", rpc_url=node.url)

        # Assert: completed without a member's error
        assert summary["status"] == "finished:completed", summary
        result = summary["result"]
        assert result["error"] is None and result["errors"] == []
        assert len(result["participants"]) == MEMBERS
        task = TaskClient(TxSender(RpcChain(node.url, dev=True)), result["task"])
        events = task.contract.events
        for timing in [r for r in result["rounds"] if int(r["round"]) <= ROUNDS]:
            r = int(timing["round"])
            # the coordinator worked with exactly the committee the chain drew, nobody else
            assert len(timing["proposers"]) == proposers
            assert len(timing["voters"]) == voters
            assert all(task.role_of(r, p) == Role.PROPOSER for p in timing["proposers"])
            assert all(task.role_of(r, v) == Role.VOTER for v in timing["voters"])
            # every proposer published, every voter revealed, the round settled
            assert {p.proposer for p in task.proposals(r)} == set(timing["proposers"])
            revealed = events.VoteRevealed().get_logs(from_block=0, argument_filters={"round": r})
            assert {e["args"]["voter"] for e in revealed} == set(timing["voters"])
            assert task.round_info(r).outcome == Outcome.SETTLED
            assert timing["aggregate_matches"] in (None, True)
        # the last round's aggregate was adopted by the closing round's attesting majority
        assert task.global_model()[1] == ROUNDS
