"""Python mirror of AllianceTask.settle: the same integer arithmetic, in the same order.

Given one round's record (proposers, revealed ballots, missing voters, stakes, the pool) and
the task's rules, :func:`settle_round` returns what the contract does: the outcome, the
accepted mask, every slash and credit in event order, the outlier voters and whether the round
was a wash. Every division is Solidity's floor division on non-negative integers, applied to
the same operands in the same order, so the results are equal to the wei.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flock.protocol.commitments import MAX_SCORE, UNAVAILABLE
from flock.protocol.consensus import (
    BaseConsensus,
    band_width,
    consensus_statistics,
    integer_median,
    paired_ballots,
    passes,
)
from flock.protocol.reward_math import geometric_weight, softmax_weight
from flock.protocol.types import Outcome, RewardRule, SlashReason, TaskParams


@dataclass(frozen=True)
class SettlementRules:
    """The TaskConfig fields settlement reads.

    Parameters
    ----------
    rounds : int
        Rounds of the task (the round's pool share is pool / (rounds - round + 1)).
    min_voters : int
        Fewer revealed voters than this voids the round.
    slash_bps, tolerance_bps, peer_tolerance_bps, mad_multiplier_x100, min_deviation_bps,
    wash_mad_bps, voter_share_bps, softmax_temperature_bps, base_band_bps,
    accept_tolerance_bps, accept_peer_tolerance_bps : int
        As in the contract's TaskConfig.
    reward_rule : RewardRule
        How accepted proposers share their budget.
    """

    rounds: int
    min_voters: int
    slash_bps: int
    tolerance_bps: int
    peer_tolerance_bps: int
    mad_multiplier_x100: int
    min_deviation_bps: int
    wash_mad_bps: int
    voter_share_bps: int
    reward_rule: RewardRule
    softmax_temperature_bps: int
    base_band_bps: int
    accept_tolerance_bps: int
    accept_peer_tolerance_bps: int

    def __post_init__(self) -> None:
        # TaskConfigCheck: an accept band wider than the slash band is no task
        for accept, outer in (
            (self.accept_tolerance_bps, self.tolerance_bps),
            (self.accept_peer_tolerance_bps, self.peer_tolerance_bps),
        ):
            if not 0 <= accept <= outer:
                raise ValueError(
                    f"an accept tolerance ({accept}) must lie in 0..its tolerance ({outer})"
                )

    @classmethod
    def from_params(cls, params: TaskParams) -> SettlementRules:
        """The settlement rules of a task's full configuration."""
        return cls(
            rounds=params.rounds,
            min_voters=params.min_voters,
            slash_bps=params.slash_bps,
            tolerance_bps=params.tolerance_bps,
            peer_tolerance_bps=params.peer_tolerance_bps,
            mad_multiplier_x100=params.mad_multiplier_x100,
            min_deviation_bps=params.min_deviation_bps,
            wash_mad_bps=params.wash_mad_bps,
            voter_share_bps=params.voter_share_bps,
            reward_rule=RewardRule(params.reward_rule),
            softmax_temperature_bps=params.softmax_temperature_bps,
            base_band_bps=params.base_band_bps,
            accept_tolerance_bps=params.accept_tolerance_bps,
            accept_peer_tolerance_bps=params.accept_peer_tolerance_bps,
        )


@dataclass(frozen=True)
class RoundRecord:
    """What the settler knows about one round (the contract's SettleInput, decoded).

    Parameters
    ----------
    round : int
        The round being settled.
    proposers : sequence of str
        Proposers in proposal index order.
    voters : sequence of str
        Voters who revealed, in the settle input's order (ascending by address).
    scores : sequence of sequence of int
        Per revealed voter, its scores: the baseline (current global model) first, then each
        proposal in index order.
    missing : sequence of str
        Voters who committed and did not reveal, ascending by address.
    stakes : mapping of str to int
        Stake of every proposer and voter (revealed or missing) before settlement.
    reward_pool : int
        The task's reward pool before settlement.
    attestations : sequence of bytes
        Per revealed voter, the base-model hash it attested (empty: every voter attested
        `global_model_hash`, as when no aggregate is pending).
    pending_round : int
        The round whose aggregate awaits attestation (0: none).
    global_model_hash : bytes
        The adopted global model before settlement.
    top_ups : mapping of str to int
        Stake each proposer added while this round was open (excluded from stake weights).
    """

    round: int
    proposers: Sequence[str]
    voters: Sequence[str]
    scores: Sequence[Sequence[int]]
    missing: Sequence[str]
    stakes: Mapping[str, int]
    reward_pool: int
    attestations: Sequence[bytes] = ()
    pending_round: int = 0
    global_model_hash: bytes = bytes(32)
    top_ups: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SettlementResult:
    """What settling a round does, as the contract's events and views report it.

    Attributes
    ----------
    outcome : Outcome
        SETTLED, VOID (too few reveals, or a wash) or EMPTY (no proposals).
    accepted_mask : int
        Bit i set when proposal i was accepted.
    wash : bool
        Whether the round was voided as a wash (subset of VOID).
    medians, mads : tuple of int
        Per proposal the median and MAD of the voters' paired differences (score minus the
        voter's own base-model score, plus MAX_SCORE; empty unless scored).
    outliers : tuple of str
        Revealed voters outside the consensus band on most items, or on their own base-model
        score (slashed).
    slashes : tuple of (str, SlashReason, int)
        Every `Slashed` event in emission order.
    rewards : tuple of (str, int)
        Every non-zero credit of the `RewardsCredited` events, in emission order.
    credited, slashed : int
        Totals of the `RoundSettled` event.
    stakes : dict of str to int
        Stakes after settlement (the record's stakes minus the slashes).
    reward_pool : int
        The reward pool after settlement.
    adopted : bytes or None
        The aggregate hash adopted as the global model (None: none adopted).
    base_void : bool
        The pending aggregate found no strict majority and is void (the round is VOID).
    deviants : tuple of str
        Revealed voters who attested another hash than the adopted one (slashed).
    pending_after : int
        The round whose aggregate is pending after settlement (0: none).
    """

    outcome: Outcome
    accepted_mask: int
    wash: bool
    medians: tuple[int, ...]
    mads: tuple[int, ...]
    outliers: tuple[str, ...]
    slashes: tuple[tuple[str, SlashReason, int], ...]
    rewards: tuple[tuple[str, int], ...]
    credited: int
    slashed: int
    stakes: dict[str, int]
    reward_pool: int
    adopted: bytes | None = None
    base_void: bool = False
    deviants: tuple[str, ...] = ()
    pending_after: int = 0


@dataclass
class _Ledger:
    """Mutable state of one settlement: stakes, pool, the events so far."""

    stakes: dict[str, int]
    pool: int
    slash_bps: int
    slashes: list[tuple[str, SlashReason, int]]
    rewards: list[tuple[str, int]]

    def slash(self, who: str, reason: SlashReason) -> int:
        amount = (self.stakes[who] * self.slash_bps) // MAX_SCORE
        self.stakes[who] -= amount
        self.pool += amount
        self.slashes.append((who, reason, amount))
        return amount

    def credit(self, accounts: Sequence[str], weights: Sequence[int], budget: int) -> int:
        """AllianceTask._credit: budget * weight / total each; the dust stays in the pool."""
        total = sum(weights)
        if total == 0 or budget == 0:
            return 0
        credited = 0
        for who, weight in zip(accounts, weights, strict=True):
            if weight == 0:
                continue
            amount = (budget * weight) // total
            if amount == 0:
                continue
            self.rewards.append((who, amount))
            credited += amount
        return credited


def voter_weights(
    scores: Sequence[Sequence[int]],
    medians: Sequence[int],
    mads: Sequence[int],
    rules: SettlementRules,
    base: BaseConsensus | None = None,
) -> list[int]:
    """Band.voterWeights over the paired differences: 0 for a voter outside
    median +- max(k * MAD, min_deviation_bps) on most proposals, or (given `base`) whose own
    score of the base model lies further than max(k * base MAD, base_band_bps) from the voters'
    median base score; else proposals * 2 * MAX_SCORE - (sum of its absolute deviations) + 1."""
    items = len(medians)
    k = rules.mad_multiplier_x100
    bands = [band_width(mad, k, rules.min_deviation_bps) for mad in mads]
    base_band = band_width(base.mad, k, rules.base_band_bps) if base is not None else 0
    weights = []
    for v, ballot in enumerate(scores):
        deviations = [abs(ballot[i] - medians[i]) for i in range(items)]
        disagreements = sum(d > band for d, band in zip(deviations, bands, strict=True))
        outlier = 2 * disagreements > items
        if base is not None and abs(base.scores[v] - base.median) > base_band:
            outlier = True
        weights.append(0 if outlier else items * 2 * MAX_SCORE - sum(deviations) + 1)
    return weights


def is_wash(mads: Sequence[int], outliers: int, voters: int, wash_mad_bps: int) -> bool:
    """Band.isWash: most voters are outliers, or most items' MAD exceeds the limit."""
    dispersed = sum(mad > wash_mad_bps for mad in mads)
    return 2 * outliers > voters or 2 * dispersed > len(mads)


def proposer_weights(
    medians: Sequence[int], accepted_mask: int, stakes: Sequence[int], rules: SettlementRules
) -> list[int]:
    """AllianceTask._creditProposers' weights (0 for rejected proposers).

    Parameters
    ----------
    medians : sequence of int
        Per proposal the median paired difference (shifted by MAX_SCORE).
    stakes : sequence of int
        Each proposer's stake when credited (only read by the stake rule).
    """
    n = len(medians)
    accepted = [bool(accepted_mask >> p & 1) for p in range(n)]
    best = max([medians[p] for p in range(n) if accepted[p]], default=0)
    weights = [0] * n
    for p in range(n):
        if not accepted[p]:
            continue
        score = medians[p]
        if rules.reward_rule == RewardRule.STAKE:
            weights[p] = stakes[p]
        elif rules.reward_rule == RewardRule.GEOMETRIC:
            rank = sum(
                1
                for q in range(n)
                if q != p
                and accepted[q]
                and (medians[q] > score or (medians[q] == score and q < p))
            )
            weights[p] = geometric_weight(rank)
        else:
            weights[p] = softmax_weight(score, best, rules.softmax_temperature_bps)
    return weights


def majority(values: Sequence[bytes]) -> tuple[bytes, int]:
    """AllianceTask._majority: the Boyer-Moore candidate (the only value that can hold a strict
    majority) and its count."""
    candidate, lead = b"", 0
    for value in values:
        if lead == 0:
            candidate, lead = value, 1
        elif value == candidate:
            lead += 1
        else:
            lead -= 1
    return candidate, sum(value == candidate for value in values)


def settle_round(record: RoundRecord, rules: SettlementRules) -> SettlementResult:
    """Settle one round exactly as AllianceTask.settle does (after its input checks).

    Parameters
    ----------
    record : RoundRecord
        The round's proposers, revealed ballots and attestations, missing voters, stakes,
        reward pool and the pending aggregate.
    rules : SettlementRules
        The task's settlement configuration.

    Returns
    -------
    SettlementResult
        Outcome, accepted mask, slashes and credits in event order, the adopted aggregate and
        the state after.

    Raises
    ------
    ValueError
        If a ballot has the wrong length or a score is outside [0, MAX_SCORE] and not the
        UNAVAILABLE mark (the contract refuses such a reveal), or a stake is unknown.
    """
    items = len(record.proposers) + 1
    if len(record.scores) != len(record.voters):
        raise ValueError("one ballot per revealed voter is needed")
    attestations = list(record.attestations) or [record.global_model_hash] * len(record.voters)
    if len(attestations) != len(record.voters):
        raise ValueError("one attestation per revealed voter is needed")
    unknown = {*record.proposers, *record.voters, *record.missing} - set(record.stakes)
    if unknown:
        raise ValueError(f"stakes unknown for {sorted(unknown)}")
    for ballot in record.scores:
        if len(ballot) != items or any(
            not (0 <= s <= MAX_SCORE or s == UNAVAILABLE) for s in ballot
        ):
            raise ValueError(f"a ballot needs {items} scores in [0, {MAX_SCORE}] or {UNAVAILABLE}")
    raw_scores = [list(b) for b in record.scores]
    scores = [[0 if s == UNAVAILABLE else s for s in b] for b in raw_scores]
    ledger = _Ledger(
        stakes=dict(record.stakes),
        pool=record.reward_pool,
        slash_bps=rules.slash_bps,
        slashes=[],
        rewards=[],
    )
    pool_share = (
        record.reward_pool // (rules.rounds - record.round + 1)
        if record.round <= rules.rounds
        else 0
    )
    slashed = sum(ledger.slash(v, SlashReason.MISSING_VOTE_REVEAL) for v in record.missing)
    reveals = len(record.voters)
    quorum = reveals > 0 and reveals >= rules.min_voters
    adopted: bytes | None = None
    base_void = False
    deviants: set[int] = set()
    if quorum:
        expected = record.global_model_hash
        if record.pending_round:
            winner, votes = majority(attestations)
            if winner == bytes(32) or 2 * votes <= reveals:
                base_void = True
            else:
                expected = adopted = winner
        if not base_void:
            for v, voter in enumerate(record.voters):
                if attestations[v] != expected:
                    deviants.add(v)
                    slashed += ledger.slash(voter, SlashReason.WRONG_ATTESTATION)
    outcome, mask, wash, credited = Outcome.VOID, 0, False, 0
    medians: tuple[int, ...] = ()
    mads: tuple[int, ...] = ()
    outliers: tuple[str, ...] = ()
    if base_void or (record.proposers and not quorum):
        outcome = Outcome.VOID
    elif not record.proposers:
        outcome = Outcome.EMPTY
    else:
        paired = paired_ballots(raw_scores)
        med, mad = consensus_statistics(paired, items - 1)
        weights = voter_weights(paired, med, mad, rules, BaseConsensus.of(scores))
        outliers = tuple(v for v, w in zip(record.voters, weights, strict=True) if w == 0)
        medians, mads = tuple(med), tuple(mad)
        wash = is_wash(mad, len(outliers), reveals, rules.wash_mad_bps)
        if not wash:
            outcome = Outcome.SETTLED
            mask, judged = _judge(record, raw_scores, scores, med, weights, deviants, rules, ledger)
            slashed += judged
            weights = [0 if v in deviants else w for v, w in enumerate(weights)]
            credited = _distribute(record, med, weights, mask, pool_share + slashed, rules, ledger)
            ledger.pool -= credited
    if mask:
        pending_after = record.round
    elif quorum:
        pending_after = 0
    else:
        pending_after = record.pending_round
    return SettlementResult(
        outcome=outcome,
        accepted_mask=mask,
        wash=wash,
        medians=medians,
        mads=mads,
        outliers=outliers,
        slashes=tuple(ledger.slashes),
        rewards=tuple(ledger.rewards),
        credited=credited,
        slashed=slashed,
        stakes=ledger.stakes,
        reward_pool=ledger.pool,
        adopted=adopted,
        base_void=base_void,
        deviants=tuple(record.voters[v] for v in sorted(deviants)),
        pending_after=pending_after,
    )


def _judge(
    record: RoundRecord,
    raw_scores: Sequence[Sequence[int]],
    scores: Sequence[Sequence[int]],
    medians: Sequence[int],
    weights: Sequence[int],
    deviants: set[int],
    rules: SettlementRules,
    ledger: _Ledger,
) -> tuple[int, int]:
    """AllianceTask._judge on the paired medians, three ways: accept a proposal that
    :func:`passes` the accept tolerances; decline (neither credit nor slash) one that passes
    only the wider tolerances; slash the rest (reason UNAVAILABLE_PROPOSAL when most voters
    could not fetch the blob), and the outliers that were not slashed for their attestation
    already."""
    peer = integer_median(medians)
    voters = len(scores)
    accept = (rules.accept_tolerance_bps, rules.accept_peer_tolerance_bps)
    tolerances = (rules.tolerance_bps, rules.peer_tolerance_bps)
    mask, slashed = 0, 0
    for p, proposer in enumerate(record.proposers):
        score = medians[p]
        refused = 2 * sum(ballot[p + 1] == 0 for ballot in scores) > voters
        if passes(score, refused, peer, *accept):
            mask |= 1 << p
        elif not passes(score, refused, peer, *tolerances):
            marks = sum(ballot[p + 1] == UNAVAILABLE for ballot in raw_scores)
            unavailable = refused and 2 * marks > len(raw_scores)
            reason = SlashReason.REJECTED_PROPOSAL
            if unavailable:
                reason = SlashReason.UNAVAILABLE_PROPOSAL
            slashed += ledger.slash(proposer, reason)
    for v, (voter, weight) in enumerate(zip(record.voters, weights, strict=True)):
        if weight == 0 and v not in deviants:
            slashed += ledger.slash(voter, SlashReason.VOTE_OUTSIDE_CONSENSUS)
    return mask, slashed


def _distribute(
    record: RoundRecord,
    medians: Sequence[int],
    weights: Sequence[int],
    mask: int,
    budget: int,
    rules: SettlementRules,
    ledger: _Ledger,
) -> int:
    """AllianceTask._distribute: the voters' share by agreement, the rest by the reward rule
    (stake weights as of the round's opening: top-ups during the round excluded)."""
    voter_budget = (budget * rules.voter_share_bps) // MAX_SCORE
    credited = 0
    if mask:
        stakes = [max(ledger.stakes[p] - record.top_ups.get(p, 0), 0) for p in record.proposers]
        p_weights = proposer_weights(medians, mask, stakes, rules)
        credited = ledger.credit(record.proposers, p_weights, budget - voter_budget)
    return credited + ledger.credit(record.voters, weights, voter_budget)
