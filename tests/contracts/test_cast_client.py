"""A member outside the Python client: Foundry's `cast` alone approves, joins with a seed
commitment computed from the documented formula, reveals and reads its role, against anvil.

The formula comes from the NatSpec of `join` (and the README): the commitment is
keccak256(abi.encodePacked(bytes32 secret, address member, uint256 round)), and the round seed
keccak256(abi.encode(SEED_DOMAIN, task, chainid, round, entropy)), entropy the XOR of the
secrets revealed. Python only deploys the task, plays the other members and moves time.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import BASE_PARAMS, TOKEN, build_alliance

from flock.contracts import Role, RpcChain
from flock.contracts.anvil import REPO_ROOT, AnvilProcess
from flock.protocol.role_draw import assign_roles

pytestmark = pytest.mark.anvil

#: The native binary, not node_modules/.bin/cast: the node wrapper may swallow exit codes.
CAST = sorted((REPO_ROOT / "node_modules" / "@foundry-rs").glob("cast-*/bin/cast"))
MEMBER_KEY = "0x" + "5e" * 32
SECRET = "0x" + "c0ffee".ljust(64, "0")
STAKE = 20 * TOKEN


def cast(*args: str | int) -> str:
    """Run cast; a non-zero exit fails the test with cast's own message."""
    done = subprocess.run(
        [str(CAST[0]), *map(str, args)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _first_word(output: str) -> str:
    """A `cast call` value without the human-readable suffix (`1000 [1e3]` -> `1000`)."""
    return output.split()[0]


@pytest.mark.skipif(not CAST, reason="cast not installed (scripts/setup.sh: @foundry-rs/cast)")
def test_member_joins_reveals_and_reads_its_role_with_cast_alone(anvil: AnvilProcess) -> None:
    # Prepare: a task with three Python members; the cast member gets gas and tokens
    chain = RpcChain(anvil.url, expected_chain_id=anvil.chain_id, dev=True)
    alliance = build_alliance(chain, 3, BASE_PARAMS, 50 * TOKEN)
    task, rpc = alliance.task, ("--rpc-url", anvil.url)
    member = cast("wallet", "address", "--private-key", MEMBER_KEY)
    chain.fund(member, 10**20)
    task.token.transfer(alliance.creator, member, 100 * TOKEN)
    send = ("send", "--private-key", MEMBER_KEY, *rpc)

    # Execute: the commitment from the documented formula, by cast
    round_word = cast("to-uint256", 1)
    commit = cast("keccak", cast("concat-hex", SECRET, member, round_word))
    packed = cast("abi-encode", "--packed", "f(bytes32,address,uint256)", SECRET, member, 1)
    assert cast("keccak", packed) == commit  # the same bytes, encoded by cast's ABI coder

    # approve, join with the commitment, read it back
    cast(*send, task.token.address, "approve(address,uint256)", task.address, STAKE)
    cast(*send, task.address, "join(uint256,uint32,bytes32)", STAKE, 1, commit)
    assert cast("call", task.address, "isParticipant(address)(bool)", member, *rpc) == "true"
    stake = cast("call", task.address, "accountOf(address)(uint256,uint256)", member, *rpc)
    assert _first_word(stake.splitlines()[0]) == str(STAKE)
    committed = cast("call", task.address, "seedCommitOf(address)(uint256,bytes28)", member, *rpc)
    assert committed.splitlines() == ["1", commit[: 2 + 56]]  # truncated to 224 bits

    # everyone reveals in round 1's reveal window; the cast member with cast
    secrets = [p.seed_secrets[1] for p in alliance.participants]
    chain.advance_time(task.enrol_end() - chain.now())
    cast(*send, task.address, "revealSeed(uint32,bytes32,bytes32)", 1, SECRET, "0x" + "00" * 32)
    for p in alliance.participants:
        p.reveal_seed(1)
    _, closes = task.seed_reveal_window(1)
    chain.advance_time(closes - chain.now())
    task.start(alliance.creator)

    # Assert: the seed is the documented formula (computed by cast); the role is read by cast
    entropy = int(SECRET, 16)
    for s in secrets:
        entropy ^= int.from_bytes(s, "big")
    domain = cast("keccak", "flock.AllianceTask.seed.v2")
    assert cast("call", task.address, "SEED_DOMAIN()(bytes32)", *rpc) == domain
    encoded = cast(
        "abi-encode",
        "f(bytes32,address,uint256,uint256,bytes32)",
        domain,
        task.address,
        anvil.chain_id,
        1,
        f"0x{entropy:064x}",
    )
    seed = cast("call", task.address, "seedOf(uint256)(bytes32)", 1, *rpc)
    assert cast("keccak", encoded) == seed
    role = Role(int(cast("call", task.address, "roleOf(uint256,address)(uint8)", 1, member, *rpc)))
    roster = [p.address for p in alliance.participants] + [member]  # join order
    mirror = assign_roles(
        roster,
        bytes.fromhex(seed[2:]),
        proposers_per_round=BASE_PARAMS.proposers_per_round,
        max_voters=BASE_PARAMS.max_voters,
    )
    assert role == mirror[member] == task.role_of(1, member)
    assert role in (Role.PROPOSER, Role.VOTER)


def test_cast_is_pinned_like_forge_and_anvil() -> None:
    deps = json.loads(Path(REPO_ROOT / "package.json").read_text())["dependencies"]
    assert deps["@foundry-rs/cast"] == deps["@foundry-rs/forge"] == deps["@foundry-rs/anvil"]
    assert deps["@foundry-rs/cast"] == "1.7.1"
