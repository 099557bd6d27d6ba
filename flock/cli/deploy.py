"""`flock deploy`: deploy token (optional), factory and one funded task; print the addresses."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from flock.contracts import RpcChain, Signer, TxSender
from flock.contracts.connect import open_chain
from flock.contracts.units import to_wei
from flock.flower.common import AllianceFile
from flock.flower.deploy import deploy_task, publish_initial_model
from flock.learning.pretrain import resolve_base
from flock.spec import validate_config
from flock.store import StoreUnreachableError, UpdateStore

log = logging.getLogger(__name__)
CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")
KEY_ENV = "FLOCK_PRIVATE_KEY"


def deployer_signer(chain_kind: str) -> Signer:
    """The deployer's key from FLOCK_PRIVATE_KEY; dev chains may use a fresh funded key."""
    key = os.environ.get(KEY_ENV)
    if key:
        return Signer.from_key(key)
    if chain_kind == "rpc":
        raise ValueError(f"set {KEY_ENV} to the deployer's private key")
    return Signer.create()


@hydra.main(config_path=CONFIG_DIR, config_name="config", version_base="1.3")
def deploy_app(cfg: DictConfig) -> None:
    """Deploy the contracts for the configured task and print their addresses."""
    validate_config(cfg)
    resolve_base(cfg)  # model=causal_lm: the stored base model (its hash enters the spec hash)
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    kind = str(cfg.store.kind)
    store_url = str(cfg.store.get("url") or "") if kind == "http" else ""
    if kind == "http" and not store_url:
        raise ValueError("store=http needs store.url: where the alliance's blob service runs")
    # store=dir: the directory the alliance shares; else the creator's own cache
    default_dir = run_dir / "store" if kind == "dir" else run_dir / "creator" / "store"
    store_dir = Path(cfg.deploy.get("store_dir") or default_dir).resolve()
    store = UpdateStore(store_dir, max_bytes=int(cfg.store.max_bytes))
    with open_chain(cfg.chain) as chain:
        signer = deployer_signer(str(cfg.chain.kind))
        if cfg.chain.kind != "rpc" or cfg.chain.get("dev"):
            chain.fund(signer.address, to_wei(cfg.chain.fund_wei, decimals=0))
        sender = TxSender(chain, gas_margin=float(cfg.chain.gas_margin))
        # what participants and the coordinator need: an alliance file, on a JSON-RPC chain
        alliance_file = run_dir / "alliance.json" if isinstance(chain, RpcChain) else None
        deployed = deploy_task(
            cfg,
            sender,
            signer,
            store=store,
            alliance_file=alliance_file,
            token_address=cfg.deploy.token or None,
            store_url=store_url,
        )
        deployment = deployed.deployment
        print(f"chain_id: {chain.chain_id}")
        print(f"token: {deployment.token}")
        print(f"implementation: {deployment.implementation}")
        print(f"factory: {deployment.factory}")
        print(f"task: {deployment.task}")
        print(f"spec_hash: 0x{deployed.params.spec_hash.hex()}")
        print(f"initial_model_hash: 0x{deployed.initial_model_hash.hex()}")
        log.info("enrolment ends at %d", deployed.task.enrol_end())
        if alliance_file is not None:
            print(f"alliance_file: {alliance_file}")
        print(f"initial_model_blob: {store.path(deployed.initial_model_hash)}")
        if kind != "dir" and deployed.alliance is not None:
            wait_s = float(cfg.deploy.get("publish_wait_s", 3))
            _publish(deployed.alliance, signer, store, deployed.initial_model_hash, wait_s)


def _publish(
    alliance: AllianceFile, signer: Signer, store: UpdateStore, digest: bytes, wait_s: float
) -> None:
    """Publish the initial model on the networked store (trying for `wait_s` seconds), or say
    how once it runs."""
    cache, blob = store.root, store.path(digest)
    try:
        uri = publish_initial_model(alliance, signer, cache, digest, reach_deadline_s=wait_s)
        print(f"initial_model_uri: {uri}")
    except StoreUnreachableError as exc:
        print(f"initial model not published yet: {exc}")
        print(
            "start the service with `flock store serve --alliance-file <alliance_file> --dir "
            "<dir>`, then publish it with `flock store push --alliance-file <alliance_file> "
            f"--key-env {KEY_ENV} {blob}`"
        )
