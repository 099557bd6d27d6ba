"""Precompiled calls and event reads (flock.contracts.rawcalls) return what web3's contract
objects return, and name the same custom errors, on a real anvil node."""

from __future__ import annotations

import pytest
from conftest import BASE_PARAMS, TOKEN, build_alliance
from web3 import Web3

from flock.contracts import ChainError, RpcChain
from flock.contracts.anvil import anvil_available
from flock.contracts.errors import ERRORS
from flock.contracts.rawcalls import RawContract
from flock.contracts.tx import as_chain_error

pytestmark = [
    pytest.mark.anvil,
    pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)"),
]


def _plain(value: object) -> object:
    """Lists for tuples and lists alike (web3 returns either for several outputs)."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


STRANGER = Web3.to_checksum_address("0x" + "ab" * 20)

VIEWS = ["config", "status", "token", "enrolEnd", "creator", "totalStaked", "globalModelHash"]


def test_raw_views_and_logs_equal_web3s(anvil) -> None:
    # Prepare
    chain = RpcChain(anvil.url, expected_chain_id=anvil.chain_id, dev=True)
    alliance = build_alliance(chain, 4, BASE_PARAMS, 50 * TOKEN)
    contract = alliance.task.contract
    raw = RawContract(chain.w3, contract.address, list(contract.abi))
    addresses = [p.address for p in alliance.participants]

    # Execute / Assert: views, with arguments, structs and addresses
    for fn in VIEWS:
        assert _plain(raw.call(fn)) == _plain(getattr(contract.functions, fn)().call()), fn
    for i, address in enumerate(addresses):
        assert raw.call("participantAt", i) == contract.functions.participantAt(i).call()
        web3_account = contract.functions.accountOf(address).call()
        assert _plain(raw.call("accountOf", address)) == _plain(web3_account)
    # event logs: all, and filtered on an indexed topic
    joined = raw.logs("Joined", 0)
    web3_joined = contract.events.Joined().get_logs(from_block=0)
    assert [e["args"] for e in joined] == [dict(e["args"]) for e in web3_joined]
    assert [e["args"]["participant"] for e in joined] == addresses
    one = raw.logs("Joined", 0, {"participant": addresses[2]})
    assert [e["args"]["participant"] for e in one] == [addresses[2]]


def test_raw_call_raises_the_contracts_custom_error(anvil) -> None:
    # Prepare
    chain = RpcChain(anvil.url, expected_chain_id=anvil.chain_id, dev=True)
    alliance = build_alliance(chain, 2, BASE_PARAMS, 50 * TOKEN)
    contract = alliance.task.contract
    raw = RawContract(chain.w3, contract.address, list(contract.abi))

    # Execute / Assert: the view reverts with the same custom error through both paths
    with pytest.raises(ChainError) as via_raw:
        raw.call("indexOf", STRANGER)
    with pytest.raises(Exception) as via_web3:
        alliance.task.contract.functions.indexOf(STRANGER).call()
    assert type(via_raw.value) is ERRORS["ParticipantUnknown"]
    assert type(as_chain_error(via_web3.value)) is ERRORS["ParticipantUnknown"]
