"""A real local alliance on Flower: anvil, a SuperLink and 3 SuperNodes settle 2 rounds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path

import pytest
from flwr.common.config import validate_config
from omegaconf.errors import ConfigKeyError

from flock.contracts import Outcome, Role, RpcChain, SlashReason, TaskClient, TxSender
from flock.contracts.anvil import AnvilProcess, anvil_available
from flock.flower.common import JsonFileMap
from flock.flower.launch import app_pyproject, launch_alliance, load_config, process_alive
from flock.spec import participant_signer

PARTICIPANTS = 3
ROUNDS = 2
OVERRIDES = [
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
    return all((bin_dir / b).exists() or shutil.which(b) for b in ("flower-superlink", "flwr"))


def _group_members(pgids: set[int]) -> list[int]:
    """Live processes whose process group is one of `pgids`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z" and int(fields[2]) in pgids:
            found.append(int(entry.name))
    return found


def test_json_file_map_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "state" / "secrets.json"
    first: JsonFileMap[bytes] = JsonFileMap(path, lambda b: b.hex(), bytes.fromhex)
    first[1] = b"\x01" * 32
    first[2] = b"\x02" * 32
    del first[1]
    second: JsonFileMap[bytes] = JsonFileMap(path, lambda b: b.hex(), bytes.fromhex)
    assert dict(second) == {2: b"\x02" * 32}
    assert 2 in second and 1 not in second
    assert path.stat().st_mode & 0o777 == 0o600


def test_app_pyproject_is_a_valid_flower_app() -> None:
    text = app_pyproject({"alliance-file": "/x/alliance.json", "num-nodes": 3, "timeout": 1.5})
    config = tomllib.loads(text)
    ok, errors, _ = validate_config(config, check_module=True)
    assert ok, errors
    assert config["tool"]["flwr"]["app"]["config"]["num-nodes"] == 3


def test_load_config_routes_flower_overrides() -> None:
    cfg = load_config(["participants=4", "flower.message_timeout_s=12"])
    assert cfg.participants == 4
    assert cfg.flower.message_timeout_s == 12.0
    assert cfg.flower.chain_id == 31337
    with pytest.raises(ConfigKeyError):
        load_config(["flower.no_such_key=1"])


def test_load_config_rejects_an_unknown_route(tmp_path: Path) -> None:
    cfg = load_config([*OVERRIDES, "flower.route=carrier_pigeon"])
    with pytest.raises(ValueError, match="flower.route"):
        launch_alliance(cfg, tmp_path / "run")


