"""Stateful property test: random sequences of participant actions against the task contract.

A Hypothesis rule-based state machine drives joins, leaves, seed reveals, proposals, vote
commits and reveals, time travel across phase boundaries, settlements, claims, withdrawals and
the creator's reclaim through the Python client on the in-process EVM. Voters attest the round's
base model honestly, with a poisoned hash, or with zero; the closing round after the last one
is played when an aggregate is pending. A small model of the
contract's rules predicts, for every call, either success or the custom error it must revert
with (and the call must raise that error's Python class). After every state change the books are
checked from outside: the task's token balance equals the stakes plus the unpaid rewards plus
the pool (where slashes go), and no wallet holds more than it was given plus its credited
rewards.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from conftest import BASE_PARAMS, TOKEN, stand_in_aggregate
from eth_utils import keccak
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from web3.logs import DISCARD
from web3.types import TxReceipt

from flock.contracts import EmbeddedChain, Role, Signer, TaskClient, TaskParams, TxSender
from flock.contracts.deploy import deploy_alliance
from flock.contracts.errors import ERRORS
from flock.protocol.commitments import encode_scores, seed_commit, vote_commit
from flock.protocol.role_draw import assign_roles
from flock.protocol.types import Outcome, Phase, SlashReason

PARAMS: TaskParams = replace(
    BASE_PARAMS,
    min_stake=10 * TOKEN,
    max_participants=5,
    proposers_per_round=2,
    max_voters=2,
    min_voters=1,
    rounds=2,
    enrol_period=300,
    propose_period=100,
    commit_period=100,
    reveal_period=100,
)
WALLETS = 6  # 4 join at deployment, 2 start outside (non-participant calls, late joins)
PREJOINED = 4
GIVEN = 100 * TOKEN  # tokens each wallet receives from the creator
POOL = 1_000 * TOKEN
SUPPLY = 10**6 * TOKEN
GENESIS = 4_102_444_800  # a fixed future genesis: blocks are stamped parent + 1, deterministically
SEED_WINDOW_NEVER = 2**256 - 1


#: An expected revert: (custom error name, argument values that must match), or None: success.
Expect = tuple[str, dict[str, Any]] | None


def _key(tag: str, i: int) -> Signer:
    return Signer.from_key(keccak(f"flock.stateful.{tag}.{i}".encode()))


def _secret(address: str, round_: int) -> bytes:
    return keccak(b"flock.stateful.seed" + bytes.fromhex(address[2:]) + bytes([round_]))


def _salt(address: str, round_: int) -> bytes:
    return keccak(b"flock.stateful.salt" + bytes.fromhex(address[2:]) + bytes([round_]))


ATTESTATION_KINDS = 3  # 0 honest, 1 poisoned, 2 zero


def _poisoned(round_: int) -> bytes:
    """The one hash every poisoning voter of `round_` attests (colluding attackers)."""
    return keccak(b"flock.stateful.poison" + bytes([round_]))


@dataclass
class World:
    """One deployed task with funded wallets, built once and reset by chain snapshot."""

    chain: EmbeddedChain
    sender: TxSender
    task_address: str
    creator: Signer
    wallets: list[Signer]
    snapshot: int


_WORLD: World | None = None


def _world() -> tuple[World, TaskClient]:
    """The deployed world reverted to its snapshot (nonce counters forgotten), with a fresh
    client (clients may cache what a real chain never changes, such as a round's seed block)."""
    global _WORLD
    if _WORLD is None:
        chain = EmbeddedChain(genesis_timestamp=GENESIS)
        sender = TxSender(chain)
        creator = _key("creator", 0)
        chain.fund(creator.address, 10**22)
        _, task = deploy_alliance(sender, creator, PARAMS, reward_pool=POOL, token_supply=SUPPLY)
        wallets = [_key("wallet", i) for i in range(WALLETS)]
        for w in wallets:
            chain.fund(w.address, 10**20)
            task.token.transfer(creator, w.address, GIVEN)
        for w in wallets[:PREJOINED]:
            task.join(w, PARAMS.min_stake, 1, seed_commit(_secret(w.address, 1), w.address, 1))
        snapshot = chain.tester.take_snapshot()
        _WORLD = World(chain, sender, task.address, creator, wallets, snapshot)
    else:
        _WORLD.chain.tester.revert_to_snapshot(_WORLD.snapshot)
        for signer in [_WORLD.creator, *_WORLD.wallets]:
            signer.reset_nonce()
    return _WORLD, TaskClient(_WORLD.sender, _WORLD.task_address)


@dataclass
class RoundModel:
    """What the model knows of one opened round."""

    start: int
    roles: dict[str, Role]
    closing: bool = False  # the voters-only round after the last one
    expected: bytes = bytes(32)  # what an honest voter attests
    proposed: list[str] = field(default_factory=list)
    votes: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)  # scores, attestation
    revealed: set[str] = field(default_factory=set)
    settled: bool = False

    def propose_end(self) -> int:
        return self.start if self.closing else self.start + PARAMS.propose_period

    def commit_end(self) -> int:
        return self.propose_end() + PARAMS.commit_period

    def reveal_end(self) -> int:
        return self.commit_end() + PARAMS.reveal_period


