"""Differential test: flock.protocol.settlement settles random rounds exactly as the contract does.

Random tasks (every settlement knob drawn within its valid range, random stakes and pools)
play random rounds on the in-process EVM: random score matrices with honest noise, outlier
and adversarial voters and washes, proposers who stay silent, voters who never commit or
commit and never reveal, unavailable marks (0xFFFF, sometimes for most voters of one proposal),
proposers who top up their stake mid-round (excluded from the stake rule's weights), and voters
attesting the round's base model honestly, with a shared poisoned hash, a lone random hash or
zero, with or without an aggregate pending; every task whose last aggregate is pending plays
its closing round. After each settlement the mirror's outcome, accepted mask, slashes,
credits and totals, the adopted or voided aggregate and the pending round must equal the
contract's events and views, and the mirror's running ledger (stakes,
claimable rewards, pool) must equal the contract's views.

FLOCK_MIRROR_ROUNDS sets the number of rounds (default 150, about a minute on 2 cores);
FLOCK_MIRROR_SEED the random seed. A long run by hand:
    FLOCK_MIRROR_ROUNDS=1000 .venv/bin/pytest tests/contracts/test_settlement_mirror.py
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pytest
from conftest import BASE_PARAMS, TOKEN, stand_in_aggregate
from eth_utils import keccak

from flock.contracts import (
    EmbeddedChain,
    RewardRule,
    Role,
    Signer,
    SlashReason,
    TaskClient,
    TaskParams,
    TxSender,
)
from flock.contracts.clients import FactoryClient, TokenClient
from flock.contracts.deploy import deploy_factory, deploy_token
from flock.contracts.participant import ChainParticipant
from flock.local.driver import RoundDriver
from flock.protocol.commitments import MAX_SCORE, UNAVAILABLE
from flock.protocol.role_draw import assign_roles
from flock.protocol.settlement import RoundRecord, SettlementRules, settle_round
from flock.protocol.types import Proposal

ROUNDS = int(os.environ.get("FLOCK_MIRROR_ROUNDS", "150"))
SEED = int(os.environ.get("FLOCK_MIRROR_SEED", "20240611"))
SIGNERS = 6
GENESIS = 4_102_444_800
#: Gas limit of every transaction here (deploying AllianceTask needs about 4.5M).
FIXED_GAS = 10_000_000


def _signer(index: int) -> Signer:
    return Signer.from_key(keccak(f"flock/mirror/{SEED}/{index}".encode()))


def _fixed_gas(chain: EmbeddedChain) -> None:
    """py-evm estimates gas by a binary search, a dozen executions per transaction; here every
    transaction gets a fixed limit instead (flock's transaction path, signing and receipts stay
    as they are; a revert still fails the test, as a receipt with status 0)."""
    chain.tester.backend.chain.gas_estimator = lambda state, transaction: FIXED_GAS


def _wei(rng: np.random.Generator, tokens: int) -> int:
    """A random amount below `tokens` whole tokens, to the wei (so every division rounds)."""
    return int(rng.integers(0, tokens)) * TOKEN + int(rng.integers(0, TOKEN))


def _within(rng: np.random.Generator, outer: int) -> int:
    """An accept tolerance inside the slash tolerance `outer`: as often `outer` itself (two-way)
    as a draw from 0..outer (three-way)."""
    return outer if rng.random() < 0.5 else int(rng.integers(0, outer + 1))


def _bps(rng: np.random.Generator, typical: int) -> int:
    """A basis-point knob: mostly in its typical range, sometimes at either edge."""
    pick = rng.random()
    if pick < 0.1:
        return 0
    if pick < 0.15:
        return MAX_SCORE
    return int(rng.integers(0, typical + 1))


def random_params(rng: np.random.Generator, participants: int) -> TaskParams:
    """A valid task configuration with every settlement knob drawn at random."""
    max_voters = int(rng.integers(1, participants))
    proposers = int(rng.integers(1, 4))
    # the contract refuses a min_voters that a full roster's committee cannot reach
    reachable = min(max_voters, participants - min(proposers, participants - 1))
    tolerance, peer_tolerance = _bps(rng, 3000), _bps(rng, 3000)
    return replace(
        BASE_PARAMS,
        min_stake=int(rng.integers(1, 5 * TOKEN)),
        max_participants=participants,
        proposers_per_round=proposers,
        max_voters=max_voters,
        min_voters=int(rng.integers(0, min(reachable, 3) + 1)),
        rounds=int(rng.integers(4, 11)),
        slash_bps=_bps(rng, 5000),
        tolerance_bps=tolerance,
        peer_tolerance_bps=peer_tolerance,
        mad_multiplier_x100=int(rng.choice([0, rng.integers(0, 1001), 65535])),
        min_deviation_bps=_bps(rng, 3000),
        wash_mad_bps=_bps(rng, 4000),
        voter_share_bps=_bps(rng, MAX_SCORE),
        reward_rule=RewardRule(int(rng.integers(0, 3))),
        softmax_temperature_bps=int(rng.choice([1, rng.integers(1, 3001), 65535])),
        base_band_bps=int(rng.choice([_bps(rng, 4000), MAX_SCORE])),
        # three-way judges: accept within these, decline up to the tolerances, slash past them
        accept_tolerance_bps=_within(rng, tolerance),
        accept_peer_tolerance_bps=_within(rng, peer_tolerance),
    )


@dataclass
class RoundPlan:
    """The random behaviour of one round, drawn lazily as the driver asks for it."""

    rng: np.random.Generator
    proposed: list[str] = field(default_factory=list)
    ballots: dict[str, list[int]] = field(default_factory=dict)
    attestations: dict[str, bytes] = field(default_factory=dict)
    top_ups: dict[str, int] = field(default_factory=dict)
    truth: list[float] | None = None
    noise: float = 0.0
    chaos: float = 0.0
    unserved: int = -1  # a proposal whose blob most voters cannot fetch (-1: none)
    lost: float = 0.0  # chance a voter cannot fetch any one blob

    def attestation(self, honest: bytes, round_: int, poison: float, zero: float) -> bytes:
        pick = self.rng.random()
        if pick < poison:  # colluding attackers attest one poisoned hash
            return keccak(b"poison" + round_.to_bytes(32, "big"))
        if pick < poison + zero:
            return bytes(32)
        if pick < poison + zero + 0.05:  # a lone wrong hash
            return self.rng.bytes(32)
        return honest

    def draw_truth(self, items: int) -> list[float]:
        rng = self.rng
        if self.truth is None:
            baseline = float(rng.uniform(0, MAX_SCORE))
            quality = [baseline]
            for _ in range(items - 1):
                bad = rng.random() < 0.25
                offset = rng.uniform(-9000, -1000) if bad else rng.uniform(-1500, 1000)
                quality.append(baseline + offset)
            self.truth = quality
            self.noise = float(rng.choice([0.0, 30.0, 300.0, 1500.0, 4000.0]))
            self.chaos = float(rng.choice([0.0, 0.15, 0.4, 0.8]))
            if items > 1 and rng.random() < 0.3:
                self.unserved = int(rng.integers(1, items))
            self.lost = float(rng.choice([0.0, 0.0, 0.1]))
        return self.truth

    def ballot(self, items: int) -> list[int]:
        rng = self.rng
        truth = self.draw_truth(items)
        kind = rng.random()
        if kind < self.chaos / 2:  # uniformly random voter
            values = rng.integers(0, MAX_SCORE + 1, size=items).astype(float)
        elif kind < self.chaos:  # inverted or extreme voter
            values = np.array(
                [MAX_SCORE - t for t in truth]
                if rng.random() < 0.5
                else rng.choice([0, MAX_SCORE], size=items)
            )
        else:  # honest, with noise
            values = np.array(truth) + rng.normal(0.0, self.noise + 1e-9, size=items)
        ballot = [int(v) for v in np.clip(np.rint(values), 0, MAX_SCORE)]
        for i in range(1, items):  # the base model (item 0) is every voter's own
            if (i == self.unserved and rng.random() < 0.8) or rng.random() < self.lost:
                ballot[i] = UNAVAILABLE
        return ballot


@dataclass
class Ledger:
    """What the mirror believes the task's accounts and pool are."""

    stakes: dict[str, int]
    claimable: dict[str, int]
    pool: int


