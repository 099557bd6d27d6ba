"""`flock alliance`: anvil, a deployed task, a Flower SuperLink and N SuperNodes, one real run."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from flock.attacks import plan_attacks
from flock.contracts.anvil import AnvilProcess, free_port
from flock.flower.common import AllianceFile, atomic_write
from flock.flower.coordinator import Coordinator, CoordinatorSettings
from flock.flower.deploy import deploy_dev_alliance, publish_initial_model
from flock.flower.processes import Processes, process_alive
from flock.flower.routes import (
    app_pyproject,
    run_grpc,
    run_simulation,
    run_superlink,
    start_store_service,
)
from flock.learning.pretrain import resolve_base
from flock.spec import validate_config

__all__ = [
    "CONFIG_DIR",
    "ROUTES",
    "FlowerSettings",
    "app_pyproject",
    "launch_alliance",
    "load_config",
    "process_alive",
    "write_behaviours",
]

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


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
    #: Token transfers the creator sends back to back before awaiting their receipts when it
    #: funds the members of a dev alliance.
    enrol_transfer_batch: int = 200


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


def write_behaviours(cfg: DictConfig, addresses: Sequence[str], path: Path) -> None:
    """Write who plays which behaviour (the attack plan, by address) for `flock dashboard`,
    which tells attackers from honest members with it; no key, no data."""
    attack = OmegaConf.to_container(cfg.attack, resolve=True)
    plan = plan_attacks(attack, n=len(addresses), seed=int(cfg.seed))  # type: ignore[arg-type]
    behaviours = {
        address: {"proposer": a.proposer, "voter": a.voter}
        for address, a in zip(addresses, plan.assignments, strict=True)
    }
    atomic_write(path, json.dumps(behaviours, indent=2, sort_keys=True))


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
        Run directory: logs, store (with `store=http`: the service's directory, and a cache
        per process under nodes/<i>/store, creator/ and coordinator/), node state,
        FLWR_HOME, result and summary.
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
    resolve_base(cfg)  # model=causal_lm: the stored base model, pretrained once
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
        store_kind = str(cfg.store.kind)
        # store=http without a url: this launcher starts the service, one more process
        store_port = free_port() if store_kind == "http" and not cfg.store.get("url") else None
        store_url = f"http://127.0.0.1:{store_port}" if store_port else ""
        deployed = deploy_dev_alliance(cfg, rpc_url, run_dir, store_url=store_url)
        summary["participants"] = deployed.addresses
        write_behaviours(cfg, deployed.addresses, run_dir / "behaviours.json")
        if store_port is not None:
            start_store_service(cfg, run_dir, deployed.alliance_file, store_port, processes)
            summary["store_url"] = store_url
        if store_kind != "dir":
            assert deployed.creator is not None and deployed.creator_store is not None
            publish_initial_model(
                AllianceFile.read(deployed.alliance_file),
                deployed.creator,
                deployed.creator_store,
                deployed.initial_model_hash,
            )
        summary["deploy_s"] = round(time.perf_counter() - started, 2)

        result_file = run_dir / "result.json"
        settings = CoordinatorSettings(
            alliance_file=str(deployed.alliance_file),
            coordinator_key_file=str(deployed.coordinator_key_file),
            result_file=str(result_file),
            num_nodes=int(cfg.participants),
            node_wait_s=float(fl.startup_timeout_s),
            cache_dir=str(run_dir / "coordinator" / "store"),
        )
        t = time.perf_counter()
        if fl.route == "grpc":
            run_grpc(
                cfg,
                run_dir,
                deployed,
                settings,
                processes,
                summary,
                coordinator_cls=coordinator_cls,
            )
        elif fl.route == "superlink":
            run_superlink(cfg, run_dir, deployed, settings, processes, summary)
        else:
            run_simulation(cfg, run_dir, deployed, settings, summary)
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
