"""A multi-process alliance without a shared directory: `store=http` starts flock's blob
service as one more process, every member keeps its own cache and fetches over HTTP."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from flock.contracts import Outcome, Role, RpcChain, TaskClient, TxSender
from flock.contracts.anvil import AnvilProcess, anvil_available
from flock.flower.common import AllianceFile
from flock.flower.launch import launch_alliance, load_config, process_alive
from flock.store import FETCH_LOG

PARTICIPANTS = 3
ROUNDS = 2
OVERRIDES = [
    "store=http",
    f"participants={PARTICIPANTS}",
    f"task.rounds={ROUNDS}",
    "task.proposers_per_round=1",
    "task.min_voters=2",
    "training.epochs=1",
    "flower.message_timeout_s=90",
    "flower.run_timeout_s=300",
]


def _have_flower() -> bool:
    bin_dir = Path(sys.executable).parent
    return (bin_dir / "flwr").exists() or shutil.which("flwr") is not None


@pytest.mark.anvil
@pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)")
@pytest.mark.skipif(not _have_flower(), reason="flwr not installed")
@pytest.mark.skipif(sys.platform != "linux", reason="process checks read /proc")
def test_an_alliance_over_the_blob_service_settles_with_a_cache_per_member(
    tmp_path: Path,
) -> None:
    # Prepare
    cfg = load_config(OVERRIDES)
    run_dir = tmp_path / "run"
    with AnvilProcess(chain_id=int(cfg.flower.chain_id)) as node:
        # Execute
        summary = launch_alliance(cfg, run_dir, rpc_url=node.url)

        # Assert: the run finished and every process it started is gone, the service too
        assert summary["status"] == "finished:completed", summary
        result = summary["result"]
        assert result["error"] is None and result["errors"] == []
        assert len(summary["pids"]) == PARTICIPANTS + 1  # the members and the blob service
        assert not [p for p in summary["pids"] if process_alive(p)]

        # the alliance file names the service; nobody shares a store directory
        alliance = AllianceFile.read(run_dir / "alliance.json")
        url = summary["store_url"]
        assert alliance.store_kind == "http" and alliance.store_url == url
        caches = [run_dir / "nodes" / str(i) / "store" for i in range(PARTICIPANTS)]
        private = [*caches, run_dir / "creator" / "store", run_dir / "coordinator" / "store"]
        assert len({c.resolve() for c in private}) == len(private)
        assert all(c.is_dir() and not c.is_symlink() for c in private)
        assert not (run_dir / "store").exists()

        chain = RpcChain(node.url, expected_chain_id=int(cfg.flower.chain_id), dev=True)
        task = TaskClient(TxSender(chain), result["task"])
        member_of = {a: i for i, a in enumerate(summary["participants"])}
        for r in range(1, ROUNDS + 1):
            assert task.round_info(r).outcome == Outcome.SETTLED
            proposals = task.proposals(r)
            voters = {v.voter for v in task.vote_reveals(r)}
            assert proposals and len(voters) >= int(cfg.task.min_voters)
            for p in proposals:
                # published where the proposal says, kept by the service
                assert p.uri == f"{url}/blobs/0x{p.update_hash.hex()}"
                assert (run_dir / "store-service" / f"{p.update_hash.hex()}.safetensors").exists()
            for voter in voters:
                assert task.role_of(r, voter) == Role.VOTER
                journal = caches[member_of[voter]] / FETCH_LOG
                fetched = {
                    record["digest"]: record["source"]
                    for record in map(json.loads, journal.read_text().splitlines())
                }
                # every blob this voter scored arrived over HTTP from the service
                for p in proposals:
                    assert fetched[p.update_hash.hex()].startswith(url + "/blobs/")
