"""Plain Flower FedAvg on flock's task (flock.flower.reference), run the way Flower runs it:
in its simulation engine, or on its default deployment runtime (a SuperLink, a SuperNode per
member, `flwr run`) from any Flower install's `bin` directory. Used by round_overhead.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from flock.contracts.anvil import free_port
from flock.flower.processes import Processes, wait_port
from flock.flower.routes import app_pyproject, flower_config, flower_env, start_ray

REPO = Path(__file__).resolve().parents[1]


def _run_config(
    cfg: DictConfig, run_dir: Path, rounds: int, train: int, evaluate: int
) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    config_file = run_dir / "reference-config.yaml"
    OmegaConf.save(cfg, config_file, resolve=True)
    (run_dir / "pids").mkdir(exist_ok=True)
    return {
        "config-file": str(config_file),
        "num-nodes": int(cfg.participants),
        "num-rounds": rounds,
        "train-nodes": train,
        "evaluate-nodes": evaluate,
        "result-file": str(run_dir / "reference-result.json"),
        "pid-dir": str(run_dir / "pids"),
    }


def simulation_rounds(
    cfg: DictConfig, run_dir: Path, *, rounds: int, train: int, evaluate: int
) -> list[float]:
    """Seconds of each plain-FedAvg round in Flower's simulation engine (Ray, the same
    backend settings as flock's simulation route)."""
    from flwr.simulation import run_simulation

    from flock.flower.reference import make_client_app, make_server_app

    rc = _run_config(cfg, run_dir, rounds, train, evaluate)
    fl = cfg.flower
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in flower_env(run_dir, fl).items() if k.startswith("FLWR_")})
    init_args: dict[str, Any] = {"include_dashboard": False, "num_cpus": os.cpu_count() or 1}
    try:
        start_ray(init_args, attempts=int(fl.simulation_ray_start_attempts))
        run_simulation(
            server_app=make_server_app(rc),
            client_app=make_client_app(rc["config-file"]),
            num_supernodes=int(cfg.participants),
            backend_config={
                "client_resources": {
                    "num_cpus": float(fl.simulation_cpus_per_node),
                    "num_gpus": 0.0,
                },
                "init_args": init_args,
            },  # type: ignore[dict-item]
        )
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        os.environ.clear()
        os.environ.update(saved)
    return list(json.loads(Path(rc["result-file"]).read_text())["round_s"])


def _flwr(bin_dir: Path, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [str(bin_dir / "flwr"), *args, "--format", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    start = out.stdout.find("{")
    if start < 0:
        raise RuntimeError(f"flwr {args[0]} failed ({out.returncode}): {out.stderr or out.stdout}")
    return dict(json.loads(out.stdout[start:]))


def deployment_rounds(
    cfg: DictConfig,
    run_dir: Path,
    *,
    rounds: int,
    train: int,
    evaluate: int,
    bin_dir: Path | None = None,
    timeout_s: float = 900.0,
) -> dict[str, Any]:
    """Plain FedAvg on Flower's default deployment runtime from `bin_dir` (None: this venv's):
    each round's seconds, the Flower version, and how many ClientApp processes answered how
    many messages (`clientapp_processes`, `messages`)."""
    bin_dir = bin_dir or Path(sys.executable).parent
    rc = _run_config(cfg, run_dir, rounds, train, evaluate)
    link_port = free_port()
    home = run_dir / "flwr_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(flower_config(f"127.0.0.1:{link_port}"))
    env = {
        **flower_env(run_dir, cfg.flower),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),  # another Flower's venv imports flock's learning code from here
    }
    env.pop("FLWR_SUPEREXEC_TASK_POLL_INTERVAL", None)  # Flower's defaults throughout
    app_dir = run_dir / "reference-app"
    app_dir.mkdir(exist_ok=True)
    text = app_pyproject(rc).replace(
        "flock.flower.server_app:app", "flock.flower.reference:server_app"
    )
    (app_dir / "pyproject.toml").write_text(
        text.replace("flock.flower.client_app:app", "flock.flower.reference:client_app")
    )
    logs = run_dir / "reference-logs"
    processes = Processes(stop_timeout=float(cfg.flower.stop_timeout_s))
    try:
        processes.start(
            "superlink",
            [str(bin_dir / "flower-superlink"), "--insecure", "--port", str(link_port)],
            env, logs / "superlink.log",
        )  # fmt: skip
        wait_port(link_port, float(cfg.flower.startup_timeout_s), processes)
        for i in range(int(cfg.participants)):
            processes.start(
                f"supernode-{i}",
                [str(bin_dir / "flower-supernode"), "--insecure", "--superlink",
                 f"127.0.0.1:{link_port}", "--port", str(free_port()),
                 "--node-config", f"partition-id={i}"],
                env, logs / f"supernode-{i}.log",
            )  # fmt: skip
        run_id = int(_flwr(bin_dir, ["run", str(app_dir), "local"], env)["run-id"])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            processes.check_alive()
            runs = _flwr(bin_dir, ["ls", "local", "--run-id", str(run_id)], env).get("runs", [])
            if runs and str(runs[0]["status"]).startswith("finished"):
                break
            time.sleep(1.0)
        else:
            raise TimeoutError(f"reference run {run_id} not finished after {timeout_s}s")
    finally:
        processes.stop()
    version = subprocess.run(
        [str(bin_dir / "python"), "-c", "import flwr; print(flwr.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    result = Path(rc["result-file"])
    if not result.exists():
        raise RuntimeError(f"reference run {run_id} wrote no result (see {logs})")
    return {
        "round_s": json.loads(result.read_text())["round_s"],
        "flower": version,
        "clientapp_processes": len(list(Path(rc["pid-dir"]).iterdir())),
        "messages": rounds * (train + evaluate),
    }
