"""The coordinator is an untrusted relay: what a dishonest one can and cannot do.

Each test runs a real alliance (anvil, the coordinator's Flower gRPC server, participant
processes) with a coordinator subclass that misbehaves at one point.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from flock.contracts import Role, RpcChain, TaskClient, TxSender
from flock.contracts.anvil import AnvilProcess, anvil_available
from flock.flower.common import MSG_TRAIN
from flock.flower.coordinator import Coordinator, RoundTiming
from flock.flower.launch import launch_alliance, load_config
from flock.flower.relay import Reply
from flock.protocol.role_draw import assign_roles
from flock.store import decode_blob, encode_blob

PARTICIPANTS = 4
OVERRIDES = [
    f"participants={PARTICIPANTS}",
    "task.rounds=2",
    "task.proposers_per_round=1",
    "task.min_voters=2",
    "training.epochs=1",
    "flower.route=grpc",
    "flower.message_timeout_s=90",
]


pytestmark = [
    pytest.mark.anvil,
    pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)"),
    pytest.mark.skipif(sys.platform != "linux", reason="the launcher uses process groups"),
]


class TamperingCoordinator(Coordinator):
    """Rewrites round 1's proposal blob in the store (same name, other weights) before the
    voters fetch it. (Round 1 is the hard case: the baseline is an untrained model whose score
    is within the tolerance of 0, so only the rule "a median of 0 is never accepted" stops it.)"""

    tampered: dict[int, bytes] = {}

    def after_training(self, round_: int, replies: list[Reply]) -> None:
        if round_ != 1:
            return
        for reply in replies:
            digest = bytes.fromhex(str(reply.values["update_hash"]))
            path = self.store.path(digest)
            blob = decode_blob(path.read_bytes(), max_bytes=self.store.max_bytes)
            forged = blob.vector + torch.randn_like(blob.vector)
            path.write_bytes(encode_blob(forged, blob.metadata))
            TamperingCoordinator.tampered[round_] = digest


class SkippingCoordinator(Coordinator):
    """Never relays anything to one participant after enrolment and asks a voter to train."""

    skipped: str = ""
    impostor_replies: list[Reply] = []

    def refresh_nodes(self) -> None:
        super().refresh_nodes()
        self.node_of.pop(SkippingCoordinator.skipped, None)  # and keeps ignoring it

    def play_round(self, round_: int) -> RoundTiming:
        if round_ == 1:
            SkippingCoordinator.skipped = sorted(self.node_of)[0]
            self.skipped_node = self.node_of.pop(SkippingCoordinator.skipped)
            voter = next(a for a in sorted(self.node_of) if self.task.role_of(1, a) == Role.VOTER)
            SkippingCoordinator.impostor_replies = self.send(
                MSG_TRAIN, [self.node_of[voter]], "1", round=1, global_hash=""
            )
        return super().play_round(round_)


def _run(tmp_path: Path, url: str, coordinator_cls: type[Coordinator]) -> dict[str, Any]:
    cfg = load_config(OVERRIDES)
    return launch_alliance(cfg, tmp_path / "run", rpc_url=url, coordinator_cls=coordinator_cls)


def test_voters_catch_an_update_the_coordinator_altered(tmp_path: Path) -> None:
    with AnvilProcess() as node:
        result = _run(tmp_path, node.url, TamperingCoordinator)["result"]
        assert result["error"] is None
        task = TaskClient(TxSender(RpcChain(node.url, dev=True)), result["task"])
        round1, round2, closing = result["rounds"]
        (forged,) = TamperingCoordinator.tampered.values()
        # every voter's hash check refused the altered blob (bytes that do not hash to the
        # on-chain hash: marked unavailable) ...
        assert round1["rejected_blobs"] == len(round1["voters"]) > 0
        # ... so the proposal was rejected by the contract, and the tampered weights never
        # entered a global model; round 2, untouched, goes on from the initial model
        (proposal,) = task.proposals(1)
        assert proposal.update_hash == forged
        assert round1["accepted"] == []
        assert task.round_info(1).accepted_mask == 0
        assert task.round_info(2).base_round == 0
        assert round2["accepted"] and round2["rejected_blobs"] == 0
        # round 2's aggregate, attested by the closing round, is the model the task ends with
        adopted = task.adopted_aggregate(3)
        assert adopted is not None and adopted.round == 2
        assert task.global_model() == (adopted.model_hash, 2)
        assert closing["adopted_round"] == 2 and closing["aggregate_matches"] is True


def test_skipping_a_participant_does_not_change_roles(tmp_path: Path) -> None:
    with AnvilProcess() as node:
        result = _run(tmp_path, node.url, SkippingCoordinator)["result"]
        assert result["error"] is None
        task = TaskClient(TxSender(RpcChain(node.url, dev=True)), result["task"])
        roster = [task.participant_at(i) for i in range(PARTICIPANTS)]
        params = task.params
        roles = {
            r: assign_roles(
                roster,
                task.seed_of(r),
                proposers_per_round=params.proposers_per_round,
                max_voters=params.max_voters,
            )
            for r in (1, 2)
        }
        for r, expected in roles.items():
            # the chain's draw is the seed's, whoever the coordinator talks to
            assert {a: task.role_of(r, a) for a in roster} == expected
        skipped = SkippingCoordinator.skipped
        assert task.is_participant(skipped)
        # a voter asked to train refuses (the chain says it is no proposer) and nothing lands
        (impostor,) = SkippingCoordinator.impostor_replies
        assert not impostor.ok and "not a proposer" in str(impostor.error)
        proposers = {p.proposer for p in task.proposals(1)}
        drawn = {a for a, role in roles[1].items() if role == Role.PROPOSER}
        assert proposers == drawn - {skipped}