def _ray_processes(marker: str) -> list[int]:
    """Live processes of the Ray cluster this test started (raylet, gcs_server, ray:: workers):
    those that inherited `marker` in their environment. Another test's Ray (pytest-xdist runs
    two at once) does not carry it."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        ray = any(k in cmdline for k in ("raylet", "gcs_server", "ray::"))
        if state != "Z" and ray and needle in environ:
            found.append(int(entry.name))
    return found


def _have_ray() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


#: Seconds Ray's processes may take to exit after the launcher shut Ray down: a leak, not a
#: slow exit, is what fails (under a loaded CI machine 15 s was not always enough).
RAY_EXIT_S = 60.0

ROUTES = [
    pytest.param("grpc", 0, id="grpc"),
    # one round: Flower's deployment runtime costs 25-60 s per round here
    pytest.param("superlink", 1, id="superlink", marks=pytest.mark.slow),
    pytest.param(
        "simulation",
        None,
        id="simulation",
        marks=pytest.mark.skipif(not _have_ray(), reason="flwr[simulation] not installed"),
    ),
]


@pytest.mark.anvil
@pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)")
@pytest.mark.skipif(not _have_flower(), reason="flower-superlink / flwr not installed")
@pytest.mark.skipif(sys.platform != "linux", reason="process checks read /proc")
@pytest.mark.parametrize(("route", "extra_processes"), ROUTES)
def test_alliance_on_flower_settles_rounds_signed_by_participants(
    tmp_path: Path, route: str, extra_processes: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = f"FLOCK_TEST_RUN={uuid.uuid4().hex}"  # inherited by every process this run starts
    monkeypatch.setenv(*marker.split("=", 1))
    rounds = 1 if route == "superlink" else ROUNDS
    cfg = load_config([*OVERRIDES, f"flower.route={route}", f"task.rounds={rounds}"])
    run_dir = tmp_path / "run"
    with AnvilProcess(chain_id=int(cfg.flower.chain_id)) as node:
        summary = launch_alliance(cfg, run_dir, rpc_url=node.url)

        # every process the launcher started (and their children) is gone
        pids = summary.get("pids", [])
        if extra_processes is not None:
            assert len(pids) == extra_processes + PARTICIPANTS
        assert not [p for p in pids if process_alive(p)]
        assert not _group_members(set(pids))
        if route == "simulation":  # Ray's workers exit shortly after ray.shutdown()
            deadline = time.monotonic() + RAY_EXIT_S
            while _ray_processes(marker) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not _ray_processes(marker), "Ray was left running"

        assert summary["status"] == "finished:completed", summary
        result = summary["result"]
        assert result["error"] is None
        assert result["errors"] == []
        chain = RpcChain(node.url, expected_chain_id=int(cfg.flower.chain_id), dev=True)
        task = TaskClient(TxSender(chain), result["task"])
        addresses = {participant_signer(cfg, i).address for i in range(PARTICIPANTS)}
        assert set(summary["participants"]) == addresses
        events = task.contract.events

        def sender_of(event: dict) -> str:
            return str(chain.w3.eth.get_transaction(event["transactionHash"])["from"])

        joined = events.Joined().get_logs(from_block=0)
        assert {e["args"]["participant"] for e in joined} == addresses
        assert all(sender_of(e) == e["args"]["participant"] for e in joined)

        for r in range(1, rounds + 1):
            assert task.round_info(r).outcome == Outcome.SETTLED
            proposals = task.proposals(r)
            assert proposals
            for p in proposals:
                assert p.proposer in addresses
                assert task.role_of(r, p.proposer) == Role.PROPOSER
            proposed = events.Proposed().get_logs(from_block=0, argument_filters={"round": r})
            committed = events.VoteCommitted().get_logs(from_block=0, argument_filters={"round": r})
            revealed = events.VoteRevealed().get_logs(from_block=0, argument_filters={"round": r})
            assert len(committed) >= int(cfg.task.min_voters)
            for e in proposed:
                assert sender_of(e) == e["args"]["proposer"]
            for e in [*committed, *revealed]:
                voter = e["args"]["voter"]
                assert voter in addresses and sender_of(e) == voter
                assert task.role_of(r, voter) == Role.VOTER
            # round r's aggregate (if it accepted an update) was adopted by the next round's
            # voters (the closing round's for the last): a strict majority attested it
            if task.round_info(r).accepted_mask:
                adopted = task.adopted_aggregate(r + 1)
                assert adopted is not None and adopted.round == r
                assert 2 * adopted.votes > adopted.reveals
                assert task.global_model()[1] >= r

        # at the end every participant claimed its rewards and withdrew its stake itself
        assert set(result["final_accounts"]) == addresses
        for address, account in result["final_accounts"].items():
            assert task.account_of(address) == (0, 0)
            assert int(account["balance"]) == task.token.balance_of(address)
            assert int(account["balance"]) >= int(account["stake"]) + int(account["rewards"])

    # the participants' keys are never written to any log
    keys = [participant_signer(cfg, i).account.key.hex() for i in range(PARTICIPANTS)]
    for log_file in (run_dir / "logs").glob("*"):
        text = log_file.read_text(errors="replace")
        assert not any(k.removeprefix("0x") in text for k in keys), log_file
    assert not os.environ.get("FLWR_HOME"), "the launcher must not leak FLWR_HOME"


@pytest.mark.anvil
@pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)")
@pytest.mark.skipif(sys.platform != "linux", reason="process checks read /proc")
def test_ctrl_c_stops_every_process_the_launcher_started(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flock.cli",
            "alliance",
            "--run-dir",
            str(run_dir),
            *OVERRIDES,
            "task.rounds=50",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until a round was played
            result = run_dir / "result.json"
            if result.exists() and json.loads(result.read_text()).get("rounds"):
                break
            assert launcher.poll() is None, "the launcher exited early"
            time.sleep(0.2)
        else:
            pytest.fail("no round finished in time")
        started = json.loads((run_dir / "summary.json").read_text())
        children = [*started["pids"], started["anvil_pid"]]
        assert all(process_alive(p) for p in children)
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=60) == 130
        assert not [p for p in children if process_alive(p)]
        assert not _group_members(set(started["pids"]))
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()


@pytest.mark.anvil
@pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)")
def test_participant_processes_play_the_behaviours_of_the_attack_config(tmp_path: Path) -> None:
    # every participant is a lazy voter: it commits, never reveals, and is slashed for it
    cfg = load_config(
        [*OVERRIDES, "task.rounds=1", "attack=lazy", f"attack.voter.count={PARTICIPANTS}"]
    )
    with AnvilProcess(chain_id=int(cfg.flower.chain_id)) as node:
        result = launch_alliance(cfg, tmp_path / "run", rpc_url=node.url)["result"]
        assert result["error"] is None
        task = TaskClient(TxSender(RpcChain(node.url, dev=True)), result["task"])
        events = task.contract.events
        committed = events.VoteCommitted().get_logs(from_block=0)
        assert committed and not events.VoteRevealed().get_logs(from_block=0)
        slashed = {
            e["args"]["participant"]
            for e in events.Slashed().get_logs(from_block=0)
            if e["args"]["reason"] == SlashReason.MISSING_VOTE_REVEAL
        }
        assert slashed == {e["args"]["voter"] for e in committed}
