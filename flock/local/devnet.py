"""A funded local alliance on a dev chain: token, factory, task, and N joined participants."""

from __future__ import annotations

from dataclasses import dataclass

from flock.contracts import Chain, Signer, TaskClient, TaskParams, TxSender, deploy_alliance
from flock.contracts.participant import ChainParticipant
from flock.local.driver import RoundDriver


@dataclass
class LocalAlliance:
    """A deployed task whose fresh participants have joined (the task is not started)."""

    chain: Chain
    sender: TxSender
    creator: Signer
    task: TaskClient
    participants: list[ChainParticipant]
    driver: RoundDriver

    def by_address(self, address: str) -> ChainParticipant:
        """The local participant with `address`."""
        return next(p for p in self.participants if p.address == address)


def deploy_local_alliance(
    chain: Chain,
    params: TaskParams,
    *,
    participants: int,
    stake: int,
    reward_pool: int,
    token_supply: int,
    tokens_each: int,
    gas_wei: int = 10**20,
    creator_gas_wei: int = 10**22,
    beacon: str | None = None,
    beacon_grace_s: int = 0,
) -> LocalAlliance:
    """Deploy a task on a dev chain and let `participants` fresh keys join with `stake`.

    Amounts are in token wei; `gas_wei` / `creator_gas_wei` fund gas through the chain's
    dev faucet. `beacon` (an IRandomnessBeacon address) is mixed into the round seeds.
    """
    sender = TxSender(chain)
    creator = Signer.create()
    chain.fund(creator.address, creator_gas_wei)
    _, task = deploy_alliance(
        sender,
        creator,
        params,
        reward_pool=reward_pool,
        token_supply=token_supply,
        beacon=beacon,
        beacon_grace_s=beacon_grace_s,
    )
    members = []
    for _ in range(participants):
        signer = Signer.create()
        chain.fund(signer.address, gas_wei)
        task.token.transfer(creator, signer.address, tokens_each)
        members.append(ChainParticipant(signer, task))
    driver = RoundDriver(chain, task, members, creator)
    driver.join_all(stake)
    return LocalAlliance(chain, sender, creator, task, members, driver)
