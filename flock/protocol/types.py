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
    WRONG_ATTESTATION = 5
    UNAVAILABLE_PROPOSAL = 6


class Phase(IntEnum):
    """The window a task is in (AllianceTask.Phase, as `phase()` returns it)."""

    TASK = 0
    ENROLMENT = 1
    START = 2
    SEED_COMMIT = 3
    SEED_REVEAL = 4
    PROPOSE = 5
    VOTE_COMMIT = 6
    VOTE_REVEAL = 7
    SETTLE = 8


@dataclass(frozen=True)
class TaskParams:
    """AllianceTask.TaskConfig, field for field (amounts in token wei, periods in seconds)."""

    min_stake: int
    proposers_per_round: int
    max_voters: int
    propose_period: int
    commit_period: int
    reveal_period: int
    #: Largest sample count a proposal may claim (its aggregation weight is bounded by it).
    max_samples: int
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
    #: Floor of the band around the voters' median base-model score (MAX_SCORE: unjudged).
    base_band_bps: int
    #: Accepted within these (<= the tolerances); past them declined, past the tolerances slashed.
    accept_tolerance_bps: int
    accept_peer_tolerance_bps: int

    def as_tuple(self) -> tuple:
        """ABI tuple for the contract call."""
        return tuple(int(v) if isinstance(v, IntEnum) else v for v in astuple(self))

    @classmethod
    def from_tuple(cls, values: tuple) -> TaskParams:
        """Build from the tuple `config()` returns."""
        fields = list(values)
        fields[20] = RewardRule(fields[20])
        return cls(*fields)


@dataclass(frozen=True)
class RoundInfo:
    """AllianceTask.RoundInfo."""

    start: int
    start_block: int
    roster_size: int
    num_proposals: int
    num_vote_commits: int
    #: Set when the round settles (0 before).
    num_vote_reveals: int
    outcome: Outcome
    accepted_mask: int
    #: The round whose aggregate this round trains from (0: the initial model).
    base_round: int
    #: The closing round after the last: voters only, no propose period.
    closing: bool = False


@dataclass(frozen=True)
class AdoptedAggregate:
    """An `AggregateAdopted` event: round `round`'s aggregate became the global model when
    round `attested_in` settled, with `votes` of its `reveals` voters attesting it."""

    round: int
    model_hash: bytes
    attested_in: int
    votes: int
    reveals: int


@dataclass(frozen=True)
class Proposal:
    """A `Proposed` event."""

    round: int
    proposer: str
    index: int
    update_hash: bytes
    num_samples: int
    uri: str
    #: The model the proposer says it trained from (voters refuse another base than theirs).
    base_hash: bytes = b""


@dataclass(frozen=True)
class VoteReveal:
    """A `VoteRevealed` event."""

    round: int
    voter: str
    scores: bytes
    salt: bytes
    #: Hash of the round's base model as the voter recomputed it.
    attestation: bytes = bytes(32)


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
