"""`flock alliance`: anvil, a deployed task, a Flower SuperLink and N SuperNodes, one real run."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from flock.contracts import RpcChain, Signer, TxSender
from flock.contracts.anvil import AnvilProcess, free_port
from flock.contracts.deploy import deploy_alliance
from flock.contracts.units import to_wei
from flock.flower.client_app import make_client_app
from flock.flower.common import AllianceFile, atomic_write
from flock.flower.coordinator import Coordinator, CoordinatorSettings
from flock.flower.grpc_route import serve
from flock.flower.server_app import make_server_app
from flock.learning.models import flatten_params
from flock.spec import participant_signer, spec_hash_of, task_params, validate_config
from flock.store import UpdateStore

log = logging.getLogger(__name__)

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")
SERVER_APP = "flock.flower.server_app:app"
CLIENT_APP = "flock.flower.client_app:app"


@dataclass
class FlowerSettings:
    """The Flower deployment of `flock alliance` (the config's `flower` node; override any
    field with ``flower.<field>=<value>``)."""

    #: How the coordinator reaches the participants: "grpc" (long-lived Flower gRPC client per
    #: participant process; the fast default), "superlink" (Flower's deployment runtime:
    #: SuperLink, a SuperNode per participant, `flwr run`) or "simulation" (Flower's
    #: simulation engine on Ray, for large N).
    route: str = "grpc"
    #: Chain id of the private anvil.
    chain_id: int = 31337
    #: SuperLink port and node connection wait.
    startup_timeout_s: float = 60.0
    #: One message batch (train / vote / reveal) of the coordinator.
    message_timeout_s: float = 300.0
    #: The whole Flower run.
    run_timeout_s: float = 1800.0
    #: How often the launcher asks the SuperLink for the run status.
    status_poll_s: float = 1.0
    #: FLWR_SUPEREXEC_TASK_POLL_INTERVAL of the app executors.
    superexec_poll_s: float = 0.2
    #: SIGTERM grace before SIGKILL when stopping processes.
    stop_timeout_s: float = 10.0
    #: Torch threads per ClientApp process.
    torch_threads: int = 1
    #: Interval at which the ServerApp pulls replies from the Grid (superlink, simulation).
    grid_poll_s: float = 0.1
    #: CPUs Ray reserves per simulated participant (simulation route).
    simulation_cpus_per_node: float = 1.0
    #: Tries to start Ray's head node (simulation route): its GCS server must come up within
    #: Ray's fixed 30 s, which a loaded machine occasionally misses.
    simulation_ray_start_attempts: int = 3


ROUTES = ("grpc", "superlink", "simulation")


def load_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The flock config plus its `flower` node, with `overrides` applied (``flower.*`` ones to
    :class:`FlowerSettings`, the others through Hydra).

    Raises
    ------
    omegaconf.errors.ConfigKeyError
        For an unknown ``flower.*`` key.
    omegaconf.errors.ValidationError
        For a ``flower.*`` value of the wrong type.
    """
    flower_overrides = [o.removeprefix("flower.") for o in overrides if o.startswith("flower.")]
    hydra_overrides = [o for o in overrides if not o.startswith("flower.")]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=hydra_overrides)
    settings = OmegaConf.merge(
        OmegaConf.structured(FlowerSettings), OmegaConf.from_dotlist(flower_overrides)
    )
    OmegaConf.set_struct(cfg, False)
    cfg.flower = settings
    OmegaConf.set_struct(cfg, True)
    return cfg


@dataclass
class Deployed:
    """What the launcher set up on chain: the alliance file and the key files it wrote."""

    alliance_file: Path
    coordinator_key_file: Path
    key_files: list[Path]
    addresses: list[str]


def _write_key(path: Path, signer: Signer) -> None:
    atomic_write(path, signer.account.key.hex(), mode=0o600)


