"""Fault drills on a real multi-process alliance (anvil, `flock coordinator`, `flock
participant` processes): participants killed every round, and a coordinator killed with
SIGKILL and resumed. Used by the tests and by `benchmarks/faults.py`."""

from __future__ import annotations

import json
import logging
import math
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from omegaconf import DictConfig

from flock.contracts import RpcChain, TaskClient, TxSender
from flock.contracts.anvil import AnvilProcess, free_port
from flock.flower.common import MSG_REVEAL_VOTE, MSG_TRAIN, MSG_VOTE
from flock.flower.coordinator import DRILL_CRASH_ENV, Coordinator
from flock.flower.deploy import deploy_dev_alliance
from flock.flower.launch import launch_alliance
from flock.flower.processes import Processes, process_alive, signal_group
from flock.flower.relay import Reply
from flock.flower.routes import flower_env

log = logging.getLogger(__name__)

#: Phases before which a dropout drill kills participants (one drawn per round).
KILL_PHASES = (MSG_TRAIN, MSG_VOTE, MSG_REVEAL_VOTE)


@dataclass
class DropoutPlan:
    """Which participant processes a :class:`DropoutCoordinator` kills and restarts."""

    run_dir: Path
    fraction: float
    seed: int
    killed: list[dict[str, Any]] = field(default_factory=list)
    restarted: list[int] = field(default_factory=list)


