"""Fixtures: a funded alliance on the in-process EVM or on a private anvil."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from flock.contracts import (
    Chain,
    EmbeddedChain,
    RewardRule,
    RpcChain,
    TaskParams,
)
from flock.contracts.anvil import AnvilProcess
from flock.devnet import LocalAlliance, deploy_local_alliance

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


Alliance = LocalAlliance


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilProcess]:
    """One private anvil for the session, stopped at the end."""
    with AnvilProcess() as node:
        yield node


def _build(chain: Chain, n: int, params: TaskParams, stake: int) -> Alliance:
    return deploy_local_alliance(
        chain,
        params,
        participants=n,
        stake=stake,
        reward_pool=1_000 * TOKEN,
        token_supply=10**6 * TOKEN,
        tokens_each=100 * TOKEN,
    )


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