def deploy(cfg: DictConfig, rpc_url: str, run_dir: Path) -> Deployed:
    """Deploy the task on the dev chain at `rpc_url`, fund N participant keys (gas + tokens)
    and a coordinator key, store the initial model and write the public alliance file.

    Parameters
    ----------
    cfg : DictConfig
        The flock config (participants, task, tokens, model, ...).
    rpc_url : str
        A dev JSON-RPC node (anvil) serving `cfg.flower.chain_id`.
    run_dir : Path
        Where the store, key files and alliance file go.

    Returns
    -------
    Deployed
        Paths of the alliance file and key files, and the participants' addresses.
    """
    chain = RpcChain(rpc_url, expected_chain_id=int(cfg.flower.chain_id), dev=True)
    torch.manual_seed(int(cfg.seed))
    store = UpdateStore(run_dir / "store", max_bytes=int(cfg.store.max_bytes))
    initial_hash = store.put(
        flatten_params(instantiate(cfg.model)), {"kind": "initial", "round": "0"}
    )
    sender = TxSender(chain, gas_margin=float(cfg.chain.gas_margin))
    fund_wei = to_wei(cfg.chain.fund_wei, decimals=0)
    creator = Signer.create()
    chain.fund(creator.address, fund_wei)
    params = task_params(cfg, spec_hash=spec_hash_of(cfg), initial_model_hash=initial_hash)
    deployment, task = deploy_alliance(
        sender,
        creator,
        params,
        reward_pool=to_wei(cfg.tokens.reward_pool),
        token_supply=to_wei(cfg.tokens.supply),
    )
    log.info("task %s deployed (token %s)", task.address, deployment.token)
    key_files, addresses = [], []
    for i in range(int(cfg.participants)):
        signer = participant_signer(cfg, i)
        chain.fund(signer.address, fund_wei)
        task.token.transfer(creator, signer.address, to_wei(cfg.tokens.per_participant))
        key_file = run_dir / "nodes" / str(i) / "key"
        _write_key(key_file, signer)
        key_files.append(key_file)
        addresses.append(signer.address)
    coordinator = Signer.create()
    chain.fund(coordinator.address, fund_wei)
    coordinator_key_file = run_dir / "coordinator.key"
    _write_key(coordinator_key_file, coordinator)
    alliance = AllianceFile(
        cfg=cfg,
        task=task.address,
        rpc_url=rpc_url,
        chain_id=int(cfg.flower.chain_id),
        store_dir=run_dir / "store",
        stake_wei=to_wei(cfg.tokens.stake),
        dev_chain=True,
    )
    alliance_file = run_dir / "alliance.json"
    alliance.write(alliance_file)
    return Deployed(alliance_file, coordinator_key_file, key_files, addresses)


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


@dataclass
class Processes:
    """Processes this launcher started, each leader of its own process group."""

    stop_timeout: float
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, cmd: list[str], env: dict[str, str], log_file: Path) -> int:
        """Start `cmd` in a new session (its own process group), output to `log_file`."""
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "ab") as out:
            proc = subprocess.Popen(
                cmd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs.append((name, proc))
        log.info("started %s (pid %d)", name, proc.pid)
        return proc.pid

    def check_alive(self) -> None:
        """Raise if a started process already exited (it is left unreaped: see :meth:`stop`)."""
        for name, proc in self.procs:
            if _exited(proc.pid):
                raise RuntimeError(f"{name} (pid {proc.pid}) exited; see its log")

    @property
    def pids(self) -> list[int]:
        """Process (and process group) ids started."""
        return [p.pid for _, p in self.procs]

    def stop(self) -> None:
        """SIGTERM every process group (newest first), SIGKILL each group after the grace time
        (children left behind included), then reap the leaders. A leader is reaped only after
        its group was killed, so its id cannot have been reused by then."""
        for _, proc in reversed(self.procs):
            signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline and not all(_exited(p.pid) for _, p in self.procs):
            time.sleep(0.05)
        for name, proc in reversed(self.procs):
            if not _exited(proc.pid):
                log.warning("%s (pid %d) ignored SIGTERM; killing", name, proc.pid)
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()


def _exited(pid: int) -> bool:
    """Whether child `pid` exited, without reaping it (its id stays reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send `sig` to process group `pgid`; a group that is already gone is fine."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_port(port: int, timeout: float, processes: Processes) -> None:
    """Wait until 127.0.0.1:`port` accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _flwr(args: list[str], env: dict[str, str], bin_dir: Path) -> dict[str, Any]:
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


def launch_alliance(
    cfg: DictConfig,
    run_dir: Path,
    *,
    rpc_url: str | None = None,
    coordinator_cls: type[Coordinator] = Coordinator,
) -> dict[str, Any]:
    """Launch a real multi-process alliance, run it to the end and stop everything started.

    Parameters
    ----------
    cfg : DictConfig
        flock config with the `flower` group (see :func:`load_config`).
    run_dir : Path
        Run directory: logs, store, node state, FLWR_HOME, result and summary.
    rpc_url : str | None
        An existing dev chain to use (left running); None starts a private anvil.
    coordinator_cls : type[Coordinator]
        The coordinator of the grpc route (tests substitute a dishonest one).

    Returns
    -------
    dict
        Summary: Flower run id and status, per-round results from the coordinator, timings,
        the participants' addresses and the pids of every process started.
    """
    validate_config(cfg)
    if cfg.flower.route not in ROUTES:
        raise ValueError(f"flower.route must be one of {ROUTES}, got {cfg.flower.route!r}")
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    fl = cfg.flower
    anvil: AnvilProcess | None = None
    processes = Processes(stop_timeout=float(fl.stop_timeout_s))
    summary: dict[str, Any] = {"run_dir": str(run_dir)}
    started = time.perf_counter()
    try:
        if rpc_url is None:
            anvil = AnvilProcess(
                chain_id=int(fl.chain_id),
                block_gas_limit=int(cfg.chain.block_gas_limit),
                startup_timeout=float(fl.startup_timeout_s),
            ).start()
            rpc_url = anvil.url
            summary["anvil_pid"] = anvil.pid
            atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2))
        deployed = deploy(cfg, rpc_url, run_dir)
        summary["participants"] = deployed.addresses
        summary["deploy_s"] = round(time.perf_counter() - started, 2)

        result_file = run_dir / "result.json"
        settings = CoordinatorSettings(
            alliance_file=str(deployed.alliance_file),
            coordinator_key_file=str(deployed.coordinator_key_file),
            result_file=str(result_file),
            num_nodes=int(cfg.participants),
            node_wait_s=float(fl.startup_timeout_s),
        )
        t = time.perf_counter()
        if fl.route == "grpc":
            _run_grpc(
                cfg,
                run_dir,
                deployed,
                settings,
                processes,
                summary,
                coordinator_cls=coordinator_cls,
            )
        elif fl.route == "superlink":
            _run_superlink(cfg, run_dir, deployed, settings, processes, summary)
        else:
            _run_simulation(cfg, run_dir, deployed, settings, summary)
        summary["run_s"] = round(time.perf_counter() - t, 2)
        if result_file.exists():
            summary["result"] = json.loads(result_file.read_text())
    finally:
        processes.stop()
        if anvil is not None:
            anvil.stop()
        summary["wall_s"] = round(time.perf_counter() - started, 2)
        atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2))
    return summary


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


