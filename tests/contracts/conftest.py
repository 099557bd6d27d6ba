"""Fixtures: a funded alliance on the in-process EVM or on a private anvil."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from chain_fixtures import (  # noqa: F401  (re-exported: the tests here import from conftest)
    BASE_PARAMS,
    TOKEN,
    honest_attestation,
    honest_base,
    stand_in_aggregate,
)

from flock.contracts import (
    Chain,
    EmbeddedChain,
    RpcChain,
    TaskParams,
)
from flock.contracts.anvil import AnvilProcess
from flock.local.devnet import LocalAlliance, deploy_local_alliance

Alliance = LocalAlliance


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilProcess]:
    """One private anvil for the session, stopped at the end."""
    with AnvilProcess() as node:
        yield node


def build_alliance(chain: Chain, n: int, params: TaskParams, stake: int) -> Alliance:
    """Deploy a task with `params` on `chain` and let `n` fresh participants join with `stake`."""
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
        return build_alliance(chain, n, params, stake)

    return factory


@pytest.fixture
def embedded_alliance() -> AllianceFactory:
    """Build an alliance on the in-process EVM only (for the many error-path tests)."""

    def factory(n: int = 6, stake: int = 50 * TOKEN, **overrides: object) -> Alliance:
        return build_alliance(EmbeddedChain(), n, replace(BASE_PARAMS, **overrides), stake)

    return factory
