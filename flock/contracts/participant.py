"""A participant's side of the chain protocol: its key, its randomness secrets and vote salts."""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field

from web3.types import TxReceipt

from flock.contracts.clients import TaskClient
from flock.contracts.errors import UntrustedBeaconError
from flock.contracts.tx import Signer
from flock.protocol.commitments import (
    encode_scores,
    random_secret,
    seed_commit,
    vote_commit,
)

log = logging.getLogger(__name__)


def check_beacon(task: TaskClient, expected: str | None) -> None:
    """Refuse a task whose randomness beacon is not the one the member's config names.

    A beacon's output enters every round seed, so a member joins only a task whose beacon
    it trusts: `expected` (the config's `task.beacon`; None for a task without one).

    Raises
    ------
    UntrustedBeaconError
        When the task's beacon differs from `expected`.
    """
    actual = task.randomness_beacon()
    want = None if not expected else str(expected)
    if (actual or "").lower() != (want or "").lower():
        raise UntrustedBeaconError(
            f"task {task.address} mixes randomness from beacon {actual or 'none'}, "
            f"but this member's config names {want or 'none'} (task.beacon)"
        )


@dataclass
class PendingVote:
    """A committed, not yet revealed vote."""

    scores: bytes
    salt: bytes
    #: Hash of the round's base model as this participant recomputed it.
    attestation: bytes = bytes(32)


@dataclass
class ChainParticipant:
    """One participant: signs its own transactions and keeps the secrets its reveals need.

    `seed_secrets` and `votes` are plain mappings so they can be backed by disk (a node's
    context) rather than only by this process's memory.
    """

    signer: Signer
    task: TaskClient
    seed_secrets: MutableMapping[int, bytes] = field(default_factory=dict)
    votes: MutableMapping[int, PendingVote] = field(default_factory=dict)
    #: Source of secrets and salts: unpredictable by default; simulations may pass a seeded
    #: generator to make runs reproducible.
    new_secret: Callable[[], bytes] = random_secret

    @property
    def address(self) -> str:
        """The participant's address."""
        return self.signer.address

    def join(self, stake: int) -> TxReceipt:
        """Stake; during enrolment also commit randomness for round 1."""
        if self.task.current_round() == 0 and self.task.chain.now() < self.task.enrol_end():
            secret = self.new_secret()
            self.seed_secrets[1] = secret
            return self.task.join(self.signer, stake, 1, seed_commit(secret, self.address, 1))
        return self.task.join(self.signer, stake)

    def has_seed_secret(self, round_: int) -> bool:
        """Whether a randomness reveal for `round_` is pending."""
        return round_ in self.seed_secrets

    def reveal_seed(self, round_: int) -> TxReceipt:
        """Reveal the randomness committed for `round_`."""
        receipt = self.task.reveal_seed(self.signer, round_, self.seed_secrets[round_])
        del self.seed_secrets[round_]
        return receipt

    def propose(
        self, round_: int, update_hash: bytes, num_samples: int, uri: str, base_hash: bytes
    ) -> TxReceipt:
        """Submit an update hash, trained from the model `base_hash`, as a proposer of `round_`."""
        return self.task.propose(self.signer, round_, update_hash, num_samples, uri, base_hash)

    def commit_vote(self, round_: int, scores: Sequence[int], attestation: bytes) -> TxReceipt:
        """Commit scores (base model first, then each proposal) and the attestation (hash of
        the round's base model as recomputed here) for `round_`; the random salt is also this
        participant's randomness contribution to later rounds."""
        packed = encode_scores(scores)
        salt = self.new_secret()
        self.votes[round_] = PendingVote(scores=packed, salt=salt, attestation=attestation)
        return self.task.commit_vote(
            self.signer, round_, vote_commit(packed, attestation, salt, self.address, round_)
        )

    def reveal_vote(self, round_: int) -> TxReceipt:
        """Reveal the vote committed in `round_`."""
        vote = self.votes[round_]
        receipt = self.task.reveal_vote(
            self.signer, round_, vote.scores, vote.attestation, vote.salt
        )
        del self.votes[round_]
        return receipt
