"""The ABI/bytecode shipped in the package match the Solidity sources."""

from __future__ import annotations

import json
from importlib import resources

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


def _artifact_json(name: str) -> dict:
    path = resources.files("flock.contracts") / "artifacts" / f"{name}.json"
    return json.loads(path.read_text())


def test_artifacts_carry_the_natspec_as_userdoc_and_devdoc() -> None:
    # Every shipped contract carries the compiler's userdoc and devdoc next to its ABI
    for name in build.CONTRACTS:
        art = _artifact_json(name)
        assert art["userdoc"]["kind"] == "user" and art["devdoc"]["kind"] == "dev", name

    # The task's: a notice for every external function, event and error of its ABI
    task = _artifact_json("AllianceTask")
    userdoc = task["userdoc"]
    signatures = {
        kind: {
            f"{e['name']}({','.join(_abi_type(i) for i in e['inputs'])})"
            for e in task["abi"]
            if e["type"] == kind
        }
        for kind in ("function", "event", "error")
    }
    assert signatures["event"] <= set(userdoc["events"])
    # (OpenZeppelin's inherited errors carry @dev only: devdoc)
    assert signatures["error"] <= set(userdoc["errors"]) | set(task["devdoc"]["errors"])
    # (public state variables without NatSpec are self-describing getters)
    getters = {"token", "factory", "creator", "enrolEnd", "rewardPool", "totalStaked"}
    getters.add("totalClaimable")
    undocumented = {
        s
        for s in signatures["function"]
        if s not in userdoc["methods"] and s.split("(")[0] not in getters
    }
    assert undocumented == set()
    # the formulas an outside integrator computes are in the artifact, not only in the source
    assert "keccak256(abi.encodePacked(bytes32 secret, address msg.sender" in _docs(task, "join")
    assert "abi.encodePacked(bytes scores, bytes32" in _docs(task, "commitVote")


def _abi_type(param: dict) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


def _docs(art: dict, function: str) -> str:
    """Every NatSpec text (notice, details, params) of `function` in the artifact."""
    texts = []
    for doc in (art["userdoc"], art["devdoc"]):
        for signature, entry in doc.get("methods", {}).items():
            if signature.split("(")[0] == function:
                texts.append(json.dumps(entry))
    return " ".join(texts).replace("\\n", " ")
