"""The three routes of `flock alliance` (grpc, superlink, simulation) and their Flower set-up:
process environment, app pyproject, FLWR_HOME config, `flwr` CLI calls and Ray's head node."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from flock.contracts.anvil import free_port
from flock.flower.client_app import make_client_app
from flock.flower.common import atomic_write
from flock.flower.coordinator import Coordinator, CoordinatorSettings
from flock.flower.deploy import Deployed
from flock.flower.grpc_route import serve
from flock.flower.processes import Processes, stop_children, wait_port
from flock.flower.server_app import make_server_app

log = logging.getLogger(__name__)

SERVER_APP = "flock.flower.server_app:app"
CLIENT_APP = "flock.flower.client_app:app"


def app_pyproject(run_config: dict[str, Any]) -> str:
    """The hand-written Flower app pyproject: flock's ServerApp and ClientApp and the run config."""
    lines = [
        "[build-system]",
        'requires = ["hatchling"]',
        'build-backend = "hatchling.build"',
        "",
        "[project]",
        'name = "flock-alliance"',
        'version = "0.1.0"',
        'description = "flock alliance: chain-governed federated learning"',
        'license = "Apache-2.0"',
        "dependencies = []",
        "",
        "[tool.flwr.app]",
        'publisher = "flock"',
        "",
        "[tool.flwr.app.components]",
        f'serverapp = "{SERVER_APP}"',
        f'clientapp = "{CLIENT_APP}"',
        "",
        "[tool.flwr.app.config]",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in run_config.items()]
    return "\n".join(lines) + "\n"


def flower_config(address: str) -> str:
    """FLWR_HOME/config.toml naming the local SuperLink as the default connection."""
    return (
        '[superlink]\ndefault = "local"\n\n'
        f'[superlink.local]\naddress = "{address}"\ninsecure = true\n'
    )


def _flwr(args: list[str], env: dict[str, str], bin_dir: Path) -> dict[str, Any]:
    """Run `flwr <args> --format json` and return its JSON answer."""
    out = subprocess.run(
        [str(bin_dir / "flwr"), *args, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    start = out.stdout.find("{")
    if start < 0:
        raise RuntimeError(f"flwr {args[0]} failed ({out.returncode}): {out.stderr or out.stdout}")
    return dict(json.loads(out.stdout[start:]))


def flower_env(run_dir: Path, fl: DictConfig) -> dict[str, str]:
    """Environment of Flower processes: per-run FLWR_HOME, no telemetry, no runtime installs."""
    bin_dir = Path(sys.executable).parent
    return {
        **os.environ,
        "FLWR_HOME": str(run_dir / "flwr_home"),
        "FLWR_TELEMETRY_ENABLED": "0",
        "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
        "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": str(fl.superexec_poll_s),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }


def start_store_service(
    cfg: DictConfig, run_dir: Path, alliance_file: Path, port: int, processes: Processes
) -> str:
    """Start `flock store serve` for the alliance on 127.0.0.1:`port` (its blobs in
    run_dir/store-service) as one more process of the group, and wait until it listens."""
    processes.start(
        "store-service",
        [
            sys.executable, "-m", "flock.cli", "store", "serve",
            "--alliance-file", str(alliance_file),
            "--dir", str(run_dir / "store-service"),
            "--address", f"127.0.0.1:{port}",
        ],
        flower_env(run_dir, cfg.flower),
        run_dir / "logs" / "store-service.log",
    )  # fmt: skip
    wait_port(port, float(cfg.flower.startup_timeout_s), processes)
    return f"http://127.0.0.1:{port}"


def run_grpc(
    cfg: DictConfig,
    run_dir: Path,
    deployed: Deployed,
    settings: CoordinatorSettings,
    processes: Processes,
    summary: dict[str, Any],
    *,
    coordinator_cls: type[Coordinator] = Coordinator,
) -> None:
    """Long-lived route: N `flock participant` processes connect to the coordinator's gRPC
    server, which runs in this process until the task ends."""
    fl = cfg.flower
    env = flower_env(run_dir, fl)
    port = free_port()
    address = f"127.0.0.1:{port}"
    for i, key_file in enumerate(deployed.key_files):
        processes.start(
            f"participant-{i}",
            [
                sys.executable,
                "-m",
                "flock.cli",
                "participant",
                "--server",
                address,
                "--alliance-file",
                str(deployed.alliance_file),
                "--state-dir",
                str(key_file.parent / "state"),
                "--cache-dir",
                str(key_file.parent / "store"),
                "--key-file",
                str(key_file),
                "--partition-id",
                str(i),
                "--max-wait-s",
                str(fl.startup_timeout_s),
            ],
            env,
            run_dir / "logs" / f"participant-{i}.log",
        )
    summary["pids"] = processes.pids
    atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2))
    serve(
        address,
        settings,
        message_timeout=float(fl.message_timeout_s),
        coordinator_cls=coordinator_cls,
    )
    summary["status"] = "finished:completed"


