"""A task played on the in-process EVM with one attacker (no models: stand-in hashes and
scores), for the dashboard's feeds and snapshot. A helper module with a unique name and no
conftest.py beside it: test folders are not packages, so two folders' conftest modules shadow
each other's `from conftest import` when both folders run."""

from __future__ import annotations

from dataclasses import dataclass, replace

from chain_fixtures import BASE_PARAMS, TOKEN, honest_attestation
from eth_utils import keccak

from flock.contracts import EmbeddedChain, TaskClient
from flock.contracts.participant import ChainParticipant
from flock.local.devnet import LocalAlliance, deploy_local_alliance
from flock.local.driver import RoundResult
from flock.protocol.commitments import UNAVAILABLE
from flock.protocol.types import Proposal, Role

STAKE = 50 * TOKEN
POISON = keccak(b"a poisoned aggregate")
PARAMS = replace(BASE_PARAMS, rounds=2)


@dataclass
class PlayedTask:
    """A task played on the in-process EVM; `attacker` (a proposer of round 1) proposed
    garbage (scored low, or withheld) and attested a poisoned model whenever it voted."""

    alliance: LocalAlliance
    attacker: str
    results: list[RoundResult]

    @property
    def chain(self) -> EmbeddedChain:
        assert isinstance(self.alliance.chain, EmbeddedChain)
        return self.alliance.chain

    @property
    def task(self) -> TaskClient:
        return self.alliance.task


def play_task(
    n: int = 6, rounds: int = 2, *, last_round: int | None = None, withheld: bool = False
) -> PlayedTask:
    """Deploy a task of `n` members and play it (to round `last_round`, default: the end);
    `withheld`: honest voters cannot fetch the attacker's blob (they mark it unavailable)."""
    chain = EmbeddedChain()
    alliance = deploy_local_alliance(
        chain, replace(PARAMS, rounds=rounds), participants=n, stake=STAKE,
        reward_pool=1_000 * TOKEN, token_supply=10**6 * TOKEN, tokens_each=100 * TOKEN,
    )  # fmt: skip
    alliance.driver.start()
    # the attacker: round 1's first proposer (rejected there, then attests a poisoned model)
    attacker = next(a for a, role in alliance.driver.roles(1).items() if role == Role.PROPOSER)

    def propose(p: ChainParticipant, r: int) -> tuple[bytes, int, str, bytes]:
        digest = keccak(bytes.fromhex(p.address[2:]) + r.to_bytes(32, "big"))
        return digest, 100, f"file:///store/{digest.hex()}", honest_attestation(p.task)

    def score(p: ChainParticipant, r: int, proposals: list[Proposal]):
        if p.address == attacker:
            return [8000] + [8050] * len(proposals), POISON
        bad = UNAVAILABLE if withheld else 2000
        ballot = [8000] + [bad if q.proposer == attacker else 8050 for q in proposals]
        return ballot, honest_attestation(p.task)

    results = []
    r = 1
    while not alliance.task.status()[1] and (last_round is None or r <= last_round):
        results.append(alliance.driver.play_round(r, propose, score))
        r += 1
    return PlayedTask(alliance, attacker, results)
