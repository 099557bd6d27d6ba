"""The documented multi-machine commands, run as separate processes against one RPC node:
`flock deploy` (the creator), `flock coordinator` (the relay) and one `flock participant`
per member, each with its own key from its own environment variable; with `store=http` also
`flock store serve` (the blob service) and `flock store push` (the creator's initial model),
and no directory shared by any two processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flock.contracts import Outcome, RpcChain, Signer, TaskClient, TokenClient, TxSender
from flock.contracts.anvil import AnvilProcess, anvil_available, free_port
from flock.flower.common import AllianceFile
from flock.flower.processes import Processes, wait_port
from flock.store import FETCH_LOG

PARTICIPANTS = 3
TOKEN = 10**18
#: Seconds the whole alliance (2 rounds) may take.
RUN_TIMEOUT_S = 240


pytestmark = [
    pytest.mark.anvil,
    pytest.mark.slow,
    pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)"),
]


def _flock(*args: str) -> list[str]:
    return [sys.executable, "-m", "flock.cli", *args]


def _serve_and_push(tmp_path: Path, printed: dict[str, str], port: int, env: dict) -> Processes:
    """The blob service's machine starts it with the alliance file; the creator pushes the
    initial model, which `flock deploy` could not publish before the service ran."""
    service = Processes(stop_timeout=10)
    service.start(
        "store-service",
        _flock("store", "serve", "--alliance-file", printed["alliance_file"],
               "--dir", str(tmp_path / "service"), "--address", f"127.0.0.1:{port}"),
        dict(os.environ),
        tmp_path / "logs" / "store-service.log",
    )  # fmt: skip
    wait_port(port, 30, service)
    pushed = subprocess.run(
        _flock("store", "push", "--alliance-file", printed["alliance_file"],
               "--key-env", "FLOCK_PRIVATE_KEY", printed["initial_model_blob"]),
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert f"http://127.0.0.1:{port}/blobs/{printed['initial_model_hash']}" in pushed.stdout
    return service


@pytest.mark.parametrize("store", ["dir", "http"])
def test_deploy_coordinator_and_participants_as_separate_commands(
    tmp_path: Path, store: str
) -> None:
    store_port = free_port()
    store_overrides = [f"store.url=http://127.0.0.1:{store_port}"] if store == "http" else []
    overrides = [
        f"store={store}",
        *store_overrides,
        f"participants={PARTICIPANTS}",
        "task.rounds=2",
        "task.proposers_per_round=1",
        "task.min_voters=2",
        "training.epochs=1",
    ]
    with AnvilProcess() as node:
        chain = RpcChain(node.url, dev=True)
        creator = Signer.create()
        chain.fund(creator.address, 10**20)
        env = {**os.environ, "FLOCK_PRIVATE_KEY": creator.account.key.hex()}
        deployed = subprocess.run(
            _flock(
                "deploy",
                "chain=rpc",
                f"chain.url={node.url}",
                "chain.dev=true",
                f"hydra.run.dir={tmp_path / 'deploy'}",
                *overrides,
            ),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        printed = dict(line.split(": ", 1) for line in deployed.stdout.splitlines() if ": " in line)
        alliance = AllianceFile.read(printed["alliance_file"])
        assert alliance.task == printed["task"] and alliance.dev_chain
        initial = bytes.fromhex(printed["initial_model_hash"].removeprefix("0x"))
        (tmp_path / "logs").mkdir()
        service = None
        if store == "http":
            assert "initial model not published yet" in deployed.stdout
            assert alliance.store_url == f"http://127.0.0.1:{store_port}"
            service = _serve_and_push(tmp_path, printed, store_port, env)
        # the members start from this blob
        assert alliance.store(tmp_path / "check").exists(initial)

        # the creator hands each member tokens (out of band on a real network) and gas
        token = TokenClient(TxSender(chain), printed["token"])
        members = [Signer.create() for _ in range(PARTICIPANTS)]
        for m in members:
            chain.fund(m.address, 10**20)
            token.transfer(creator, m.address, 100 * TOKEN)
        coordinator_key = Signer.create()
        chain.fund(coordinator_key.address, 10**20)

        port = free_port()
        procs = []
        logs = tmp_path / "logs"
        try:
            relay_key = coordinator_key.account.key.hex()
            coordinator_env = {**os.environ, "FLOCK_COORDINATOR_KEY": relay_key}
            result_file = tmp_path / "result.json"
            procs.append(
                subprocess.Popen(
                    _flock(
                        "coordinator",
                        "--alliance-file",
                        printed["alliance_file"],
                        "--address",
                        f"127.0.0.1:{port}",
                        "--participants",
                        str(PARTICIPANTS),
                        "--key-env",
                        "FLOCK_COORDINATOR_KEY",
                        "--result-file",
                        str(result_file),
                    ),
                    env=coordinator_env,
                    stdout=open(logs / "coordinator.log", "wb"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                )
            )
            for i, m in enumerate(members):
                procs.append(
                    subprocess.Popen(
                        _flock(
                            "participant",
                            "--server",
                            f"127.0.0.1:{port}",
                            "--alliance-file",
                            printed["alliance_file"],
                            "--state-dir",
                            str(tmp_path / f"member{i}"),
                            "--partition-id",
                            str(i),
                            "--key-env",
                            "MEMBER_KEY",
                        ),
                        env={**os.environ, "MEMBER_KEY": m.account.key.hex()},
                        stdout=open(logs / f"member{i}.log", "wb"),  # noqa: SIM115
                        stderr=subprocess.STDOUT,
                    )
                )
            assert procs[0].wait(timeout=RUN_TIMEOUT_S) == 0, (logs / "coordinator.log").read_text()
            deadline = time.monotonic() + 30
            while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert all(p.poll() is not None for p in procs), "participants did not exit"
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            if service is not None:
                service.stop()

        result = json.loads(result_file.read_text())
        assert result["error"] is None
        task = TaskClient(TxSender(chain), alliance.task)
        assert [task.round_info(r).outcome for r in (1, 2)] == [Outcome.SETTLED] * 2
        assert set(result["final_accounts"]) == {m.address for m in members}
        assert all(task.account_of(m.address) == (0, 0) for m in members)
        if store == "http":  # each member fetched into its own cache under its state dir
            for i in range(PARTICIPANTS):
                assert (tmp_path / f"member{i}" / "store" / FETCH_LOG).exists()
            assert not (tmp_path / "deploy" / "store").exists()
    for log_file in logs.iterdir():  # no key in any log
        text = log_file.read_text(errors="replace")
        for key in [coordinator_key, creator, *members]:
            assert key.account.key.hex().removeprefix("0x") not in text
