"""Fixtures: a funded alliance on the in-process EVM or on a private anvil."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest

from flock.contracts import (
    Chain,
    EmbeddedChain,
    RewardRule,
    RpcChain,
    Signer,
    TaskClient,
    TaskParams,
    TxSender,
    deploy_alliance,
)
from flock.contracts.anvil import AnvilProcess
from flock.participant import ChainParticipant
from flock.rounds import RoundDriver

TOKEN = 10**18

BASE_PARAMS = TaskParams(
    spec_hash=b"\x11" * 32,
    initial_model_hash=b"\x22" * 32,
    min_stake=10 * TOKEN,
    max_participants=12,
    proposers_per_round=2,
    max_voters=16,
    min_voters=1,
    rounds=3,
    enrol_period=600,
    propose_period=300,
    commit_period=300,
    reveal_period=300,
    slash_bps=1000,
    tolerance_bps=200,
    peer_tolerance_bps=1500,
    mad_multiplier_x100=300,
    min_deviation_bps=500,
    wash_mad_bps=1500,
    voter_share_bps=3000,
    reward_rule=RewardRule.GEOMETRIC,
    softmax_temperature_bps=100,
)


@dataclass
class Alliance:
    """A deployed task with local participants that have joined (not yet started)."""

    chain: Chain
    sender: TxSender
    creator: Signer
    task: TaskClient
    participants: list[ChainParticipant]
    driver: RoundDriver

    def by_address(self, address: str) -> ChainParticipant:
        return next(p for p in self.participants if p.address == address)


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilProcess]:
    """One private anvil for the session, stopped at the end."""
    with AnvilProcess() as node:
        yield node


def _build(chain: Chain, n: int, params: TaskParams, stake: int) -> Alliance:
    sender = TxSender(chain)
    creator = Signer.create()
    chain.fund(creator.address, 10**22)
    _, task = deploy_alliance(
        sender, creator, params, reward_pool=1_000 * TOKEN, token_supply=10**6 * TOKEN
    )
    participants = []
    for _ in range(n):
        signer = Signer.create()
        chain.fund(signer.address, 10**20)
        task.token.transfer(creator, signer.address, 100 * TOKEN)
        participants.append(ChainParticipant(signer, task))
    driver = RoundDriver(chain, task, participants, creator)
    driver.join_all(stake)
    return Alliance(chain, sender, creator, task, participants, driver)


AllianceFactory = Callable[..., Alliance]


@pytest.fixture(params=["embedded", "anvil"])
def make_alliance(request: pytest.FixtureRequest) -> AllianceFactory:
    """Build an alliance of `n` joined participants on the parametrised backend."""

    def factory(n: int = 6, stake: int = 50 * TOKEN, **overrides: object) -> Alliance:
        params = replace(BASE_PARAMS, **overrides)
        if request.param == "embedded":
            chain: Chain = EmbeddedChain()
        else:
            node = request.getfixturevalue("anvil")
            chain = RpcChain(node.url, expected_chain_id=node.chain_id, dev=True)
        return _build(chain, n, params, stake)

    return factory


@pytest.fixture
def embedded_alliance() -> AllianceFactory:
    """Build an alliance on the in-process EVM only (for the many error-path tests)."""

    def factory(n: int = 6, stake: int = 50 * TOKEN, **overrides: object) -> Alliance:
        return _build(EmbeddedChain(), n, replace(BASE_PARAMS, **overrides), stake)

    return factory
