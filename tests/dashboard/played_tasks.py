"""A task played on the in-process EVM with one attacker (no models: stand-in hashes and
scores), for the dashboard's feeds and snapshot. A helper module with a unique name and no
conftest.py beside it: test folders are not packages, so two folders' conftest modules shadow
each other's `from conftest import` when both folders run."""

from __future__ import annotations

from dataclasses import dataclass, replace

from eth_utils import keccak

from flock.contracts import EmbeddedChain, RewardRule, TaskClient, TaskParams
from flock.contracts.participant import ChainParticipant
from flock.local.devnet import LocalAlliance, deploy_local_alliance
from flock.local.driver import RoundResult
from flock.protocol.commitments import UNAVAILABLE
from flock.protocol.types import Proposal, Role

TOKEN = 10**18
STAKE = 50 * TOKEN
POISON = keccak(b"a poisoned aggregate")

PARAMS = TaskParams(
    spec_hash=b"\x11" * 32,
    initial_model_hash=b"\x22" * 32,
    min_stake=10 * TOKEN,
    max_participants=12,
    proposers_per_round=2,
    max_voters=16,
    min_voters=1,
    rounds=2,
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


def stand_in_aggregate(round_: int) -> bytes:
    """The hash honest members "recompute" for round `round_`'s aggregate (no blobs here)."""
    return keccak(b"agg" + round_.to_bytes(32, "big"))


def honest_attestation(task: TaskClient) -> bytes:
    """The pending aggregate's stand-in, else the adopted model."""
    pending = task.pending_aggregate_round()
    return stand_in_aggregate(pending) if pending else task.global_model()[0]


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
