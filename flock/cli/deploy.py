"""`flock deploy`: deploy token (optional), factory and one funded task; print the addresses."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig

from flock.contracts import RpcChain, Signer, TxSender
from flock.contracts.connect import open_chain
from flock.contracts.deploy import deploy_alliance
from flock.contracts.units import to_wei
from flock.flower.common import AllianceFile
from flock.learning.models import flatten_params
from flock.spec import spec_hash_of, task_params, validate_config
from flock.store import UpdateStore

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
    torch.manual_seed(int(cfg.seed))
    initial = flatten_params(instantiate(cfg.model))
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    store_dir = Path(cfg.deploy.get("store_dir") or run_dir / "store").resolve()
    store = UpdateStore(store_dir, max_bytes=int(cfg.store.max_bytes))
    initial_hash = store.put(initial, {"kind": "initial", "round": "0"})
    with open_chain(cfg.chain) as chain:
        signer = deployer_signer(str(cfg.chain.kind))
        if cfg.chain.kind != "rpc" or cfg.chain.get("dev"):
            chain.fund(signer.address, to_wei(cfg.chain.fund_wei, decimals=0))
        sender = TxSender(chain, gas_margin=float(cfg.chain.gas_margin))
        params = task_params(cfg, spec_hash=spec_hash_of(cfg), initial_model_hash=initial_hash)
        deployment, task = deploy_alliance(
            sender,
            signer,
            params,
            reward_pool=to_wei(cfg.tokens.reward_pool),
            token_address=cfg.deploy.token or None,
            token_supply=to_wei(cfg.tokens.supply),
        )
        print(f"chain_id: {chain.chain_id}")
        print(f"token: {deployment.token}")
        print(f"implementation: {deployment.implementation}")
        print(f"factory: {deployment.factory}")
        print(f"task: {deployment.task}")
        print(f"spec_hash: 0x{params.spec_hash.hex()}")
        print(f"initial_model_hash: 0x{initial_hash.hex()}")
        log.info("enrolment ends at %d", task.enrol_end())
        if isinstance(chain, RpcChain):  # what participants and the coordinator need
            alliance_file = run_dir / "alliance.json"
            AllianceFile(
                cfg=cfg,
                task=deployment.task,
                rpc_url=chain.url,
                chain_id=chain.chain_id,
                store_dir=store_dir,
                stake_wei=to_wei(cfg.tokens.stake),
                dev_chain=chain.dev,
            ).write(alliance_file)
            print(f"alliance_file: {alliance_file}")
