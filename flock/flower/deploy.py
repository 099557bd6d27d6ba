"""The one deploy step of every path: initial model, task parameters, contracts, alliance file."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from flock.contracts import Deployment, RpcChain, Signer, TaskClient, TaskParams, TxSender
from flock.contracts.deploy import deploy_alliance
from flock.contracts.units import to_wei
from flock.flower.common import AllianceFile, atomic_write
from flock.learning.models import flatten_params
from flock.spec import participant_signer, spec_hash_of, task_params
from flock.store import UpdateStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeployedTask:
    """One task deployed by :func:`deploy_task`."""

    deployment: Deployment
    task: TaskClient
    params: TaskParams
    initial_model_hash: bytes
    #: The public alliance file written, None when none was asked for.
    alliance: AllianceFile | None


def deploy_task(
    cfg: DictConfig,
    sender: TxSender,
    creator: Signer,
    *,
    store: UpdateStore,
    alliance_file: Path | None,
    token_address: str | None = None,
) -> DeployedTask:
    """Store the task's initial model, deploy token (unless `token_address`), factory and the
    task funded by `creator`, and write the public alliance file.

    Parameters
    ----------
    cfg : DictConfig
        The validated flock config (seed, model, task, tokens, chain, ...).
    sender, creator : TxSender, Signer
        The chain to deploy on and the funded deployer (task creator, reward pool holder).
    store : UpdateStore
        The alliance's update store; it receives the initial model.
    alliance_file : Path | None
        Where to write the alliance file (`sender.chain` must then be an RpcChain, whose URL,
        chain id and dev flag it records); None writes none.
    token_address : str | None
        An existing ERC-20; None deploys a FlockToken with `tokens.supply`.

    Raises
    ------
    TypeError
        When an alliance file is asked for on a chain without a JSON-RPC endpoint.
    """
    chain = sender.chain
    if alliance_file is not None and not isinstance(chain, RpcChain):
        raise TypeError(f"an alliance file needs a JSON-RPC chain, not {type(chain).__name__}")
    torch.manual_seed(int(cfg.seed))
    initial_hash = store.put(
        flatten_params(instantiate(cfg.model)), {"kind": "initial", "round": "0"}
    )
    params = task_params(cfg, spec_hash=spec_hash_of(cfg), initial_model_hash=initial_hash)
    deployment, task = deploy_alliance(
        sender,
        creator,
        params,
        reward_pool=to_wei(cfg.tokens.reward_pool),
        token_address=token_address,
        token_supply=to_wei(cfg.tokens.supply),
    )
    alliance = None
    if alliance_file is not None:
        assert isinstance(chain, RpcChain)  # checked above; for the type checker
        alliance = AllianceFile(
            cfg=cfg,
            task=deployment.task,
            rpc_url=chain.url,
            chain_id=chain.chain_id,
            store_dir=store.root,
            stake_wei=to_wei(cfg.tokens.stake),
            dev_chain=chain.dev,
        )
        alliance.write(alliance_file)
    return DeployedTask(deployment, task, params, initial_hash, alliance)


@dataclass
class Deployed:
    """What the launcher set up on chain: the alliance file and the key files it wrote."""

    alliance_file: Path
    coordinator_key_file: Path
    key_files: list[Path]
    addresses: list[str]


def write_key(path: Path, signer: Signer) -> None:
    """Write `signer`'s private key as hex to `path` (mode 0600)."""
    atomic_write(path, signer.account.key.hex(), mode=0o600)


def deploy_dev_alliance(cfg: DictConfig, rpc_url: str, run_dir: Path) -> Deployed:
    """Deploy the task on the dev chain at `rpc_url` (:func:`deploy_task`), then fund N
    participant keys (gas + tokens) and a coordinator key and write their key files.

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
    store = UpdateStore(run_dir / "store", max_bytes=int(cfg.store.max_bytes))
    sender = TxSender(chain, gas_margin=float(cfg.chain.gas_margin))
    fund_wei = to_wei(cfg.chain.fund_wei, decimals=0)
    creator = Signer.create()
    chain.fund(creator.address, fund_wei)
    alliance_file = run_dir / "alliance.json"
    deployed = deploy_task(cfg, sender, creator, store=store, alliance_file=alliance_file)
    task = deployed.task
    log.info("task %s deployed (token %s)", task.address, deployed.deployment.token)
    key_files, addresses = [], []
    for i in range(int(cfg.participants)):
        signer = participant_signer(cfg, i)
        chain.fund(signer.address, fund_wei)
        task.token.transfer(creator, signer.address, to_wei(cfg.tokens.per_participant))
        key_file = run_dir / "nodes" / str(i) / "key"
        write_key(key_file, signer)
        key_files.append(key_file)
        addresses.append(signer.address)
    coordinator = Signer.create()
    chain.fund(coordinator.address, fund_wei)
    coordinator_key_file = run_dir / "coordinator.key"
    write_key(coordinator_key_file, coordinator)
    return Deployed(alliance_file, coordinator_key_file, key_files, addresses)
