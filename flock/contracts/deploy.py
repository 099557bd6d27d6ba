"""Deploy flock's contracts: token (optional), task implementation + factory, and a funded task."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flock.contracts.artifacts import load_artifact
from flock.contracts.clients import FactoryClient, TaskClient, TokenClient
from flock.contracts.tx import Signer, TxSender
from flock.protocol.types import TaskParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deployment:
    """Addresses of one deployment."""

    token: str
    implementation: str
    factory: str
    task: str


def deploy_token(sender: TxSender, deployer: Signer, initial_supply: int) -> TokenClient:
    """Deploy FlockToken minting `initial_supply` to the deployer."""
    art = load_artifact("FlockToken")
    address = sender.deploy(deployer, art.abi, art.bytecode, initial_supply)
    log.info("FlockToken deployed at %s", address)
    return TokenClient(sender, address)


def deploy_factory(sender: TxSender, deployer: Signer) -> tuple[str, FactoryClient]:
    """Deploy the AllianceTask implementation and a TaskFactory that clones it."""
    task_art = load_artifact("AllianceTask")
    implementation = sender.deploy(deployer, task_art.abi, task_art.bytecode)
    factory_art = load_artifact("TaskFactory")
    address = sender.deploy(deployer, factory_art.abi, factory_art.bytecode, implementation)
    log.info("AllianceTask implementation at %s, TaskFactory at %s", implementation, address)
    return implementation, FactoryClient(sender, address)


def deploy_alliance(
    sender: TxSender,
    creator: Signer,
    params: TaskParams,
    *,
    reward_pool: int,
    token_address: str | None = None,
    token_supply: int = 0,
    beacon: str | None = None,
    beacon_grace_s: int = 0,
) -> tuple[Deployment, TaskClient]:
    """Deploy (or reuse) a token, the factory, and one task funded with `reward_pool`.

    Parameters
    ----------
    token_address : str | None
        An existing ERC-20; when None a FlockToken with `token_supply` is deployed.
    beacon, beacon_grace_s : str | None, int
        An IRandomnessBeacon mixed into every round seed (None: commit-reveal entropy alone),
        and the seconds after which a round opens without its missing value.
    """
    if token_address is None:
        token = deploy_token(sender, creator, token_supply)
    else:
        token = TokenClient(sender, token_address)
    implementation, factory = deploy_factory(sender, creator)
    task_address = factory.create_task(
        creator, token, params, reward_pool, beacon=beacon, beacon_grace_s=beacon_grace_s
    )
    log.info("AllianceTask created at %s with pool %d", task_address, reward_pool)
    deployment = Deployment(
        token=token.address,
        implementation=implementation,
        factory=factory.address,
        task=task_address,
    )
    return deployment, TaskClient(sender, task_address)
