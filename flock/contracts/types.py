"""Typed mirrors of the contracts' structs, enums and events (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from enum import IntEnum


class Role(IntEnum):
    """A participant's role in one round (AllianceTask.Role)."""

    NONE = 0
    PROPOSER = 1
    VOTER = 2
    IDLE = 3


class Outcome(IntEnum):
    """How a round ended (AllianceTask.Outcome)."""

    PENDING = 0
    SETTLED = 1
    VOID = 2
    EMPTY = 3


class RewardRule(IntEnum):
    """How accepted proposers share a round's budget (AllianceTask.RewardRule)."""

    STAKE = 0
    GEOMETRIC = 1
    SOFTMAX = 2


class SlashReason(IntEnum):
    """Why stake was slashed (the `reason` of the Slashed event)."""

    MISSING_VOTE_REVEAL = 1
    REJECTED_PROPOSAL = 2
    VOTE_OUTSIDE_CONSENSUS = 3
    MISSING_SEED_REVEAL = 4


@dataclass(frozen=True)
class TaskParams:
    """AllianceTask.TaskConfig, field for field (amounts in token wei, periods in seconds)."""

    min_stake: int
    proposers_per_round: int
    max_voters: int
    propose_period: int
    commit_period: int
    reveal_period: int
    spec_hash: bytes
    initial_model_hash: bytes
    max_participants: int
    min_voters: int
    rounds: int
    enrol_period: int
    slash_bps: int
    tolerance_bps: int
    peer_tolerance_bps: int
    mad_multiplier_x100: int
    min_deviation_bps: int
    wash_mad_bps: int
    voter_share_bps: int
    reward_rule: RewardRule
    softmax_temperature_bps: int

    def as_tuple(self) -> tuple:
        """ABI tuple for the contract call."""
        return tuple(int(v) if isinstance(v, IntEnum) else v for v in astuple(self))

    @classmethod
    def from_tuple(cls, values: tuple) -> TaskParams:
        """Build from the tuple `config()` returns."""
        fields = list(values)
        fields[19] = RewardRule(fields[19])
        return cls(*fields)


@dataclass(frozen=True)
class RoundInfo:
    """AllianceTask.RoundInfo."""

    start: int
    seed_block: int
    roster_size: int
    num_proposals: int
    num_vote_commits: int
    num_vote_reveals: int
    outcome: Outcome
    aggregate_disputed: bool
    seed_final: bool
    accepted_mask: int


@dataclass(frozen=True)
class Proposal:
    """A `Proposed` event."""

    round: int
    proposer: str
    index: int
    update_hash: bytes
    num_samples: int
    uri: str


@dataclass(frozen=True)
class VoteReveal:
    """A `VoteRevealed` event."""

    round: int
    voter: str
    scores: bytes
    salt: bytes


@dataclass(frozen=True)
class Settlement:
    """A `RoundSettled` event with the slashes and credits of the same transaction."""

    round: int
    outcome: Outcome
    accepted_mask: int
    credited: int
    slashed: int
    slashes: tuple[tuple[str, SlashReason, int], ...]
    rewards: tuple[tuple[str, int], ...]
    gas_used: int = 0

    def accepted(self, index: int) -> bool:
        """Whether proposal `index` was accepted."""
        return bool(self.accepted_mask >> index & 1)