def run_superlink(
    cfg: DictConfig,
    run_dir: Path,
    deployed: Deployed,
    settings: CoordinatorSettings,
    processes: Processes,
    summary: dict[str, Any],
) -> None:
    """Deployment route: a SuperLink, a SuperNode per participant, `flwr run` of flock's app."""
    fl = cfg.flower
    bin_dir = Path(sys.executable).parent
    link_port = free_port()
    atomic_write(run_dir / "flwr_home" / "config.toml", flower_config(f"127.0.0.1:{link_port}"))
    env = flower_env(run_dir, fl)
    app_dir = run_dir / "app"
    atomic_write(
        app_dir / "pyproject.toml",
        app_pyproject(
            {
                "alliance-file": settings.alliance_file,
                "coordinator-key-file": settings.coordinator_key_file,
                "result-file": settings.result_file,
                "cache-dir": settings.cache_dir,
                "num-nodes": settings.num_nodes,
                "node-wait-s": settings.node_wait_s,
                "message-timeout-s": float(fl.message_timeout_s),
                "grid-poll-s": float(fl.grid_poll_s),
            }
        ),
    )
    logs = run_dir / "logs"
    processes.start(
        "superlink",
        [
            str(bin_dir / "flower-superlink"),
            "--insecure",
            "--port",
            str(link_port),
            "--disable-runtime-dependency-installation",
        ],
        env,
        logs / "superlink.log",
    )
    wait_port(link_port, float(fl.startup_timeout_s), processes)
    for i, key_file in enumerate(deployed.key_files):
        node_config = " ".join(
            [
                f'alliance-file="{deployed.alliance_file}"',
                f'state-dir="{key_file.parent / "state"}"',
                f'cache-dir="{key_file.parent / "store"}"',
                f'key-file="{key_file}"',
                f"partition-id={i}",
            ]
        )
        processes.start(
            f"supernode-{i}",
            [
                str(bin_dir / "flower-supernode"),
                "--insecure",
                "--superlink",
                f"127.0.0.1:{link_port}",
                "--port",
                str(free_port()),
                "--node-config",
                node_config,
            ],
            env,
            logs / f"supernode-{i}.log",
        )
    summary["pids"] = processes.pids

    submitted = _flwr(["run", str(app_dir), "local"], env, bin_dir)
    run_id = int(submitted["run-id"])
    summary["run_id"] = run_id
    log.info("submitted Flower run %d", run_id)
    deadline = time.monotonic() + float(fl.run_timeout_s)
    status = ""
    while time.monotonic() < deadline:
        processes.check_alive()
        runs = _flwr(["ls", "local", "--run-id", str(run_id)], env, bin_dir).get("runs", [])
        status = str(runs[0]["status"]) if runs else ""
        if status.startswith("finished"):
            break
        time.sleep(float(fl.status_poll_s))
    else:
        raise TimeoutError(f"Flower run {run_id} not finished after {fl.run_timeout_s}s")
    summary["status"] = status


def run_simulation(
    cfg: DictConfig,
    run_dir: Path,
    deployed: Deployed,
    settings: CoordinatorSettings,
    summary: dict[str, Any],
) -> None:
    """Simulation route: Flower's simulation engine (Ray) runs the same ServerApp and ClientApp
    with one virtual SuperNode per participant; Ray is shut down afterwards."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise RuntimeError("the simulation route needs Flower's simulation extra: flwr[simulation]")
    from flwr.simulation import run_simulation as flwr_run_simulation

    fl = cfg.flower
    flower_vars = {k: v for k, v in flower_env(run_dir, fl).items() if k.startswith("FLWR_")}
    saved = {k: os.environ.get(k) for k in flower_vars}
    os.environ.update(flower_vars)  # the engine runs in this process: set here, restored below
    client_app = make_client_app(
        {"alliance-file": settings.alliance_file, "nodes-dir": str(run_dir / "nodes")}
    )
    server_app = make_server_app(
        settings, message_timeout=float(fl.message_timeout_s), poll_s=float(fl.grid_poll_s)
    )
    init_args: dict[str, Any] = {"include_dashboard": False, "num_cpus": os.cpu_count() or 1}
    saved.setdefault("PYTHONPATH", os.environ.get("PYTHONPATH"))
    try:
        start_ray(init_args, attempts=int(fl.simulation_ray_start_attempts))
        flwr_run_simulation(
            server_app=server_app,
            client_app=client_app,
            num_supernodes=settings.num_nodes,
            backend_config={
                "client_resources": {
                    "num_cpus": float(fl.simulation_cpus_per_node),
                    "num_gpus": 0.0,
                },
                "init_args": init_args,
            },  # type: ignore[dict-item]  # Flower's ConfigRecord type; the values are plain
        )
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    result = json.loads(Path(settings.result_file).read_text())
    summary["status"] = "finished:failed" if result.get("error") else "finished:completed"


#: What Ray raises when its head node misses one of its start-up deadlines (the GCS server's
#: port file, the raylet's registration: 30 s, fixed in Ray), as a loaded machine occasionally
#: does; :func:`start_ray` tries again on these and on nothing else.
RAY_START_DEADLINES = ("Timed out waiting for file", "The current node timed out during startup")


def start_ray(init_args: dict[str, Any], *, attempts: int) -> None:
    """Start Ray's head node as Flower's Ray backend would (it then finds Ray running), trying
    again when the head missed one of Ray's start-up deadlines (:data:`RAY_START_DEADLINES`);
    the daemons a failed start left behind are stopped first."""
    import ray

    # as flwr's RayBackend.init_ray: actors import flock through the driver's sys.path
    pythonpath = os.pathsep.join(sys.path)
    if os.environ.get("PYTHONPATH"):
        pythonpath = f"{pythonpath}{os.pathsep}{os.environ['PYTHONPATH']}"
    os.environ["PYTHONPATH"] = pythonpath
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            ray.init(runtime_env={"env_vars": {"PYTHONPATH": pythonpath}}, **init_args)
            return
        except Exception as exc:  # Ray raises a bare Exception for the raylet's deadline
            if not any(d in str(exc) for d in RAY_START_DEADLINES) or attempt >= attempts:
                raise
            log.warning("Ray's head node did not start (try %d of %d): %s", attempt, attempts, exc)
            ray.shutdown()
            stop_children(("gcs_server", "raylet"))