class DropoutCoordinator(Coordinator):
    """Kills `fraction` of the live participant processes (SIGKILL) before a randomly drawn
    phase of every round, and restarts the killed ones (same key, same state directory) at the
    start of the next round, as machines that crash and come back would."""

    plan: ClassVar[DropoutPlan]

    def play_round(self, round_: int) -> Any:
        rng = random.Random(f"{self.plan.seed}/{round_}")
        self._kill_phase: str | None = rng.choice(KILL_PHASES)
        self._rng = rng
        self._round = round_
        self._restart_killed()
        return super().play_round(round_)

    def send(self, message_type: str, nodes: Any, group: str, **values: Any) -> list[Reply]:
        if message_type == getattr(self, "_kill_phase", None):
            self._kill_phase = None
            self._kill(self._rng)
        return super().send(message_type, nodes, group, **values)

    def _participants(self) -> list[int]:
        summary = json.loads((self.plan.run_dir / "summary.json").read_text())
        pids = [*summary["pids"], *self.plan.restarted]
        return [p for p in pids if process_alive(p)]

    def _kill(self, rng: random.Random) -> None:
        alive = self._participants()
        count = min(len(alive), math.ceil(self.plan.fraction * len(alive)))
        for pid in rng.sample(sorted(alive), count):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
            os.killpg(pid, signal.SIGKILL)
            self.plan.killed.append(
                {"round": self._round, "pid": pid, "cmd": [c.decode() for c in cmdline]}
            )
            log.warning("drill: killed participant pid %d in round %d", pid, self._round)

    def _restart_killed(self) -> None:
        import subprocess

        for entry in self.plan.killed:
            if entry.get("restarted"):
                continue
            log_file = self.plan.run_dir / "logs" / f"restart-{entry['pid']}.log"
            with open(log_file, "ab") as out:
                proc = subprocess.Popen(
                    entry["cmd"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                    env=flower_env(self.plan.run_dir, self.alliance.cfg.flower),
                )  # fmt: skip
            entry["restarted"] = proc.pid
            self.plan.restarted.append(proc.pid)


def _stop_groups(pids: Sequence[int]) -> None:
    for pid in pids:
        signal_group(pid, signal.SIGKILL)


def dropout_drill(
    cfg: DictConfig, run_dir: Path, *, fraction: float, round_timeout_s: float, seed: int = 0
) -> dict[str, Any]:
    """Run an alliance on the gRPC route while killing `fraction` of the participant processes
    every round (restarted a round later).

    Returns
    -------
    dict
        `rounds`, `rounds_finished` (settled within `round_timeout_s`), `killed` (pid, round),
        per-round seconds and outcomes, and the launcher summary.
    """
    run_dir = run_dir.resolve()
    plan = DropoutPlan(run_dir=run_dir, fraction=fraction, seed=seed)
    coordinator_cls = type("Drill", (DropoutCoordinator,), {"plan": plan})
    try:
        summary = launch_alliance(cfg, run_dir, coordinator_cls=coordinator_cls)
    finally:
        _stop_groups(plan.restarted)
    rounds = summary.get("result", {}).get("rounds", [])
    finished = [
        r for r in rounds if r["outcome"] not in ("", "PENDING") and r["total_s"] <= round_timeout_s
    ]
    return {
        "rounds": len(rounds),  # the task's rounds and its closing round
        "rounds_finished": len(finished),
        "round_seconds": [round(float(r["total_s"]), 2) for r in rounds],
        "outcomes": [r["outcome"] for r in rounds],
        "killed": [(k["pid"], k["round"]) for k in plan.killed],
        "summary": summary,
    }


def _flock(*args: str) -> list[str]:
    return [sys.executable, "-m", "flock.cli", *args]


def resume_drill(
    cfg: DictConfig,
    run_dir: Path,
    *,
    crash_after_rounds: int | None,
    seed: int = 0,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Run an alliance with separate `flock coordinator` and `flock participant` processes;
    in round `crash_after_rounds` + 1, right before a randomly drawn phase, the coordinator
    SIGKILLs itself; it is started again with ``--resume``. None: no crash (baseline).

    Returns
    -------
    dict
        `final_accuracy` (`final_eval_loss` for `dataset=text`), `settled_per_round`
        (RoundSettled events by round), `double_settlements`, `double_payments` (participants
        claiming or withdrawing more than once, or more than they were credited and staked),
        `restarts`, the result file.
    """
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    fl = cfg.flower
    rng = random.Random(seed)
    processes = Processes(stop_timeout=float(fl.stop_timeout_s))
    with AnvilProcess(chain_id=int(fl.chain_id)) as node:
        try:
            deployed = deploy_dev_alliance(cfg, node.url, run_dir)
            env = flower_env(run_dir, fl)
            address = f"127.0.0.1:{free_port()}"
            for i, key_file in enumerate(deployed.key_files):
                processes.start(
                    f"participant-{i}",
                    _flock(
                        "participant", "--server", address,
                        "--alliance-file", str(deployed.alliance_file),
                        "--state-dir", str(key_file.parent / "state"),
                        "--key-file", str(key_file), "--partition-id", str(i),
                        "--max-wait-s", str(fl.startup_timeout_s),
                    ),
                    env, run_dir / "logs" / f"participant-{i}.log",
                )  # fmt: skip
            result_file = run_dir / "result.json"
            coordinator_cmd = _flock(
                "coordinator", "--alliance-file", str(deployed.alliance_file),
                "--address", address, "--participants", str(len(deployed.key_files)),
                "--key-file", str(deployed.coordinator_key_file),
                "--result-file", str(result_file),
                "--message-timeout-s", str(fl.message_timeout_s),
                "--node-wait-s", str(fl.startup_timeout_s),
            )  # fmt: skip
            logs = run_dir / "logs"
            restarts = 0
            deadline = time.monotonic() + timeout_s
            crash_env = dict(env)
            if crash_after_rounds is not None:  # a random phase of the next round
                phase = rng.choice(KILL_PHASES)
                crash_env[DRILL_CRASH_ENV] = f"{crash_after_rounds + 1}:{phase}"
                log.warning("drill: the coordinator will crash at %s", crash_env[DRILL_CRASH_ENV])
            first = processes.start("coordinator", coordinator_cmd, crash_env, logs / "c1.log")
            second = first
            if crash_after_rounds is not None:
                while process_alive(first) and time.monotonic() < deadline:
                    time.sleep(0.05)
                restarts = 1
                second = processes.start(
                    "coordinator-resumed", [*coordinator_cmd, "--resume"], env, logs / "c2.log"
                )
            while process_alive(second) and time.monotonic() < deadline:
                time.sleep(0.2)
            if process_alive(second):
                raise TimeoutError(f"the alliance did not finish in {timeout_s}s")
            result = json.loads(result_file.read_text())
            task = TaskClient(TxSender(RpcChain(node.url, dev=True)), result["task"])
            audit = _audit(task)
        finally:
            processes.stop()
    rounds = result.get("rounds", [])
    metric = result.get("quality_metric", "accuracy")
    return {
        f"final_{metric}": rounds[-1]["quality"] if rounds else None,
        "rounds": len(rounds),
        "restarts": restarts,
        "error": result.get("error"),
        **audit,
        "result": result,
    }


def _rounds_done(result_file: Path) -> int:
    try:
        return len(json.loads(result_file.read_text()).get("rounds", []))
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def _audit(task: TaskClient) -> dict[str, Any]:
    """Settlements and payments as the chain's events tell them."""
    events = task.contract.events
    settled = Counter(int(e["args"]["round"]) for e in events.RoundSettled().get_logs(from_block=0))
    credited: Counter[str] = Counter()
    for e in events.RewardsCredited().get_logs(from_block=0):
        for who, amount in zip(e["args"]["participants"], e["args"]["amounts"], strict=True):
            credited[str(who)] += int(amount)
    claims: Counter[str] = Counter()
    claimed: Counter[str] = Counter()
    for e in events.Claimed().get_logs(from_block=0):
        claims[str(e["args"]["participant"])] += 1
        claimed[str(e["args"]["participant"])] += int(e["args"]["amount"])
    withdrawals = Counter(
        str(e["args"]["participant"]) for e in events.Withdrawn().get_logs(from_block=0)
    )
    double = {a for a, n in claims.items() if n > 1} | {a for a, n in withdrawals.items() if n > 1}
    double |= {a for a, amount in claimed.items() if amount > credited[a]}
    return {
        "settled_per_round": dict(sorted(settled.items())),
        "double_settlements": sum(1 for n in settled.values() if n > 1),
        "double_payments": len(double),
    }
