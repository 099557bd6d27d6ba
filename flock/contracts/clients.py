"""Typed clients for the token, the task factory and one alliance task."""

from __future__ import annotations

import logging
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from flock.contracts.artifacts import load_artifact
from flock.contracts.chain import Chain, RpcChain
from flock.contracts.errors import ChainMismatchError
from flock.contracts.rawcalls import RawContract
from flock.contracts.tx import Signer, TxSender, as_chain_error
from flock.protocol.commitments import as_bytes32, decode_scores
from flock.protocol.consensus import settlement_hints
from flock.protocol.types import (
    AdoptedAggregate,
    Outcome,
    Phase,
    Proposal,
    Role,
    RoundInfo,
    Settlement,
    SlashReason,
    TaskParams,
    VoteReveal,
)

log = logging.getLogger(__name__)


def _contract(chain: Chain, name: str, address: str) -> Contract:
    checksummed = Web3.to_checksum_address(address)
    chain.require_code(checksummed)
    return chain.w3.eth.contract(address=checksummed, abi=load_artifact(name).abi)


def _raw(chain: Chain, contract: Contract) -> RawContract | None:
    """The precompiled calls of `contract` on a JSON-RPC node (None on the embedded chain,
    whose provider reports reverts differently: web3's path stays there)."""
    if not isinstance(chain, RpcChain):
        return None
    return RawContract(chain.w3, contract.address, list(contract.abi))  # type: ignore[arg-type]


class TokenClient:
    """An ERC-20 (FlockToken locally; any ERC-20 in production)."""

    def __init__(self, sender: TxSender, address: str) -> None:
        self.sender = sender
        self.contract = _contract(sender.chain, "FlockToken", address)
        self.address = self.contract.address
        self.raw = _raw(sender.chain, self.contract)

    def _call(self, fn: str, *args: Any) -> Any:
        if self.raw is not None:
            return self.raw.prepare(fn, *args)
        return getattr(self.contract.functions, fn)(*args)

    def balance_of(self, account: str) -> int:
        """Token balance of `account`."""
        if self.raw is not None:
            return int(self.raw.call("balanceOf", Web3.to_checksum_address(account)))
        return int(self.contract.functions.balanceOf(Web3.to_checksum_address(account)).call())

    def transfer(self, signer: Signer, to: str, amount: int) -> TxReceipt:
        """Transfer `amount` from `signer` to `to`."""
        return self.sender.transact(signer, self.prepare_transfer(to, amount))

    def prepare_transfer(self, to: str, amount: int) -> Any:
        """The encoded call of :meth:`transfer` (for a batch of sends)."""
        return self._call("transfer", Web3.to_checksum_address(to), amount)

    def approve(self, signer: Signer, spender: str, amount: int) -> TxReceipt:
        """Allow `spender` to pull `amount` from `signer`."""
        call = self._call("approve", Web3.to_checksum_address(spender), amount)
        return self.sender.transact(signer, call)


class FactoryClient:
    """The TaskFactory: creates funded tasks."""

    def __init__(self, sender: TxSender, address: str) -> None:
        self.sender = sender
        self.contract = _contract(sender.chain, "TaskFactory", address)
        self.address = self.contract.address

    def create_task(
        self,
        signer: Signer,
        token: TokenClient,
        params: TaskParams,
        reward_pool: int,
        *,
        beacon: str | None = None,
        beacon_grace_s: int = 0,
    ) -> str:
        """Approve and create a task funded with `reward_pool`; return the task's address.

        With `beacon` (an IRandomnessBeacon's address) the task mixes that beacon's value into
        every round seed, and opens a round without it `beacon_grace_s` seconds after the
        value was due.
        """
        token.approve(signer, self.address, reward_pool)
        if beacon is None:
            call = self.contract.functions.createTask(token.address, params.as_tuple(), reward_pool)
        else:
            call = self.contract.functions.createTaskWithBeacon(
                token.address,
                params.as_tuple(),
                reward_pool,
                Web3.to_checksum_address(beacon),
                beacon_grace_s,
            )
        receipt = self.sender.transact(signer, call)
        (event,) = self.contract.events.TaskCreated().process_receipt(receipt, errors=DISCARD)
        return str(event["args"]["task"])


