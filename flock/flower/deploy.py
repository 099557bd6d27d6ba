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
    store_url: str = "",
) -> DeployedTask:
    """Store the task's initial model, deploy token (unless `token_address`), factory and the
    task funded by `creator`, and write the public alliance file.

    With a networked store (`store=http`, `store=s3`), `store` is the creator's own cache and
    the initial model still has to be published there: :func:`publish_initial_model`, once
    the blob service runs (it needs the alliance file to know its task).

    Parameters
    ----------
    cfg : DictConfig
        The validated flock config (seed, model, task, tokens, chain, ...).
    sender, creator : TxSender, Signer
        The chain to deploy on and the funded deployer (task creator, reward pool holder).
    store : UpdateStore
        The alliance's shared store directory (`store=dir`), or the creator's cache; it
        receives the initial model.
    alliance_file : Path | None
        Where to write the alliance file (`sender.chain` must then be an RpcChain, whose URL,
        chain id and dev flag it records); None writes none.
    token_address : str | None
        An existing ERC-20; None deploys a FlockToken with `tokens.supply`.
    store_url : str
        The blob service of `store=http`, recorded in the alliance file.

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
        beacon=cfg.task.get("beacon"),
        beacon_grace_s=int(cfg.task.get("beacon_grace_s", 0)),
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
            store_url=store_url,
        )
        alliance.write(alliance_file)
    return DeployedTask(deployment, task, params, initial_hash, alliance)


def publish_initial_model(
    alliance: AllianceFile,
    creator: Signer,
    cache_dir: Path,
    digest: bytes,
    *,
    reach_deadline_s: float | None = None,
) -> str:
    """Upload the initial model from the creator's cache to the alliance's networked store,
    signed by the creator (the service takes it from the task's creator); return its URI.
    `reach_deadline_s` bounds the wait for the store to answer (None: the store's deadline).

    Raises
    ------
    flock.store.StoreUnreachableError
        When the store does not answer (its message names the URL).
    """
    store = alliance.store(cache_dir, account=creator.account)
    store.check(reach_deadline_s)
    store.put_bytes(UpdateStore(cache_dir).get_bytes(digest))
    log.info("initial model %s published at %s", digest.hex()[:12], store.uri(digest))
    return store.uri(digest)


@dataclass
class Deployed:
    """What the launcher set up on chain: the alliance file and the key files it wrote."""

    alliance_file: Path
    coordinator_key_file: Path
    key_files: list[Path]
    addresses: list[str]
    #: The task creator, its store directory (the shared one of `store=dir`, else its own
    #: cache) and the initial model's hash, to publish it on a networked store.
    creator: Signer | None = None
    creator_store: Path | None = None
    initial_model_hash: bytes = b""


def write_key(path: Path, signer: Signer) -> None:
    """Write `signer`'s private key as hex to `path` (mode 0600)."""
    atomic_write(path, signer.account.key.hex(), mode=0o600)


def deploy_dev_alliance(
    cfg: DictConfig, rpc_url: str, run_dir: Path, *, store_url: str = ""
) -> Deployed:
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
    store_url : str
        The blob service of `store=http` (recorded in the alliance file).

    Returns
    -------
    Deployed
        Paths of the alliance file and key files, and the participants' addresses.
    """
    chain = RpcChain(rpc_url, expected_chain_id=int(cfg.flower.chain_id), dev=True)
    shared = str(cfg.store.get("kind", "dir")) == "dir"  # else: the creator's own cache
    store_dir = run_dir / "store" if shared else run_dir / "creator" / "store"
    store = UpdateStore(store_dir, max_bytes=int(cfg.store.max_bytes))
    sender = TxSender(chain, gas_margin=float(cfg.chain.gas_margin))
    fund_wei = to_wei(cfg.chain.fund_wei, decimals=0)
    creator = Signer.create()
    chain.fund(creator.address, fund_wei)
    alliance_file = run_dir / "alliance.json"
    deployed = deploy_task(
        cfg, sender, creator, store=store, alliance_file=alliance_file, store_url=store_url
    )
    task = deployed.task
    log.info("task %s deployed (token %s)", task.address, deployed.deployment.token)
    key_files, addresses, transfers = [], [], []
    amount = to_wei(cfg.tokens.per_participant)
    for i in range(int(cfg.participants)):
        signer = participant_signer(cfg, i)
        chain.fund(signer.address, fund_wei)
        transfers.append(task.token.prepare_transfer(signer.address, amount))
        key_file = run_dir / "nodes" / str(i) / "key"
        write_key(key_file, signer)
        key_files.append(key_file)
        addresses.append(signer.address)
    # the creator's transfers are independent: sent back to back, then every receipt awaited
    batch = int(cfg.flower.enrol_transfer_batch)
    for start in range(0, len(transfers), batch):
        sender.transact_many(creator, transfers[start : start + batch])
    coordinator = Signer.create()
    chain.fund(coordinator.address, fund_wei)
    coordinator_key_file = run_dir / "coordinator.key"
    write_key(coordinator_key_file, coordinator)
    return Deployed(
        alliance_file,
        coordinator_key_file,
        key_files,
        addresses,
        creator=creator,
        creator_store=store.root,
        initial_model_hash=deployed.initial_model_hash,
    )
