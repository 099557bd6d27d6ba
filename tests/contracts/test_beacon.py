"""The task's randomness beacon seen from Python: created through the factory, read back,
refused by a member whose config names another, and a dead beacon delays round 1 by at most
its grace period (`contracts/test/Beacon.t.sol` specifies the seed it mixes in)."""

from __future__ import annotations

import pytest
from conftest import BASE_PARAMS, TOKEN, build_alliance
from web3.logs import DISCARD

from flock.contracts import ContractRevert, EmbeddedChain, Signer, TxSender
from flock.contracts.deploy import deploy_token
from flock.contracts.errors import UntrustedBeaconError
from flock.contracts.participant import check_beacon
from flock.local.devnet import LocalAlliance, deploy_local_alliance

GRACE = 900


def _dead_beacon(chain: EmbeddedChain) -> str:
    """A contract that has no `randomnessAt` (a token): every ask reverts, so it is never ready."""
    deployer = Signer.create()
    chain.fund(deployer.address, 10**20)
    return deploy_token(TxSender(chain), deployer, 1).address


def _alliance_with(chain: EmbeddedChain, beacon: str) -> LocalAlliance:
    return deploy_local_alliance(
        chain,
        BASE_PARAMS,
        participants=4,
        stake=50 * TOKEN,
        reward_pool=1_000 * TOKEN,
        token_supply=10**6 * TOKEN,
        tokens_each=100 * TOKEN,
        beacon=beacon,
        beacon_grace_s=GRACE,
    )


def test_a_task_without_beacon_reports_none_and_members_expecting_none_accept_it() -> None:
    alliance = build_alliance(EmbeddedChain(), 3, BASE_PARAMS, 50 * TOKEN)
    assert alliance.task.randomness_beacon() is None
    check_beacon(alliance.task, None)
    with pytest.raises(UntrustedBeaconError, match="names 0x"):
        check_beacon(alliance.task, "0x" + "ab" * 20)


def test_a_member_refuses_a_task_whose_beacon_its_config_does_not_name() -> None:
    chain = EmbeddedChain()
    beacon = _dead_beacon(chain)
    alliance = _alliance_with(chain, beacon)
    assert alliance.task.randomness_beacon() == beacon
    with pytest.raises(UntrustedBeaconError, match=f"beacon {beacon}"):
        check_beacon(alliance.task, None)
    check_beacon(alliance.task, beacon.lower())  # the same address, however it is spelled


def test_round_one_waits_for_a_dead_beacon_until_the_grace_period_ends() -> None:
    chain = EmbeddedChain()
    alliance = _alliance_with(chain, _dead_beacon(chain))
    task, driver = alliance.task, alliance.driver
    with pytest.raises(ContractRevert) as refused:
        driver.start()  # reveals round 1's secrets, then calls start() when the window closes
    assert refused.value.error_name == "BeaconNotReady"
    _, closes = task.seed_reveal_window(1)
    assert refused.value.values["fallbackAt"] == closes + GRACE
    chain.advance_time(closes + GRACE - chain.now())
    receipt = task.start(alliance.creator)
    (missed,) = task.contract.events.BeaconMissed().process_receipt(receipt, errors=DISCARD)
    assert missed["args"]["round"] == 1 and missed["args"]["target"] == closes
    assert task.current_round() == 1
