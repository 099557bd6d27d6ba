"""In-process round loop: drives every participant through one round, phase by phase, on chain."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from web3.types import TxReceipt

from flock.contracts.chain import Chain
from flock.contracts.clients import TaskClient
from flock.contracts.participant import ChainParticipant
from flock.contracts.tx import Signer
from flock.protocol.types import Proposal, Role, Settlement

log = logging.getLogger(__name__)

#: A proposer's work: (update hash, sample count, uri, base model hash), or None to stay silent.
ProposeFn = Callable[[ChainParticipant, int], tuple[bytes, int, str, bytes] | None]
#: A voter's work: (scores: base model first, then each proposal; attestation: the hash of the
#: round's base model as the voter recomputed it), or None to not vote.
ScoreFn = Callable[[ChainParticipant, int, list[Proposal]], tuple[Sequence[int], bytes] | None]
#: Whether a voter reveals its committed vote (False models a lazy voter).
RevealFn = Callable[[ChainParticipant, int], bool]


@dataclass(frozen=True)
class GasRecord:
    """Gas used by one transaction."""

    round: int
    sender: str
    function: str
    gas: int


@dataclass(frozen=True)
class RoundResult:
    """What happened in one round."""

    round: int
    roles: dict[str, Role]
    proposals: list[Proposal]
    settlement: Settlement


@dataclass
class RoundDriver:
    """Moves a local alliance through its rounds, each participant sending its own transactions.

    Phases advance by deadline (dev-chain time travel), never by waiting for everyone.
    """

    chain: Chain
    task: TaskClient
    participants: list[ChainParticipant]
    settler: Signer
    gas_log: list[GasRecord] = field(default_factory=list)

    def _record(self, round_: int, who: str, fn: str, receipt: TxReceipt) -> None:
        self.gas_log.append(GasRecord(round_, who, fn, int(receipt["gasUsed"])))

    def _advance_to(self, timestamp: int) -> None:
        now = self.chain.now()
        if timestamp > now:
            self.chain.advance_time(timestamp - now)

    def join_all(self, stake: int) -> None:
        """Every participant stakes `stake` and commits randomness for round 1."""
        for p in self.participants:
            self._record(0, p.address, "join", p.join(stake))

    def start(self) -> None:
        """Close enrolment, reveal round 1's randomness, and open round 1."""
        self._advance_to(self.task.enrol_end())
        for p in self.participants:
            if p.has_seed_secret(1):
                self._record(0, p.address, "revealSeed", p.reveal_seed(1))
        _, closes = self.task.seed_reveal_window(1)
        self._advance_to(closes)
        self._record(0, self.settler.address, "start", self.task.start(self.settler))

    def roles(self, round_: int) -> dict[str, Role]:
        """Role of every local participant in `round_` (read from the contract)."""
        return {p.address: self.task.role_of(round_, p.address) for p in self.participants}

    def play_round(
        self,
        round_: int,
        propose: ProposeFn,
        score: ScoreFn,
        reveal: RevealFn | None = None,
    ) -> RoundResult:
        """Play `round_`: proposals, vote commits, vote reveals (whose salts feed the next
        round's randomness), then settlement by the settler."""
        roles = self.roles(round_)
        by_role = {
            role: [p for p in self.participants if roles[p.address] == role] for role in Role
        }
        propose_end, commit_end, reveal_end = self.task.deadlines(round_)

        for p in by_role[Role.PROPOSER]:
            work = propose(p, round_)
            if work is not None:
                self._record(round_, p.address, "propose", p.propose(round_, *work))
        self._advance_to(propose_end)

        proposals = self.task.proposals(round_)
        committed: list[ChainParticipant] = []
        for p in by_role[Role.VOTER]:
            vote = score(p, round_, proposals)
            if vote is not None:
                scores, attestation = vote
                receipt = p.commit_vote(round_, scores, attestation)
                self._record(round_, p.address, "commitVote", receipt)
                committed.append(p)
        self._advance_to(commit_end)

        for p in committed:
            if reveal is None or reveal(p, round_):
                self._record(round_, p.address, "revealVote", p.reveal_vote(round_))
        self._advance_to(reveal_end)

        settlement = self.task.settle(self.settler, round_)
        self.gas_log.append(GasRecord(round_, self.settler.address, "settle", settlement.gas_used))
        log.info(
            "round %d settled: %s, accepted %s of %d proposals",
            round_,
            settlement.outcome.name,
            [i for i in range(len(proposals)) if settlement.accepted(i)],
            len(proposals),
        )
        return RoundResult(round_, roles, proposals, settlement)