class TaskClient:
    """One AllianceTask: every participant call takes the participant's own signer."""

    def __init__(self, sender: TxSender, address: str) -> None:
        self.sender = sender
        self.chain = sender.chain
        self.contract = _contract(sender.chain, "AllianceTask", address)
        self.address = self.contract.address
        self.raw = _raw(sender.chain, self.contract)
        self.params = TaskParams.from_tuple(tuple(self._view("config")))
        token_address = self._view("token")
        self.token = TokenClient(sender, token_address)
        self._start_blocks: dict[int, int] = {}

    # ------------------------------------------------------------------ transactions
    def _send(self, signer: Signer, fn: str, *args: Any) -> TxReceipt:
        call: Any = (
            self.raw.prepare(fn, *args)
            if self.raw is not None
            else getattr(self.contract.functions, fn)(*args)
        )
        return self.sender.transact(signer, call)

    def join(
        self, signer: Signer, amount: int, seed_round: int = 0, seed_commit: bytes = b""
    ) -> TxReceipt:
        """Approve and stake `amount`; optionally commit randomness for `seed_round`."""
        self.token.approve(signer, self.address, amount)
        commit = as_bytes32(seed_commit) if seed_commit else bytes(32)
        return self._send(signer, "join", amount, seed_round, commit)

    def stake_more(self, signer: Signer, amount: int) -> TxReceipt:
        """Approve and add `amount` of stake."""
        self.token.approve(signer, self.address, amount)
        return self._send(signer, "stakeMore", amount)

    def leave(self, signer: Signer) -> TxReceipt:
        """Leave during enrolment (refunded the stake less the leave fee of `slash_bps`)."""
        return self._send(signer, "leave")

    def commit_seed(self, signer: Signer, round_: int, commit: bytes) -> TxReceipt:
        """Commit randomness for `round_`."""
        return self._send(signer, "commitSeed", round_, as_bytes32(commit))

    def reveal_seed(
        self, signer: Signer, round_: int, secret: bytes, next_commit: bytes = b""
    ) -> TxReceipt:
        """Reveal the secret for `round_`, optionally committing for `round_ + 1`."""
        nxt = as_bytes32(next_commit) if next_commit else bytes(32)
        return self._send(signer, "revealSeed", round_, as_bytes32(secret), nxt)

    def start(self, signer: Signer) -> TxReceipt:
        """Open round 1 (anyone, after enrolment and round 1's reveal window)."""
        return self._send(signer, "start")

    def propose(
        self,
        signer: Signer,
        round_: int,
        update_hash: bytes,
        num_samples: int,
        uri: str,
        base_hash: bytes,
    ) -> TxReceipt:
        """Submit the hash of an update blob trained from the model `base_hash` as a proposer
        of `round_`."""
        return self._send(
            signer,
            "propose",
            round_,
            as_bytes32(update_hash),
            as_bytes32(base_hash),
            num_samples,
            uri,
        )

    def commit_vote(self, signer: Signer, round_: int, commit: bytes) -> TxReceipt:
        """Commit a vote as a voter of `round_`."""
        return self._send(signer, "commitVote", round_, as_bytes32(commit))

    def reveal_vote(
        self, signer: Signer, round_: int, scores: bytes, attestation: bytes, salt: bytes
    ) -> TxReceipt:
        """Reveal scores, the base-model attestation and the salt (the salt also feeds the next
        round's randomness)."""
        return self._send(
            signer, "revealVote", round_, scores, as_bytes32(attestation), as_bytes32(salt)
        )

    def settle(self, signer: Signer, round_: int) -> Settlement:
        """Settle `round_` from the chain's own record (events and commitments)."""
        proposals = self.proposals(round_)
        reveals = sorted(self.vote_reveals(round_), key=lambda r: int(r.voter, 16))
        revealed = {r.voter for r in reveals}
        committed = self._logs("VoteCommitted", round_)
        missing = sorted(
            {e["args"]["voter"] for e in committed} - revealed, key=lambda a: int(a, 16)
        )
        settle_input = (
            [p.proposer for p in proposals],
            [r.voter for r in reveals],
            [r.scores for r in reveals],
            [r.attestation for r in reveals],
            [r.salt for r in reveals],
            missing,
            settlement_hints([decode_scores(r.scores) for r in reveals]),
        )
        receipt = self._send(signer, "settle", round_, settle_input)
        return self._settlement_from(receipt)

    def claim(self, signer: Signer) -> TxReceipt:
        """Pull credited rewards."""
        return self._send(signer, "claim")

    def withdraw(self, signer: Signer) -> TxReceipt:
        """Pull back stake after the task ended."""
        return self._send(signer, "withdraw")

    def reclaim_leftover(self, signer: Signer) -> TxReceipt:
        """Creator only: take back the unspent pool after the end."""
        return self._send(signer, "reclaimLeftover")

    def slash_missed_seed_reveal(self, signer: Signer, participant: str) -> TxReceipt:
        """Slash a participant whose randomness reveal window passed without a reveal."""
        return self._send(signer, "slashMissedSeedReveal", Web3.to_checksum_address(participant))

    # ------------------------------------------------------------------ views
    def _view(self, fn: str, *args: Any) -> Any:
        """Call a view, turning reverts into the named Python exceptions."""
        try:
            if self.raw is not None:
                return self.raw.call(fn, *args)
            return getattr(self.contract.functions, fn)(*args).call()
        except Exception as exc:
            raise as_chain_error(exc) from exc

    def status(self) -> tuple[int, bool, int]:
        """(current round, ended, number of participants)."""
        current, ended, count = self._view("status")
        return int(current), bool(ended), int(count)

    def current_round(self) -> int:
        """Current round (0 before the start)."""
        return self.status()[0]

    def round_info(self, round_: int) -> RoundInfo:
        """Public state of `round_`."""
        values = list(self._view("roundInfo", round_))
        values[6] = Outcome(values[6])
        return RoundInfo(*values)

    def phase(self) -> tuple[int, Phase, int]:
        """(current round, the phase open now, when it closes; 0: on the next call to `start`
        or `settle`, or never once the task ended)."""
        round_, phase, closes = self._view("phase")
        return int(round_), Phase(phase), int(closes)

    def pending_aggregate_round(self) -> int:
        """The round whose aggregate the current round's voters attest (0: none; the current
        round then trains from the adopted global model)."""
        return int(self._view("pendingAggregateRound"))

    def deadlines(self, round_: int) -> tuple[int, int, int]:
        """(propose end, vote-commit end, vote-reveal end) of `round_`."""
        a, b, c = self._view("deadlines", round_)
        return int(a), int(b), int(c)

    def seed_reveal_window(self, round_: int) -> tuple[int, int]:
        """(opens, closes) of the randomness reveal window of `round_`."""
        a, b = self._view("seedRevealWindow", round_)
        return int(a), int(b)

    def enrol_end(self) -> int:
        """End of enrolment (timestamp)."""
        return int(self._view("enrolEnd"))

    def seed_of(self, round_: int) -> bytes:
        """The seed of an opened round: the contract's view for the current and the previous
        round, the `RoundOpened` event for older ones."""
        if round_ + 1 >= self.current_round():
            return bytes(self._view("seedOf", round_))
        (opened,) = self._logs("RoundOpened", round_)
        return bytes(opened["args"]["seed"])

    def role_of(self, round_: int, participant: str) -> Role:
        """Role of `participant` in `round_`: the contract's view for the current and the
        previous round; for older ones the contract's draw recomputed from the round's seed
        and roster (flock.protocol.role_draw, tested equal to `roleOf`)."""
        addr = Web3.to_checksum_address(participant)
        if round_ + 1 >= self.current_round():
            return Role(self._view("roleOf", round_, addr))
        from flock.protocol.role_draw import role_for

        info = self.round_info(round_)
        index = self.index_of(addr) if self.is_participant(addr) else -1
        closing = round_ > self.params.rounds
        return role_for(
            index,
            info.roster_size,
            self.seed_of(round_),
            proposers_per_round=0 if closing else self.params.proposers_per_round,
            max_voters=self.params.max_voters,
        )

    def committee_of(self, round_: int) -> tuple[int, int]:
        """(proposers, voters) drawn in `round_`."""
        p, v = self._view("committeeOf", round_)
        return int(p), int(v)

    def proposal_hash(self, round_: int, index: int) -> bytes:
        """On-chain hash of proposal `index` of `round_`."""
        return bytes(self._view("proposalHash", round_, index))

    def accepted_mask(self, round_: int) -> int:
        """Bit i set when proposal i of `round_` was accepted."""
        return int(self._view("acceptedMask", round_))

    def global_model(self) -> tuple[bytes, int]:
        """(hash, round) of the adopted global model; round 0 means the initial model."""
        return bytes(self._view("globalModelHash")), int(self._view("globalModelRound"))

    def account_of(self, participant: str) -> tuple[int, int]:
        """(stake, claimable) of `participant`."""
        stake, claimable = self._view("accountOf", Web3.to_checksum_address(participant))
        return int(stake), int(claimable)

    def index_of(self, participant: str) -> int:
        """0-based join index of `participant` (its slot in each round's roster)."""
        return int(self._view("indexOf", Web3.to_checksum_address(participant)))

    def participant_at(self, index: int) -> str:
        """Participant at 0-based join index `index`."""
        return str(self._view("participantAt", index))

    def creator(self) -> str:
        """The task's creator (it deployed the task and may reclaim the unspent pool)."""
        return str(self._view("creator"))

    def randomness_beacon(self) -> str | None:
        """The randomness beacon mixed into the task's round seeds; None when it has none."""
        address = str(self._view("randomnessBeacon"))
        return None if int(address, 16) == 0 else address

    def is_participant(self, participant: str) -> bool:
        """Whether `participant` has joined."""
        return bool(self._view("isParticipant", Web3.to_checksum_address(participant)))

    def totals(self) -> dict[str, int]:
        """Reward pool, total stake and total unclaimed rewards, with the token balance."""
        fns = self.contract.functions
        return {
            "reward_pool": int(fns.rewardPool().call()),
            "total_staked": int(fns.totalStaked().call()),
            "total_claimable": int(fns.totalClaimable().call()),
            "balance": self.token.balance_of(self.address),
        }

    # ------------------------------------------------------------------ events
    def round_start_block(self, round_: int) -> int:
        """First block that can hold `round_`'s events (the block it opened in; fixed once the
        round opened, so read once; 0 while it has not). The cache assumes the chain does not
        rewind: after a snapshot revert or a reorg deeper than the round, use a new client."""
        if round_ not in self._start_blocks:
            block = max(int(self.round_info(round_).start_block), 0)
            if not block:
                return 0
            self._start_blocks[round_] = block
        return self._start_blocks[round_]

    def _logs(self, event: str, round_: int) -> list[Any]:
        return self._logs_by(event, "round", round_)

    def proposals(self, round_: int) -> list[Proposal]:
        """Proposals of `round_` in index order."""
        events = sorted(self._logs("Proposed", round_), key=lambda e: e["args"]["index"])
        return [
            Proposal(
                round=round_,
                proposer=e["args"]["proposer"],
                index=int(e["args"]["index"]),
                update_hash=bytes(e["args"]["updateHash"]),
                num_samples=int(e["args"]["numSamples"]),
                uri=str(e["args"]["uri"]),
                base_hash=bytes(e["args"]["baseHash"]),
            )
            for e in events
        ]

    def vote_committers(self, round_: int) -> set[str]:
        """Addresses that committed a vote in `round_`."""
        return {str(e["args"]["voter"]) for e in self._logs("VoteCommitted", round_)}

    def vote_reveals(self, round_: int) -> list[VoteReveal]:
        """Revealed votes of `round_`."""
        return [
            VoteReveal(
                round=round_,
                voter=e["args"]["voter"],
                scores=bytes(e["args"]["scores"]),
                salt=bytes(e["args"]["salt"]),
                attestation=bytes(e["args"]["attestation"]),
            )
            for e in self._logs("VoteRevealed", round_)
        ]

    def adopted_aggregate(self, attested_in: int) -> AdoptedAggregate | None:
        """The aggregate adopted by round `attested_in`'s settlement (None: none was)."""
        for e in self._logs_by("AggregateAdopted", "attestedIn", attested_in):
            args = e["args"]
            return AdoptedAggregate(
                round=int(args["round"]),
                model_hash=bytes(args["modelHash"]),
                attested_in=attested_in,
                votes=int(args["votes"]),
                reveals=int(args["reveals"]),
            )
        return None

    def voided_aggregate(self, attested_in: int) -> int | None:
        """The round whose aggregate round `attested_in`'s settlement voided (None: none)."""
        for e in self._logs_by("AggregateVoided", "attestedIn", attested_in):
            return int(e["args"]["round"])
        return None

    def _logs_by(self, event: str, key: str, round_: int) -> list[Any]:
        """`event` logs whose indexed `key` is `round_`, read from the block `round_` opened in
        (an indexed topic filter on the node: O(the round's events), never O(the task's))."""
        from_block = self.round_start_block(round_)
        if self.raw is not None:
            return self.raw.logs(event, from_block, {key: round_})
        return list(
            getattr(self.contract.events, event)().get_logs(
                from_block=from_block, argument_filters={key: round_}
            )
        )

    def revealed_scores(self, round_: int) -> dict[str, tuple[int, ...]]:
        """Revealed scores of `round_` by voter."""
        return {r.voter: decode_scores(r.scores) for r in self.vote_reveals(round_)}

    def _settlement_from(self, receipt: TxReceipt) -> Settlement:
        events = self.contract.events
        (settled,) = events.RoundSettled().process_receipt(receipt, errors=DISCARD)
        args = settled["args"]
        slashes = tuple(
            (e["args"]["participant"], SlashReason(e["args"]["reason"]), int(e["args"]["amount"]))
            for e in events.Slashed().process_receipt(receipt, errors=DISCARD)
        )
        rewards = tuple(
            (account, int(amount))
            for e in events.RewardsCredited().process_receipt(receipt, errors=DISCARD)
            for account, amount in zip(e["args"]["participants"], e["args"]["amounts"], strict=True)
            if amount
        )
        return Settlement(
            round=int(args["round"]),
            outcome=Outcome(args["outcome"]),
            accepted_mask=int(args["acceptedMask"]),
            credited=int(args["credited"]),
            slashed=int(args["slashed"]),
            slashes=slashes,
            rewards=rewards,
            gas_used=int(receipt["gasUsed"]),
        )


def verify_task_code(chain: Chain, address: str) -> None:
    """Refuse an address whose code is not flock's AllianceTask clone or implementation."""
    code = chain.w3.eth.get_code(Web3.to_checksum_address(address))
    if not code:
        raise ChainMismatchError(f"no contract code at {address}")