def _run_grpc(
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


def _run_superlink(
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


def _run_simulation(
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
    from flwr.simulation import run_simulation

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
        _start_ray(init_args, attempts=int(fl.simulation_ray_start_attempts))
        run_simulation(
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


def _start_ray(init_args: dict[str, Any], *, attempts: int) -> None:
    """Start Ray's head node as Flower's Ray backend would (it then finds Ray running), trying
    again when the head's GCS server missed Ray's start-up deadline."""
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
        except RuntimeError as exc:
            if "Timed out waiting for file" not in str(exc) or attempt >= attempts:
                raise
            log.warning("Ray's head node did not start (try %d of %d): %s", attempt, attempts, exc)
            ray.shutdown()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def alliance_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `flock alliance [--run-dir DIR] [hydra overrides...]`."""
    parser = argparse.ArgumentParser(
        prog="flock alliance",
        description=__doc__,
        epilog="Other arguments are Hydra overrides of the flock config, e.g. participants=5 "
        "task.rounds=3, or of the deployment, e.g. flower.message_timeout_s=60 (see "
        "flock.flower.launch.FlowerSettings).",
    )
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="default: outputs/alliance/<time>"
    )
    parser.add_argument("--log-level", default="INFO")
    args, overrides = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    cfg = load_config(overrides)
    run_dir = args.run_dir or Path("outputs/alliance") / datetime.now(UTC).strftime(
        "%Y-%m-%d_%H-%M-%S"
    )
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        summary = launch_alliance(cfg, run_dir)
    except (KeyboardInterrupt, SystemExit):
        # SystemExit: Flower's gRPC server turns SIGINT/SIGTERM into a "graceful" exit (code 0)
        log.warning("interrupted; every started process was stopped")
        sys.exit(130)
    result = summary.get("result", {})
    for r in result.get("rounds", []):
        log.info("round %d: %s acc=%s %.1fs", r["round"], r["outcome"], r["accuracy"], r["total_s"])
    log.info(
        "status %s, run %.1fs, wall %.1fs, summary %s",
        summary.get("status"),
        summary.get("run_s", 0.0),
        summary["wall_s"],
        run_dir / "summary.json",
    )
    if result.get("error") or not str(summary.get("status", "")).endswith("completed"):
        sys.exit(1)
