"""Fixtures: a funded alliance on the in-process EVM or on a private anvil."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from eth_utils import keccak

from flock.contracts import (
    Chain,
    EmbeddedChain,
    RewardRule,
    RpcChain,
    TaskClient,
    TaskParams,
)
from flock.contracts.anvil import AnvilProcess
from flock.local.devnet import LocalAlliance, deploy_local_alliance

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
    max_samples=10_000,
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


def stand_in_aggregate(round_: int) -> bytes:
    """A deterministic stand-in for the hash of round `round_`'s aggregate (these tests have
    no blobs to aggregate; honest members all compute the same stand-in)."""
    return keccak(b"agg" + round_.to_bytes(32, "big"))


def honest_attestation(task: TaskClient) -> bytes:
    """What an honest voter of the current round attests: the pending aggregate (its stand-in)
    when one is pending, else the adopted global model."""
    pending = task.pending_aggregate_round()
    return stand_in_aggregate(pending) if pending else task.global_model()[0]


def honest_base(task: TaskClient) -> bytes:
    """The base model an honest proposer of the current round trained from (same rule)."""
    return honest_attestation(task)


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
