"""The ABI/bytecode shipped in the package match the Solidity sources."""

from __future__ import annotations

from flock.contracts import build
from flock.contracts.artifacts import load_artifact


def test_shipped_artifacts_are_not_stale() -> None:
    assert build.shipped_digest() == build.sources_digest(), (
        "contracts/ changed: run `python -m flock.contracts.build` and commit the artifacts"
    )


def test_every_client_contract_ships_abi_and_bytecode() -> None:
    for name in build.CONTRACTS:
        art = load_artifact(name)
        assert art.abi and art.bytecode.startswith("0x") and len(art.bytecode) > 2


def test_task_fits_the_contract_size_limit() -> None:
    deployed = load_artifact("AllianceTask").deployed_bytecode
    assert (len(deployed) - 2) // 2 <= 24_576  # EIP-170