class MirroredRolesDriver(RoundDriver):
    """The flock round driver, reading roles from the Python mirror of the role draw (one
    view for the seed instead of one per participant; the mirror is tested in test_round)."""

    def roles(self, round_: int) -> dict[str, Role]:
        params = self.task.params
        return assign_roles(
            [p.address for p in self.participants],  # joined in this order, none left
            self.task.seed_of(round_),
            proposers_per_round=0 if round_ > params.rounds else params.proposers_per_round,
            max_voters=params.max_voters,
        )


class Game:
    """One chain with a token and a factory; random tasks, each played to its end."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        # a fixed genesis in the future: blocks, seeds and roles repeat from run to run
        self.chain = EmbeddedChain(genesis_timestamp=GENESIS)
        _fixed_gas(self.chain)
        self.sender = TxSender(self.chain)
        self.creator = _signer(-1)
        self.chain.fund(self.creator.address, 10**23)
        self.token: TokenClient = deploy_token(self.sender, self.creator, 10**12 * TOKEN)
        _, self.factory = deploy_factory(self.sender, self.creator)
        self.signers = [_signer(i) for i in range(SIGNERS)]
        for s in self.signers:
            self.chain.fund(s.address, 10**21)
            self.token.transfer(self.creator, s.address, 10**8 * TOKEN)
        self.rounds_played = 0
        self.outcomes: dict[str, int] = {}
        self.pending = 0  # of the task being played
        self.global_hash = b""
        self.model_round = 0

    def new_task(self) -> tuple[TaskClient, TaskParams, list[ChainParticipant], Ledger]:
        rng = self.rng
        n = int(rng.integers(3, SIGNERS + 1))
        params = random_params(rng, n)
        pool = _wei(rng, 10**6) + 1
        factory: FactoryClient = self.factory
        task = TaskClient(self.sender, factory.create_task(self.creator, self.token, params, pool))
        chosen = rng.permutation(len(self.signers))[:n]
        secrets = random.Random(int(rng.integers(2**63)))
        members = [
            ChainParticipant(self.signers[i], task, new_secret=partial(secrets.randbytes, 32))
            for i in chosen
        ]
        stakes = {}
        for m in members:
            stake = params.min_stake + _wei(rng, 100)
            m.join(stake)
            stakes[m.address] = stake
        return task, params, members, Ledger(stakes, dict.fromkeys(stakes, 0), pool)

    def play_task(self, budget: int) -> None:
        task, params, members, ledger = self.new_task()
        rules = SettlementRules.from_params(params)
        driver = MirroredRolesDriver(self.chain, task, members, self.creator)
        self.pending, self.global_hash, self.model_round = 0, params.initial_model_hash, 0
        driver.start()
        for r in range(1, min(params.rounds, budget) + 1):
            self.play_round(driver, r, params, rules, ledger)
            self.rounds_played += 1
        if budget >= params.rounds:
            if self.pending:  # the closing round attests the last aggregate
                self.play_round(driver, params.rounds + 1, params, rules, ledger)
                self.rounds_played += 1
            assert task.status()[1] is True
        self._check_accounts(task, ledger)

    def play_round(
        self,
        driver: RoundDriver,
        r: int,
        params: TaskParams,
        rules: SettlementRules,
        ledger: Ledger,
    ) -> None:
        rng = self.rng
        plan = RoundPlan(rng)
        eligible = {a for a, s in ledger.stakes.items() if s >= params.min_stake}
        skip_propose = float(rng.choice([0.0, 0.2, 1.0], p=[0.7, 0.25, 0.05]))
        skip_vote = float(rng.choice([0.0, 0.2]))
        skip_reveal = float(rng.choice([0.0, 0.15, 0.5], p=[0.5, 0.35, 0.15]))
        poison = float(rng.choice([0.0, 0.2, 0.5, 0.8], p=[0.5, 0.2, 0.15, 0.15]))
        zero = float(rng.choice([0.0, 0.1, 0.6], p=[0.7, 0.2, 0.1]))
        top_up = float(rng.choice([0.0, 0.5]))
        honest = stand_in_aggregate(self.pending) if self.pending else self.global_hash
        assert driver.task.pending_aggregate_round() == self.pending
        assert driver.task.global_model() == (self.global_hash, self.model_round)

        def propose(p: ChainParticipant, round_: int) -> tuple[bytes, int, str, bytes] | None:
            if p.address not in eligible or rng.random() < skip_propose:
                return None
            if rng.random() < top_up:  # stake added mid-round: no weight in this round
                amount = _wei(rng, 50) + 1
                p.task.stake_more(p.signer, amount)
                plan.top_ups[p.address] = amount
            plan.proposed.append(p.address)
            samples = int(rng.integers(1, params.max_samples + 1))
            return rng.bytes(32), samples, "mem://x", honest

        def score(
            p: ChainParticipant, round_: int, proposals: list[Proposal]
        ) -> tuple[list[int], bytes] | None:
            if p.address not in eligible or rng.random() < skip_vote:
                return None
            plan.ballots[p.address] = plan.ballot(len(proposals) + 1)
            plan.attestations[p.address] = plan.attestation(honest, round_, poison, zero)
            return plan.ballots[p.address], plan.attestations[p.address]

        revealed: set[str] = set()

        def reveal(p: ChainParticipant, round_: int) -> bool:
            if rng.random() < skip_reveal:
                return False
            revealed.add(p.address)
            return True

        result = driver.play_round(r, propose, score, reveal)

        voters = sorted(revealed, key=lambda a: int(a, 16))
        missing = sorted(set(plan.ballots) - revealed, key=lambda a: int(a, 16))
        stakes = dict(ledger.stakes)
        for who, amount in plan.top_ups.items():
            stakes[who] += amount
        record = RoundRecord(
            round=r,
            proposers=plan.proposed,
            voters=voters,
            scores=[plan.ballots[v] for v in voters],
            missing=missing,
            stakes=stakes,
            reward_pool=ledger.pool,
            attestations=[plan.attestations[v] for v in voters],
            pending_round=self.pending,
            global_model_hash=self.global_hash,
            top_ups=plan.top_ups,
        )
        mirror = settle_round(record, rules)
        got = result.settlement
        task = driver.task
        context = f"round {r} of task {task.address}: {record} {rules}"
        assert [p.proposer for p in result.proposals] == plan.proposed, context
        assert all(result.roles[a] == Role.VOTER for a in plan.ballots), context
        assert got.outcome == mirror.outcome, context
        assert got.accepted_mask == mirror.accepted_mask, context
        assert got.slashes == mirror.slashes, context
        assert got.rewards == mirror.rewards, context
        assert (got.credited, got.slashed) == (mirror.credited, mirror.slashed), context
        wrong = [a for a, why, _ in got.slashes if why == SlashReason.WRONG_ATTESTATION]
        assert sorted(wrong) == sorted(mirror.deviants), context
        adopted = task.adopted_aggregate(r)
        assert (adopted.model_hash if adopted else None) == mirror.adopted, context
        assert (task.voided_aggregate(r) is not None) == mirror.base_void, context
        assert task.pending_aggregate_round() == mirror.pending_after, context
        if mirror.adopted is not None:
            self.global_hash, self.model_round = mirror.adopted, self.pending
        self.pending = mirror.pending_after
        assert task.global_model() == (self.global_hash, self.model_round), context

        ledger.stakes = mirror.stakes
        ledger.pool = mirror.reward_pool
        for who, amount in mirror.rewards:
            ledger.claimable[who] += amount
        pool = int(driver.task.contract.functions.rewardPool().call())
        assert pool == ledger.pool, context
        features = [
            mirror.outcome.name + ("/wash" if mirror.wash else ""),
            f"rule={rules.reward_rule.name}" if mirror.rewards else "",
            "outliers" if mirror.outliers else "",
            "missing" if missing else "",
            "rejected"
            if any(r == SlashReason.REJECTED_PROPOSAL for _, r, _ in got.slashes)
            else "",
            "unavailable"
            if any(r == SlashReason.UNAVAILABLE_PROPOSAL for _, r, _ in got.slashes)
            else "",
            "wrong-attestation" if mirror.deviants else "",
            "base-void" if mirror.base_void else "",
            "adopted" if mirror.adopted else "",
            "poison-adopted"
            if mirror.adopted and mirror.adopted != stand_in_aggregate(record.pending_round)
            else "",
            "top-up/STAKE"
            if plan.top_ups and mirror.accepted_mask and rules.reward_rule == RewardRule.STAKE
            else "",
            "closing" if r > params.rounds else "",
        ]
        for key in filter(None, features):
            self.outcomes[key] = self.outcomes.get(key, 0) + 1

    @staticmethod
    def _check_accounts(task: TaskClient, ledger: Ledger) -> None:
        """The mirror's running ledger equals the contract's views after the task's rounds."""
        for who, stake in ledger.stakes.items():
            assert task.account_of(who) == (stake, ledger.claimable[who]), who
        totals = task.totals()
        assert totals["reward_pool"] == ledger.pool
        assert totals["total_staked"] == sum(ledger.stakes.values())
        assert totals["total_claimable"] == sum(ledger.claimable.values())
        assert totals["balance"] == (
            totals["reward_pool"] + totals["total_staked"] + totals["total_claimable"]
        )


def _summary(outcomes: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in outcomes)


@pytest.mark.slow
def test_mirror_settles_random_rounds_exactly_as_the_contract() -> None:
    # Prepare
    game = Game(np.random.default_rng(SEED))

    # Execute and Assert (per round, inside play_round)
    while game.rounds_played < ROUNDS:
        game.play_task(ROUNDS - game.rounds_played)

    # Assert: the random rounds reached every kind of ending
    print(f"mirror: {game.rounds_played} rounds, {_summary(sorted(game.outcomes.items()))}")
    # (a task's closing round may take the count one past the budget)
    assert ROUNDS <= game.rounds_played <= ROUNDS + 1
    if ROUNDS >= 100:
        assert {
            "SETTLED",
            "VOID",
            "VOID/wash",
            "EMPTY",
            "rule=STAKE",
            "rule=GEOMETRIC",
            "rule=SOFTMAX",
            "outliers",
            "missing",
            "rejected",
            "unavailable",
            "wrong-attestation",
            "base-void",
            "adopted",
            "poison-adopted",
            "top-up/STAKE",
            "closing",
        } <= set(game.outcomes)