SCORE_STYLES = 3  # 0 agree with everyone, 1 reject every proposal, 2 idiosyncratic


def _scores(style: int, items: int, k: int) -> list[int]:
    if style == 0:
        return [8000] + [8050] * (items - 1)
    if style == 1:
        return [8000] + [3000] * (items - 1)
    return [(1000 + 3100 * (k + i)) % 10_001 for i in range(items)]


class TaskMachine(RuleBasedStateMachine):
    """Random sequences of every participant action, each predicted by the model."""

    def __init__(self) -> None:
        super().__init__()
        w, self.task = _world()
        self.chain, self.creator = w.chain, w.creator
        self.wallets = w.wallets
        self.addresses = [s.address for s in w.wallets]
        self.enrol_end = self.task.enrol_end()
        # model state
        self.order: list[str] = self.addresses[:PREJOINED]  # join index order
        self.seed_commits: dict[str, int] = dict.fromkeys(self.order, 1)  # pending: round
        self.current = 0
        self.ended = False
        self.pending = 0  # round whose aggregate awaits attestation
        self.model_hash = PARAMS.initial_model_hash  # the adopted global model
        self.model_round = 0
        self.rounds: dict[int, RoundModel] = {}
        # external accounting, from events only
        self.credited = dict.fromkeys(self.addresses, 0)
        self.slashed = dict.fromkeys(self.addresses, 0)
        self.dirty = True
        self.record_events = True

    # ------------------------------------------------------------ plumbing
    def _now(self) -> int:
        return self.chain.now()

    def _stake(self, address: str) -> int:
        return self.task.account_of(address)[0]

    def _event(self, text: str) -> None:
        """Count an outcome in Hypothesis's statistics (--hypothesis-show-statistics)."""
        if self.record_events:
            event(text)

    def _attempt(self, expect: Expect, call: Callable[[], Any]) -> Any:
        """Run `call`; it must succeed when `expect` is None, else raise the named error."""
        action = sys._getframe(1).f_code.co_name.removeprefix("do_")
        if expect is None:
            result = call()
            self.dirty = True
            self._event(f"{action}: ok")
            return result
        name, values = expect
        self._event(f"{action}: {name}")
        with pytest.raises(ERRORS[name]) as raised:
            call()
        for key, value in values.items():
            assert raised.value.values[key] == value, (name, raised.value.values)
        return None

    def _absorb_slashes(self, receipt: TxReceipt) -> None:
        for e in self.task.contract.events.Slashed().process_receipt(receipt, errors=DISCARD):
            self.slashed[e["args"]["participant"]] += int(e["args"]["amount"])

    def _seed_window(self, round_: int) -> tuple[int, int]:
        if round_ == 1:
            return self.enrol_end, self.enrol_end + PARAMS.reveal_period
        previous = self.rounds.get(round_ - 1)
        if previous is None:
            return SEED_WINDOW_NEVER, SEED_WINDOW_NEVER
        return previous.commit_end(), previous.reveal_end()

    def _open(self, round_: int, at: int) -> None:
        """Round `round_` opened at `at`: check its deadlines and roles against the mirror."""
        self.current = round_
        closing = round_ > PARAMS.rounds
        roster = list(self.order)
        seed = self.task.seed_of(round_)  # readable at once: fixed from revealed secrets
        mirror = assign_roles(
            roster,
            seed,
            proposers_per_round=0 if closing else PARAMS.proposers_per_round,
            max_voters=PARAMS.max_voters,
        )
        roles = {a: mirror.get(a, Role.NONE) for a in self.addresses}
        assert {a: self.task.role_of(round_, a) for a in self.addresses} == roles
        expected = stand_in_aggregate(self.pending) if self.pending else self.model_hash
        model = RoundModel(start=at, roles=roles, closing=closing, expected=expected)
        assert self.task.pending_aggregate_round() == self.pending
        assert self.task.global_model() == (self.model_hash, self.model_round)
        assert self.task.round_info(round_).base_round == (self.pending or self.model_round)
        assert self.task.deadlines(round_) == (
            model.propose_end(),
            model.commit_end(),
            model.reveal_end(),
        )
        assert self.task.round_info(round_).roster_size == len(roster)
        self.rounds[round_] = model

    def _open_round(self) -> RoundModel | None:
        """The current round when it is open (started and not settled)."""
        model = self.rounds.get(self.current)
        return None if model is None or model.settled else model

    # ------------------------------------------------------------ actions (model + call)
    def do_join(self, i: int, amount: int) -> None:
        a, signer = self.addresses[i], self.wallets[i]
        now = self._now()
        t = now + 2  # the approval is mined first
        commit = self.current == 0 and now < self.enrol_end
        expect: Expect = None
        if self.ended:
            expect = ("PhaseClosed", {"phase": Phase.TASK})
        elif a in self.order:
            expect = ("ParticipantAlreadyJoined", {})
        elif len(self.order) >= PARAMS.max_participants:
            expect = ("TaskFull", {})
        elif amount < PARAMS.min_stake:
            expect = ("StakeBelowMinimum", {"amount": amount})
        elif commit and t >= self.enrol_end:
            expect = ("PhaseClosed", {"phase": Phase.SEED_COMMIT})
        elif self.task.token.balance_of(a) < amount:
            expect = ("ERC20InsufficientBalance", {})

        def call() -> TxReceipt:
            if commit:
                c = seed_commit(_secret(a, 1), a, 1)
                return self.task.join(signer, amount, 1, c)
            return self.task.join(signer, amount)

        if self._attempt(expect, call) is not None:
            self.order.append(a)
            if commit:
                self.seed_commits[a] = 1

    def do_leave(self, i: int) -> None:
        a = self.addresses[i]
        t = self._now() + 1
        expect: Expect = None
        if a not in self.order:
            expect = ("ParticipantUnknown", {})
        elif self.current != 0 or t >= self.enrol_end:
            expect = ("PhaseClosed", {"phase": Phase.ENROLMENT})
        stake = self._stake(a)
        fee = stake * PARAMS.slash_bps // 10_000  # the leave fee goes to the pool
        before = self.task.token.balance_of(a)
        if self._attempt(expect, lambda: self.task.leave(self.wallets[i])) is not None:
            assert self.task.token.balance_of(a) - before == stake - fee
            self.slashed[a] += fee
            k = self.order.index(a)
            self.order[k] = self.order[-1]
            self.order.pop()
            self.seed_commits.pop(a, None)

    def do_reveal_seed(self, i: int) -> None:
        a = self.addresses[i]
        r = self.seed_commits.get(a, self.current + 1)
        t = self._now() + 1
        opens, closes = self._seed_window(r)
        expect: Expect = None
        if a not in self.order:
            expect = ("ParticipantUnknown", {})
        elif r != self.current + 1 or r > PARAMS.rounds:
            expect = ("RoundMismatch", {})
        elif t < opens or t >= closes:
            expect = ("PhaseClosed", {"phase": Phase.SEED_REVEAL})
        elif self.seed_commits.get(a) != r:
            expect = ("SeedCommitMissing", {})
        call = lambda: self.task.reveal_seed(self.wallets[i], r, _secret(a, r))  # noqa: E731
        if self._attempt(expect, call) is not None:
            del self.seed_commits[a]

    def do_slash_missed_seed(self, i: int) -> None:
        a = self.addresses[i]
        t = self._now() + 1
        r = self.seed_commits.get(a)
        expect: Expect = None
        if r is None or t < self._seed_window(r)[1]:
            expect = ("SeedCommitMissing", {})
        stake = self._stake(a)
        call = lambda: self.task.slash_missed_seed_reveal(self.creator, a)  # noqa: E731
        receipt = self._attempt(expect, call)
        if receipt is not None:
            self._absorb_slashes(receipt)
            assert self._stake(a) == stake - stake * PARAMS.slash_bps // 10_000
            del self.seed_commits[a]

    def do_start(self) -> None:
        t = self._now() + 1
        expect: Expect = None
        if self.current != 0:
            expect = ("RoundMismatch", {})
        elif t < self.enrol_end + PARAMS.reveal_period:
            expect = ("PhaseClosed", {"phase": Phase.START})
        if self._attempt(expect, lambda: self.task.start(self.creator)) is not None:
            self._open(1, t)

    def _round_checks(
        self, phase: Phase, opens: Callable[[RoundModel], int], closes: Callable[[RoundModel], int]
    ) -> tuple[Expect, RoundModel]:
        """The checks every in-round call starts with: an open round, then its window."""
        model = self._open_round()
        t = self._now() + 1
        if model is None:
            return ("RoundMismatch", {}), RoundModel(0, {})
        if t < opens(model) or t >= closes(model):
            return ("PhaseClosed", {"phase": phase}), model
        return None, model

    def _role_checks(self, model: RoundModel, a: str, role: Role) -> Expect:
        if model.roles.get(a, Role.NONE) != role:
            return ("RoleMismatch", {"required": role})
        if self._stake(a) < PARAMS.min_stake:
            return ("ParticipantIneligible", {})
        return None

    def do_propose(self, i: int) -> None:
        a = self.addresses[i]
        expect, model = self._round_checks(Phase.PROPOSE, lambda m: 0, RoundModel.propose_end)
        if expect is None:
            expect = self._role_checks(model, a, Role.PROPOSER)
        if expect is None and a in model.proposed:
            expect = ("ProposalDuplicate", {})
        round_ = self.current or 1
        digest = keccak(b"update" + bytes.fromhex(a[2:]) + bytes([round_]))
        base = model.expected

        def call() -> TxReceipt:
            return self.task.propose(self.wallets[i], round_, digest, 100, "file:///u", base)

        if self._attempt(expect, call) is not None:
            model.proposed.append(a)
            assert self.task.round_info(round_).num_proposals == len(model.proposed)

    def do_commit_vote(self, i: int, style: int, attest: int = 0) -> None:
        a = self.addresses[i]
        expect, model = self._round_checks(
            Phase.VOTE_COMMIT, RoundModel.propose_end, RoundModel.commit_end
        )
        if expect is None:
            expect = self._role_checks(model, a, Role.VOTER)
        if expect is None and a in model.votes:
            expect = ("VoteDuplicate", {})
        round_ = self.current or 1
        scores = encode_scores(_scores(style, len(model.proposed) + 1, i))
        attestation = (model.expected, _poisoned(round_), bytes(32))[attest]
        commit = vote_commit(scores, attestation, _salt(a, round_), a, round_)
        call = lambda: self.task.commit_vote(self.wallets[i], round_, commit)  # noqa: E731
        if self._attempt(expect, call) is not None:
            model.votes[a] = (scores, attestation)

    def do_reveal_vote(self, i: int) -> None:
        a = self.addresses[i]
        expect, model = self._round_checks(
            Phase.VOTE_REVEAL, RoundModel.commit_end, RoundModel.reveal_end
        )
        if expect is None and a not in model.votes:
            expect = ("VoteNotCommitted", {})
        elif expect is None and a in model.revealed:
            expect = ("VoteAlreadyRevealed", {})
        round_ = self.current or 1
        scores, attestation = model.votes.get(
            a, (encode_scores([5000] * (len(model.proposed) + 1)), model.expected)
        )
        salt = _salt(a, round_)

        def call() -> TxReceipt:
            return self.task.reveal_vote(self.wallets[i], round_, scores, attestation, salt)

        if self._attempt(expect, call) is not None:
            model.revealed.add(a)

    def do_settle(self) -> None:
        round_ = self.current
        t = self._now() + 1
        model = self.rounds.get(round_)
        expect: Expect = None
        if model is None:
            expect = ("RoundMismatch", {})
        elif model.settled:
            expect = ("RoundAlreadySettled", {})
        elif t < model.reveal_end():
            expect = ("PhaseClosed", {"phase": Phase.SETTLE})
        settlement = self._attempt(expect, lambda: self.task.settle(self.creator, round_))
        if settlement is None:
            return
        assert model is not None
        model.settled = True
        for address, amount in settlement.rewards:
            self.credited[address] += amount
        for address, _, amount in settlement.slashes:
            self.slashed[address] += amount
        # committed voters who did not reveal are slashed, whatever the outcome
        missing = set(model.votes) - model.revealed
        assert self._slashed_for(settlement, SlashReason.MISSING_VOTE_REVEAL) == missing
        # the attestations: adopt, void or keep the pending aggregate; slash the deviants
        quorum = len(model.revealed) >= max(PARAMS.min_voters, 1)
        base_void, deviants = self._attestations(model, quorum)
        assert self._slashed_for(settlement, SlashReason.WRONG_ATTESTATION) == deviants
        if deviants:
            self._event("settle: wrong attesters slashed")
        assert not {a for a, amount in settlement.rewards if amount} & deviants
        if base_void:
            assert settlement.outcome == Outcome.VOID
        elif not model.proposed:
            assert settlement.outcome == Outcome.EMPTY
        elif not quorum:
            assert settlement.outcome == Outcome.VOID
        else:
            assert settlement.outcome in (Outcome.SETTLED, Outcome.VOID)
        assert settlement.credited == sum(amount for _, amount in settlement.rewards)
        if settlement.outcome != Outcome.SETTLED:
            assert settlement.rewards == ()
        if settlement.accepted_mask:
            self.pending = round_
        elif quorum:
            self.pending = 0
        assert self.task.pending_aggregate_round() == self.pending
        assert self.task.global_model() == (self.model_hash, self.model_round)
        if round_ < PARAMS.rounds or (round_ == PARAMS.rounds and self.pending):
            self._open(round_ + 1, t)
        else:
            self.ended = True
            self._event("settle: task ended" + (" after closing" if model.closing else ""))

    def _attestations(self, model: RoundModel, quorum: bool) -> tuple[bool, set[str]]:
        """Adopt or void the pending aggregate by a strict majority of the revealed
        attestations (zero never wins); (void, voters who attested another hash)."""
        attested = {a: model.votes[a][1] for a in model.revealed}
        if not quorum:
            return False, set()
        expected = model.expected
        if self.pending:
            winner, votes = Counter(attested.values()).most_common(1)[0]
            if winner == bytes(32) or 2 * votes <= len(attested):
                self._event("settle: aggregate voided")
                return True, set()
            honest = "honest" if winner == model.expected else "poisoned"
            self._event(f"settle: {honest} aggregate adopted")
            expected = winner
            self.model_hash, self.model_round = winner, self.pending
        return False, {a for a, h in attested.items() if h != expected}

    @staticmethod
    def _slashed_for(settlement: Any, reason: SlashReason) -> set[str]:
        return {a for a, why, _ in settlement.slashes if why == reason}

    def do_claim(self, i: int) -> None:
        a = self.addresses[i]
        _, claimable = self.task.account_of(a)
        expect: Expect = ("NothingToPay", {}) if claimable == 0 else None
        before = self.task.token.balance_of(a)
        if self._attempt(expect, lambda: self.task.claim(self.wallets[i])) is not None:
            assert self.task.token.balance_of(a) - before == claimable
            assert self.task.account_of(a)[1] == 0

    def do_withdraw(self, i: int) -> None:
        a = self.addresses[i]
        t = self._now() + 1
        stake = self._stake(a)
        r = self.seed_commits.get(a)
        stale = r is not None and t >= self._seed_window(r)[1]
        penalty = stake * PARAMS.slash_bps // 10_000 if stale else 0
        expect: Expect = None
        if not self.ended:
            expect = ("TaskNotEnded", {})
        elif stake - penalty == 0:
            expect = ("NothingToPay", {})
        before = self.task.token.balance_of(a)
        receipt = self._attempt(expect, lambda: self.task.withdraw(self.wallets[i]))
        if receipt is not None:
            self._absorb_slashes(receipt)
            assert self.task.token.balance_of(a) - before == stake - penalty
            if stale:
                del self.seed_commits[a]

    def do_stake_more(self, i: int, amount: int) -> None:
        a = self.addresses[i]
        expect: Expect = None
        if a not in self.order:
            expect = ("ParticipantUnknown", {})
        elif self.ended:
            expect = ("PhaseClosed", {"phase": Phase.TASK})
        elif self.task.token.balance_of(a) < amount:
            expect = ("ERC20InsufficientBalance", {})
        stake = self._stake(a)
        if self._attempt(expect, lambda: self.task.stake_more(self.wallets[i], amount)) is not None:
            assert self._stake(a) == stake + amount

    def do_reclaim(self, by_creator: bool, i: int) -> None:
        signer = self.creator if by_creator else self.wallets[i]
        expect: Expect = None
        pool = 0
        if not by_creator:
            expect = ("TaskOnlyCreator", {})
        elif not self.ended:
            expect = ("TaskNotEnded", {})
        else:
            pool = self.task.totals()["reward_pool"]
            if pool == 0:
                expect = ("NothingToPay", {})
        before = self.task.token.balance_of(signer.address) if expect is None else 0
        if self._attempt(expect, lambda: self.task.reclaim_leftover(signer)) is not None:
            assert self.task.token.balance_of(signer.address) - before == pool

    # ------------------------------------------------------------ rules
    ACTIONS = (
        "join",
        "leave",
        "reveal_seed",
        "slash_missed_seed",
        "propose",
        "commit_vote",
        "reveal_vote",
        "claim",
        "withdraw",
        "stake_more",
        "reclaim",
    )

    def _do(self, action: str, i: int, choice: int, attest: int = 0) -> None:
        if action == "join":
            self.do_join(i, (PARAMS.min_stake - 1, PARAMS.min_stake, 2 * PARAMS.min_stake)[choice])
        elif action == "commit_vote":
            self.do_commit_vote(i, choice, attest)
        elif action == "stake_more":
            self.do_stake_more(i, (1, 5 * TOKEN, 10 * TOKEN)[choice])
        elif action == "reclaim":
            self.do_reclaim(choice != 0, i)  # the creator, or wallet i
        else:
            getattr(self, f"do_{action}")(i)

    @rule(
        action=st.sampled_from(ACTIONS),
        i=st.integers(0, WALLETS - 1),
        choice=st.integers(0, SCORE_STYLES - 1),
        attest=st.integers(0, ATTESTATION_KINDS - 1),
    )
    def one_wallet_acts(self, action: str, i: int, choice: int, attest: int = 0) -> None:
        """Any action by any wallet at any moment: valid or not, the model says which."""
        self._do(action, i, choice, attest)

    @rule(
        mask=st.integers(0, 2**WALLETS - 1),
        style=st.integers(0, SCORE_STYLES - 1),
        poisoners=st.integers(0, 2**WALLETS - 1),
        zeros=st.integers(0, 2**WALLETS - 1),
    )
    def wallets_do_what_the_phase_asks(
        self, mask: int, style: int, poisoners: int = 0, zeros: int = 0
    ) -> None:
        """The wallets in `mask` take the action the current moment calls for (or anyone opens
        or settles the round when that is due); voting, those in `poisoners` attest a poisoned
        hash, the other ones in `zeros` attest zero, the rest honestly."""
        t = self._now() + 1
        model = self._open_round()
        if self.current == 0:
            if t >= self.enrol_end + PARAMS.reveal_period:
                self.do_start()
                return
            action = "join" if t < self.enrol_end else "reveal_seed"
        elif model is None:
            action = "withdraw" if self.ended else "claim"
        elif t < model.propose_end():
            action = "propose"
        elif t < model.commit_end():
            action = "commit_vote"
        elif t < model.reveal_end():
            action = "reveal_vote"
        else:
            self.do_settle()
            return
        for i in range(WALLETS):
            if mask >> i & 1:
                attest = 1 if poisoners >> i & 1 else 2 if zeros >> i & 1 else 0
                self._do(action, i, 1 if action == "join" else style, attest)
        if self.ended and style == 0:
            self.do_reclaim(True, 0)

    def _travel_to(self, latest: int) -> None:
        """Make `latest` the latest block's timestamp: the next transaction runs at latest + 1."""
        if latest <= self._now():
            return
        self.chain.advance_time(latest - self._now())
        if self._now() < latest:  # the deterministic backend stamps time travel a second short
            self.chain.advance_time(latest - self._now() + 1)
        assert self._now() == latest

    @rule(ahead=st.integers(-2, 2))
    def time_passes(self, ahead: int) -> None:
        """Aim the next transaction at the next phase boundary + `ahead` seconds (the last
        seconds before a window closes, its first seconds, ...); past the last boundary, a
        few seconds on."""
        now = self._now()
        model = self._open_round()
        bounds = [self.enrol_end, self.enrol_end + PARAMS.reveal_period]
        if model is not None:
            bounds += [model.propose_end(), model.commit_end(), model.reveal_end()]
        targets = [b + ahead for b in bounds if b + ahead > now + 1]
        target = min(targets) if targets else now + 3 + abs(ahead) * 7
        self._travel_to(target - 1)

    @rule()
    def start_or_settle(self) -> None:
        """Open round 1, or settle the current round."""
        if self.current == 0:
            self.do_start()
        else:
            self.do_settle()

    # ------------------------------------------------------------ invariants
    @invariant()
    def books_balance(self) -> None:
        """Checked from outside after every state change (reverted calls change nothing)."""
        if not self.dirty:
            return
        self.dirty = False
        task, token = self.task, self.task.token
        accounts = {a: task.account_of(a) for a in self.addresses}
        totals = task.totals()
        stakes = sum(s for s, _ in accounts.values())
        unpaid = sum(c for _, c in accounts.values())
        assert totals["balance"] == stakes + unpaid + totals["reward_pool"]
        assert totals["total_staked"] == stakes
        assert totals["total_claimable"] == unpaid
        held = 0
        for a, (stake, claimable) in accounts.items():
            balance = token.balance_of(a)
            held += balance
            assert balance <= GIVEN + self.credited[a], a
            assert balance + stake + claimable == GIVEN + self.credited[a] - self.slashed[a], a
        assert held + token.balance_of(self.creator.address) + totals["balance"] == SUPPLY
        current, ended, count = task.status()
        assert (current, ended, count) == (self.current, self.ended, len(self.order))


