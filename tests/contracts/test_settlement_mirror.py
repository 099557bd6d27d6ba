"""Differential test: flock.settlement settles random rounds exactly as the contract does.

Random tasks (every settlement knob drawn within its valid range, random stakes and pools)
play random rounds on the in-process EVM: random score matrices with honest noise, outlier
and adversarial voters and washes, proposers who stay silent, voters who never commit or
commit and never reveal. After each settlement the mirror's outcome, accepted mask, slashes,
credits and totals must equal the contract's events, and the mirror's running ledger (stakes,
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
from conftest import BASE_PARAMS, TOKEN
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
from flock.contracts.commitments import MAX_SCORE
from flock.contracts.deploy import deploy_factory, deploy_token
from flock.contracts.types import Proposal
from flock.participant import ChainParticipant
from flock.roles.assignment import assign_roles
from flock.rounds import RoundDriver
from flock.settlement import RoundRecord, SettlementRules, settle_round

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
    return replace(
        BASE_PARAMS,
        min_stake=int(rng.integers(1, 5 * TOKEN)),
        max_participants=participants,
        proposers_per_round=int(rng.integers(1, 4)),
        max_voters=max_voters,
        min_voters=int(rng.integers(0, min(max_voters, 3) + 1)),
        rounds=int(rng.integers(4, 11)),
        slash_bps=_bps(rng, 5000),
        tolerance_bps=_bps(rng, 3000),
        peer_tolerance_bps=_bps(rng, 3000),
        mad_multiplier_x100=int(rng.choice([0, rng.integers(0, 1001), 65535])),
        min_deviation_bps=_bps(rng, 3000),
        wash_mad_bps=_bps(rng, 4000),
        voter_share_bps=_bps(rng, MAX_SCORE),
        reward_rule=RewardRule(int(rng.integers(0, 3))),
        softmax_temperature_bps=int(rng.choice([1, rng.integers(1, 3001), 65535])),
    )


@dataclass
class RoundPlan:
    """The random behaviour of one round, drawn lazily as the driver asks for it."""

    rng: np.random.Generator
    proposed: list[str] = field(default_factory=list)
    ballots: dict[str, list[int]] = field(default_factory=dict)
    truth: list[float] | None = None
    noise: float = 0.0
    chaos: float = 0.0

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
        return [int(v) for v in np.clip(np.rint(values), 0, MAX_SCORE)]


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
            self._ensure_seed(round_),
            proposers_per_round=params.proposers_per_round,
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
        driver.start()
        for r in range(1, min(params.rounds, budget) + 1):
            self.play_round(driver, r, params, rules, ledger)
            self.rounds_played += 1
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

        def propose(p: ChainParticipant, round_: int) -> tuple[bytes, int, str] | None:
            if p.address not in eligible or rng.random() < skip_propose:
                return None
            plan.proposed.append(p.address)
            return rng.bytes(32), int(rng.integers(1, 1000)), "mem://x"

        def score(p: ChainParticipant, round_: int, proposals: list[Proposal]) -> list[int] | None:
            if p.address not in eligible or rng.random() < skip_vote:
                return None
            plan.ballots[p.address] = plan.ballot(len(proposals) + 1)
            return plan.ballots[p.address]

        revealed: set[str] = set()

        def reveal(p: ChainParticipant, round_: int) -> bool:
            if rng.random() < skip_reveal:
                return False
            revealed.add(p.address)
            return True

        result = driver.play_round(r, propose, score, reveal)

        voters = sorted(revealed, key=lambda a: int(a, 16))
        missing = sorted(set(plan.ballots) - revealed, key=lambda a: int(a, 16))
        record = RoundRecord(
            round=r,
            proposers=plan.proposed,
            voters=voters,
            scores=[plan.ballots[v] for v in voters],
            missing=missing,
            stakes=ledger.stakes,
            reward_pool=ledger.pool,
        )
        mirror = settle_round(record, rules)
        got = result.settlement
        context = f"round {r} of task {driver.task.address}: {record} {rules}"
        assert [p.proposer for p in result.proposals] == plan.proposed, context
        assert all(result.roles[a] == Role.VOTER for a in plan.ballots), context
        assert got.outcome == mirror.outcome, context
        assert got.accepted_mask == mirror.accepted_mask, context
        assert got.slashes == mirror.slashes, context
        assert got.rewards == mirror.rewards, context
        assert (got.credited, got.slashed) == (mirror.credited, mirror.slashed), context

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
    assert game.rounds_played == ROUNDS
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
        } <= set(game.outcomes)
