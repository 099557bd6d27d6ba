"""The FLock paper's settlement rule (Dong et al., arXiv 2211.04344), as a second rule of flock.

Each voter scores the *whole aggregate* of the round's proposals on its private test split and
votes +1 (the aggregate is at least as good as the current global model, within a tolerance) or
-1. The round is accepted when the votes sum to >= 0: the aggregate becomes the next global
model and every proposer is rewarded; otherwise the aggregate is discarded and every proposer is
slashed. Voters are rewarded when their vote matched the outcome and slashed when it did not; a
voter who does not vote is slashed as well. Slashes are a fixed gamma (8 from a starting stake of
64 in the paper's setting); a participant whose stake reaches 0 is removed from the task.

Only flock's own per-proposer consensus rule (:mod:`flock.protocol.settlement`) is implemented
by the contract (`AllianceTask.settle`); this rule exists in Python only, so that the defence
benchmark (`benchmarks/defence.py`) can compare the two rules on the same splits, seeds, role
draws and training. Amounts are integers (wei) and the reward split uses the contract's floor
division, so the two rules share their units and their budget: the round's share of the pool
(pool / rounds left) plus the round's slashes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from flock.protocol.commitments import MAX_SCORE

#: A vote for the round's aggregate.
ACCEPT, REJECT = 1, -1


class PaperSlashReason(IntEnum):
    """Why the paper's rule slashed a participant."""

    REJECTED_ROUND = 0
    VOTE_AGAINST_OUTCOME = 1
    NO_VOTE = 2


@dataclass(frozen=True)
class PaperRules:
    """The knobs of the paper's rule.

    Parameters
    ----------
    rounds : int
        Rounds of the task (the round's budget is pool / (rounds - round + 1) plus its slashes).
    gamma : int
        Fixed slash per offence (wei); a stake below gamma is slashed to 0.
    tolerance_bps : int
        A voter votes +1 when the aggregate's score is at least the global model's minus this.
    voter_share_bps : int
        Share of the round's budget that goes to the voters who matched the outcome.
    """

    rounds: int
    gamma: int
    tolerance_bps: int
    voter_share_bps: int

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.gamma < 0 or self.tolerance_bps < 0:
            raise ValueError("need rounds >= 1, gamma >= 0 and tolerance_bps >= 0")
        if not 0 <= self.voter_share_bps <= MAX_SCORE:
            raise ValueError(f"voter_share_bps must be in [0, {MAX_SCORE}]")


def honest_vote(aggregate_score: int, baseline_score: int, tolerance_bps: int) -> int:
    """+1 when the aggregate scores at least the current global model minus the tolerance."""
    return ACCEPT if aggregate_score + tolerance_bps >= baseline_score else REJECT


@dataclass(frozen=True)
class PaperRound:
    """What settling one round under the paper's rule needs.

    Parameters
    ----------
    round : int
        The round being settled (1-based).
    proposers : sequence of str
        The round's proposers (every one of them is in the aggregate).
    votes : mapping of str to int
        Per voter who voted, its vote (+1 or -1).
    missing : sequence of str
        Voters of the round who did not vote.
    stakes : mapping of str to int
        Stake of every proposer and voter before settlement.
    reward_pool : int
        The task's reward pool before settlement.
    """

    round: int
    proposers: Sequence[str]
    votes: Mapping[str, int]
    missing: Sequence[str]
    stakes: Mapping[str, int]
    reward_pool: int


@dataclass(frozen=True)
class PaperResult:
    """What settling a round under the paper's rule does.

    Attributes
    ----------
    accepted : bool
        Whether the aggregate of all proposals becomes the next global model.
    tally : int
        Sum of the votes.
    slashes : tuple of (str, PaperSlashReason, int)
        Every slash, in order (proposers first, then voters).
    rewards : tuple of (str, int)
        Every non-zero credit.
    removed : tuple of str
        Participants whose stake reached 0 in this round (they leave the task).
    stakes : dict of str to int
        Stakes after settlement.
    reward_pool : int
        The reward pool after settlement.
    """

    accepted: bool
    tally: int
    slashes: tuple[tuple[str, PaperSlashReason, int], ...]
    rewards: tuple[tuple[str, int], ...]
    removed: tuple[str, ...]
    stakes: dict[str, int]
    reward_pool: int


def settle_paper_round(record: PaperRound, rules: PaperRules) -> PaperResult:
    """Settle one round under the FLock paper's rule.

    Parameters
    ----------
    record : PaperRound
        The round's proposers, votes, missing voters, stakes and reward pool.
    rules : PaperRules
        Slash size, vote tolerance and reward split.

    Returns
    -------
    PaperResult
        Acceptance, slashes, credits, removals and the state after.

    Raises
    ------
    ValueError
        If a vote is not +1 or -1, a voter both voted and is missing, or a stake is unknown.
    """
    if any(v not in (ACCEPT, REJECT) for v in record.votes.values()):
        raise ValueError("votes must be +1 or -1")
    if set(record.votes) & set(record.missing):
        raise ValueError("a voter cannot both vote and be missing")
    unknown = {*record.proposers, *record.votes, *record.missing} - set(record.stakes)
    if unknown:
        raise ValueError(f"stakes unknown for {sorted(unknown)}")
    stakes = dict(record.stakes)
    pool = record.reward_pool
    slashes: list[tuple[str, PaperSlashReason, int]] = []

    def slash(who: str, reason: PaperSlashReason) -> int:
        amount = min(rules.gamma, stakes[who])
        stakes[who] -= amount
        slashes.append((who, reason, amount))
        return amount

    tally = sum(record.votes.values())
    accepted = bool(record.proposers) and tally >= 0
    slashed = 0
    if record.proposers and not accepted:
        slashed += sum(slash(p, PaperSlashReason.REJECTED_ROUND) for p in record.proposers)
    outcome = ACCEPT if accepted else REJECT
    matching = [v for v, vote in record.votes.items() if vote == outcome]
    for voter, vote in record.votes.items():
        if vote != outcome:
            slashed += slash(voter, PaperSlashReason.VOTE_AGAINST_OUTCOME)
    slashed += sum(slash(v, PaperSlashReason.NO_VOTE) for v in record.missing)
    pool += slashed

    budget = record.reward_pool // (rules.rounds - record.round + 1) + slashed
    voter_budget = (budget * rules.voter_share_bps) // MAX_SCORE
    rewards: list[tuple[str, int]] = []
    if accepted:
        rewards += _equal_shares(record.proposers, budget - voter_budget)
    rewards += _equal_shares(matching, voter_budget)
    pool -= sum(amount for _, amount in rewards)
    removed = tuple(dict.fromkeys(who for who, _, _ in slashes if stakes[who] == 0))
    return PaperResult(
        accepted=accepted,
        tally=tally,
        slashes=tuple(slashes),
        rewards=tuple(rewards),
        removed=removed,
        stakes=stakes,
        reward_pool=pool,
    )


def _equal_shares(accounts: Sequence[str], budget: int) -> list[tuple[str, int]]:
    """budget // len(accounts) each (the dust stays in the pool); nothing for nobody."""
    if not accounts or budget <= 0:
        return []
    share = budget // len(accounts)
    return [(who, share) for who in accounts] if share else []