TaskMachine.TestCase.settings = settings(
    max_examples=8,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_task_machine = TaskMachine.TestCase


def test_machine_plays_a_whole_task() -> None:
    """The happy path through the same rules: two rounds, claims, withdrawals, reclaim."""
    m = TaskMachine()
    m.record_events = False  # not inside a Hypothesis test
    m.books_balance()
    everyone = 2**WALLETS - 1
    m.wallets_do_what_the_phase_asks(everyone, 0)  # the two outsiders join (a third is full)
    m.time_passes(ahead=0)  # into round 1's reveal window
    m.wallets_do_what_the_phase_asks(everyone, 0)  # reveal round 1's randomness
    m.time_passes(ahead=0)
    m.start_or_settle()
    played = []
    while not m.ended:  # the rounds, then the closing round attesting the last aggregate
        played.append(m.current)
        for _ in range(2 if m.rounds[m.current].closing else 3):  # (propose), commit, reveal
            m.wallets_do_what_the_phase_asks(everyone, 0)
            m.books_balance()
            m.time_passes(ahead=0)
        m.start_or_settle()
        m.books_balance()
    assert played == [1, 2, 3]
    assert m.task.global_model() == (stand_in_aggregate(2), 2)
    m.wallets_do_what_the_phase_asks(everyone, 0)  # withdraw; the creator reclaims the pool
    m.one_wallet_acts("claim", 0, 0)
    m.one_wallet_acts("reclaim", 0, 1)  # nothing left
    m.books_balance()
    assert m.ended
    assert any(m.credited.values())
    assert m.task.totals()["balance"] == sum(m.task.account_of(a)[1] for a in m.addresses)
    m.teardown()
