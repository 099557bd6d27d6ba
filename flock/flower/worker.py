"""The participant worker: one participant's side of the protocol behind every Flower route.

A worker holds what must be loaded once (key, chain client, private data, model factory) and
answers the coordinator's requests with plain dictionaries. Flower routes only carry those
dictionaries: the per-message ClientApp of the SuperLink deployment, the long-lived gRPC client
and the simulation engine all call :meth:`ParticipantWorker.handle`, so a route can be swapped
without touching the participant's logic. State that must outlive a process (randomness
secrets, vote salts) is kept on disk in the node's state directory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf

from flock.contracts import Role, Signer
from flock.contracts.errors import ERRORS
from flock.contracts.participant import ChainParticipant, PendingVote, check_beacon
from flock.flower.common import (
    MSG_IDENTIFY,
    MSG_JOIN,
    MSG_REVEAL_SEED,
    MSG_REVEAL_VOTE,
    MSG_SETTLE_ACCOUNT,
    MSG_TRAIN,
    MSG_VOTE,
    JsonFileMap,
    shared_alliance,
)
from flock.flower.node_settings import NodeSettings, read_key_file
from flock.protocol.commitments import random_secret

if TYPE_CHECKING:  # torch, sklearn and the roles load lazily, in the handlers that need them
    from flock.attacks import AttackPlan, ProposerBehaviour, VoterBehaviour
    from flock.roles import RoleContext
    from flock.roles.global_model import BaseModel
    from flock.store import BlobStore

log = logging.getLogger(__name__)

#: A request's or reply's values: Flower ConfigRecord / legacy config scalars.
Values = dict[str, Any]


#: Base models recomputed in this process (see :meth:`ParticipantWorker.base`).
_BASES: dict[tuple[Any, ...], BaseModel] = {}
#: Alliance files whose task this process checked against the local spec and beacon.
_CHECKED_SPECS: set[str] = set()

__all__ = ["NodeSettings", "ParticipantWorker", "RequestError", "read_key_file", "worker_for"]


class RequestError(ValueError):
    """A coordinator request this participant refuses (wrong role, bad field, unknown type)."""


def _encode_vote(v: PendingVote) -> dict[str, str]:
    return {"scores": v.scores.hex(), "salt": v.salt.hex(), "attestation": v.attestation.hex()}


def _decode_vote(d: dict[str, str]) -> PendingVote:
    return PendingVote(
        scores=bytes.fromhex(d["scores"]),
        salt=bytes.fromhex(d["salt"]),
        attestation=bytes.fromhex(d.get("attestation", "00" * 32)),
    )


def _tx(receipt: Any) -> str:
    return bytes(receipt["transactionHash"]).hex()


def _round_of(values: Values) -> int:
    value = values.get("round")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise RequestError(f"round must be a positive int, got {value!r}")
    return value


class ParticipantWorker:
    """One participant: answers coordinator requests by acting on the chain with its own key.

    The coordinator is untrusted: every request is checked against the chain (the role of the
    round, the global model's hash, the proposals' hashes), never taken on its word.
    """

    def __init__(self, settings: NodeSettings) -> None:
        self.settings = settings
        self.alliance, self.task = shared_alliance(settings.alliance_file)
        signer = Signer.from_key(settings.read_key())
        state = Path(settings.state_dir)
        state.mkdir(parents=True, exist_ok=True)
        secrets: JsonFileMap[bytes] = JsonFileMap(
            state / "seed_secrets.json", lambda b: b.hex(), bytes.fromhex
        )
        votes: JsonFileMap[PendingVote] = JsonFileMap(
            state / "votes.json", _encode_vote, _decode_vote
        )
        self.participant = ChainParticipant(
            signer, self.task, seed_secrets=secrets, votes=votes, new_secret=random_secret
        )
        self._role_context: tuple[RoleContext, int] | None = None
        self._handlers: dict[str, Callable[[Values], Values]] = {
            MSG_IDENTIFY: self.identify,
            MSG_JOIN: self.join,
            MSG_REVEAL_SEED: self.reveal_seed,
            MSG_TRAIN: self.train,
            MSG_VOTE: self.vote,
            MSG_REVEAL_VOTE: self.reveal,
            MSG_SETTLE_ACCOUNT: self.settle_account,
        }

    @property
    def address(self) -> str:
        """The participant's address."""
        return self.participant.address

    @property
    def partition_id(self) -> int:
        """Index of this participant's data partition."""
        return self.settings.partition_id

    def handle(self, message_type: str, values: Values) -> Values:
        """Answer one coordinator request.

        Raises
        ------
        RequestError
            For an unknown message type or a request the chain does not support.
        """
        handler = self._handlers.get(message_type)
        if handler is None:
            raise RequestError(f"unknown message type {message_type!r}")
        return handler(values)

    # ------------------------------------------------------------------ setup
    def check_spec(self) -> None:
        """Refuse a task whose on-chain spec hash is not the hash of the local training spec
        (checked once per process: its members share the alliance file and the task)."""
        from flock.spec import spec_hash_of

        if self.settings.alliance_file in _CHECKED_SPECS:
            return
        if self.task.params.spec_hash != spec_hash_of(self.alliance.cfg):
            raise RequestError(f"task {self.task.address} has another training spec than ours")
        check_beacon(self.task, self.alliance.cfg.task.get("beacon"))
        _CHECKED_SPECS.add(self.settings.alliance_file)

    @cached_property
    def store(self) -> BlobStore:
        """This participant's update store: the alliance's shared directory (`store=dir`), or
        the networked store behind its own cache directory, uploading with its own key."""
        cache = Path(self.settings.cache_dir or Path(self.settings.state_dir) / "store")
        return self.alliance.store(cache, account=self.participant.signer.account)

    def role_context(self) -> tuple[RoleContext, int]:
        """The private data partition, model factory and store (built on first use)."""
        if self._role_context is None:
            self._role_context = _build_role_context(self)
        return self._role_context

    @cached_property
    def attack_plan(self) -> AttackPlan:
        """Every participant's behaviours as the alliance config's `attack` group assigns
        them (drawn from the seed, the same in every orchestration)."""
        from flock.attacks import plan_attacks

        cfg = self.alliance.cfg
        return plan_attacks(cfg.attack, n=int(cfg.participants), seed=int(cfg.seed))

    def proposer_behaviour(self) -> ProposerBehaviour:
        """This participant's proposer behaviour: the node config's, else the attack plan's."""
        from flock.attacks import make_proposer_behaviour
        from flock.learning.data import load_dataset

        dataset = self.alliance.cfg.dataset
        if str(dataset.name) == "text":  # token ids are the text task's classes
            num_classes = int(dataset.vocab_size)
        else:
            num_classes = load_dataset(str(dataset.name)).num_classes
        named = self.settings.proposer_behaviour
        if named:
            return make_proposer_behaviour(named, num_classes=num_classes)
        return self.attack_plan.proposer_behaviour(
            self.partition_id, num_classes=num_classes, seed=self._seed()
        )

    def voter_behaviour(self) -> VoterBehaviour:
        """This participant's voter behaviour: the node config's, else the attack plan's (a
        colluding voter favours the plan's colluders: their addresses are known on dev
        alliances, whose keys derive from the seed; elsewhere list them in the params)."""
        from flock.attacks import make_voter_behaviour

        if self.settings.voter_behaviour:
            return make_voter_behaviour(self.settings.voter_behaviour)
        colluders: list[str] = []
        if self.alliance.dev_chain:
            from flock.spec import participant_signer

            cfg = self.alliance.cfg
            colluders = [participant_signer(cfg, i).address for i in self.attack_plan.colluders]
        return self.attack_plan.voter_behaviour(self.partition_id, colluders=colluders)

    def _seed(self) -> int:
        return int(self.alliance.cfg.seed) * 1000 + self.partition_id

    def _require_role(self, round_: int, expected: Role) -> None:
        role = self.task.role_of(round_, self.address)
        if role != expected:
            raise RequestError(
                f"{self.address} is {role.name}, not a {expected.name.lower()} of round {round_}"
            )

    # ------------------------------------------------------------------ handlers
    def identify(self, values: Values) -> Values:
        """This participant's address (routing only: the chain checks every action)."""
        return {"address": self.address, "partition": self.partition_id}

    def join(self, values: Values) -> Values:
        """Stake the alliance's stake and commit randomness for round 1 (secret kept on disk)."""
        self.check_spec()
        if self.task.is_participant(self.address):
            return {"address": self.address, "joined": True, "tx": ""}
        receipt = self.participant.join(self.alliance.stake_wei)
        log.info("%s joined task %s", self.address, self.task.address)
        return {"address": self.address, "joined": True, "tx": _tx(receipt)}

    def reveal_seed(self, values: Values) -> Values:
        """Reveal the randomness committed for the request's round, if this node holds it."""
        round_ = _round_of(values)
        if not self.participant.has_seed_secret(round_):
            return {"address": self.address, "revealed": False, "tx": ""}
        receipt = self.participant.reveal_seed(round_)
        return {"address": self.address, "revealed": True, "tx": _tx(receipt)}

    def base(self) -> BaseModel:
        """The current round's base model, computed here: the pending aggregate recomputed
        from the chain and verified blobs, else the model the chain adopted. Never a hash the
        coordinator names.

        A settled round's accepted set, reveals and blobs never change, so the result is kept
        per process by (task, store, pending round, adopted model): members simulated in one
        process recompute each base once, and each gets its own copy of the parameters."""
        from dataclasses import replace

        from flock.roles.global_model import base_model

        _, n_params = self.role_context()
        pending = self.task.pending_aggregate_round()
        adopted = None if pending else self.task.global_model()
        key = (
            self.task.address,
            str(getattr(self.store, "root", id(self.store))),
            pending,
            adopted,
        )
        if key not in _BASES:
            _BASES[key] = base_model(self.alliance.cfg.aggregation, self.task, self.store, n_params)
        found = _BASES[key]
        return replace(found, params=found.params.clone())

    def train(self, values: Values) -> Values:
        """As a proposer of the round (checked on chain): train the round's base model (see
        :meth:`base`), store the blob and submit its hash and base with this participant's own
        key."""
        from flock.attacks import TamperContext
        from flock.roles import Proposer, TrainingSpec

        round_ = _round_of(values)
        self._require_role(round_, Role.PROPOSER)
        ctx, n_params = self.role_context()
        base = self.base()
        claimed = str(values.get("global_hash", "") or "")
        if claimed and claimed != base.model_hash.hex():
            log.warning(
                "coordinator names base model %s, this member computed %s",
                claimed, base.model_hash.hex(),
            )  # fmt: skip
        cfg = self.alliance.cfg
        spec = TrainingSpec(**OmegaConf.to_container(cfg.training, resolve=True))  # type: ignore[arg-type]
        proposer = Proposer(ctx, spec, self.proposer_behaviour(), seed=self._seed())
        started = time.perf_counter()
        context = TamperContext(
            round=round_,
            num_proposers=int(self.task.params.proposers_per_round),
            published_source=lambda: [
                ctx.store.get(p.update_hash, expected_numel=n_params).vector
                for p in self.task.proposals(round_)
            ],
        )  # separate processes share no honest updates: cartel statistics fall back to its own
        initial_hash = self.task.params.initial_model_hash
        initial = (ctx.store.get(initial_hash, expected_numel=n_params).vector, initial_hash)
        update_hash, num_samples, uri, base_hash = proposer.prepare(
            base.params,
            round_,
            context,
            base_hash=base.model_hash,
            initial=initial,
            max_samples=self.task.params.max_samples,
        )
        compute_s = time.perf_counter() - started
        try:
            receipt = self.participant.propose(round_, update_hash, num_samples, uri, base_hash)
        except ERRORS["ProposalDuplicate"]:
            # asked again (a restarted coordinator): the chain already has this round's
            return self._existing_proposal(round_)
        log.info("%s proposed %s for round %d", self.address, update_hash.hex()[:12], round_)
        return {
            "address": self.address,
            "update_hash": update_hash.hex(),
            "num_samples": num_samples,
            "uri": uri,
            "tx": _tx(receipt),
            "compute_s": compute_s,
        }

    def vote(self, values: Values) -> Values:
        """As a voter of the round (checked on chain): read the proposals from the chain, fetch
        and verify their blobs, score them on the private test split and commit (salt on disk)."""
        from flock.learning.scoring import Scoring
        from flock.roles import ScreeningRules, Voter

        round_ = _round_of(values)
        self._require_role(round_, Role.VOTER)
        committed = {"address": self.address, "proposals": 0, "tx": "", "rejected": 0,
                     "rejected_reasons": "", "compute_s": 0.0}  # fmt: skip
        if round_ in self.participant.votes:  # asked again: committed, salt kept on disk
            return committed
        ctx, n_params = self.role_context()
        base = self.base()
        proposals = self.task.proposals(round_)
        voter = Voter(
            ctx,
            self.voter_behaviour(),
            seed=self._seed() * 100_003 + round_,
            screening=ScreeningRules.from_config(self.alliance.cfg.get("voting")),
            scoring=Scoring.from_config(self.alliance.cfg.get("scoring")),
        )
        started = time.perf_counter()
        ballot = voter.ballot(
            base.params,
            proposals,
            base_hash=base.model_hash,
            round_=round_,
            reference_norms=base.update_norms,
        )
        compute_s = time.perf_counter() - started
        try:
            receipt = self.participant.commit_vote(round_, ballot.scores, ballot.attestation)
        except ERRORS["VoteDuplicate"]:  # committed before this state directory knew it
            del self.participant.votes[round_]  # the new salt does not open that commitment
            log.warning("%s had committed in round %d already", self.address, round_)
            return committed
        log.info(
            "%s committed a vote on %d proposals in round %d", self.address, len(proposals), round_
        )
        return {
            "address": self.address,
            "proposals": len(proposals),
            "tx": _tx(receipt),
            "rejected": len(ballot.rejected_blobs),
            "rejected_reasons": "; ".join(
                f"{i}: {why}" for i, why in sorted(ballot.rejected_blobs.items())
            ),
            "compute_s": compute_s,
        }

    def reveal(self, values: Values) -> Values:
        """Reveal the vote this participant committed in the round (salt and scores from disk)."""
        round_ = _round_of(values)
        if round_ not in self.participant.votes or not self.voter_behaviour().reveals:
            return {"address": self.address, "revealed": False, "tx": ""}
        receipt = self.participant.reveal_vote(round_)
        return {"address": self.address, "revealed": True, "tx": _tx(receipt)}

    def _existing_proposal(self, round_: int) -> Values:
        (mine,) = [p for p in self.task.proposals(round_) if p.proposer == self.address]
        return {
            "address": self.address,
            "update_hash": mine.update_hash.hex(),
            "num_samples": mine.num_samples,
            "uri": mine.uri,
            "tx": "",
            "compute_s": 0.0,
        }

    def settle_account(self, values: Values) -> Values:
        """After the task ended: claim the credited rewards and withdraw the stake (pull
        payments: only this participant's own key can)."""
        stake, claimable = self.task.account_of(self.address)
        claim_tx = _tx(self.task.claim(self.participant.signer)) if claimable else ""
        withdraw_tx = _tx(self.task.withdraw(self.participant.signer)) if stake else ""
        return {
            "address": self.address,
            "stake": str(stake),
            "rewards": str(claimable),
            "balance": str(self.task.token.balance_of(self.address)),
            "claim_tx": claim_tx,
            "withdraw_tx": withdraw_tx,
        }


def _build_role_context(worker: ParticipantWorker) -> tuple[RoleContext, int]:
    import torch

    from flock.learning.models import num_params
    from flock.roles import RoleContext

    worker.check_spec()
    worker.store.check()  # an unreachable store is named here, before the first request
    cfg = worker.alliance.cfg
    threads = OmegaConf.select(cfg, "flower.torch_threads", default=cfg.torch_threads)
    torch.set_num_threads(int(threads))
    parts = _partitions(worker.settings.alliance_file)
    # the first optimizer imports torch's compiler stack (seconds): pay it before any request
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=float(cfg.training.lr))
    model = worker.alliance.make_model()
    n_params = num_params(model)
    ctx = RoleContext(
        worker.participant,
        parts[worker.partition_id],
        worker.store,
        worker.alliance.make_model,
        n_params,
        layout=getattr(model, "tensor_layout", None),
    )
    return ctx, n_params


@cache
def _partitions(alliance_file: str) -> list[Any]:
    """Every member's data partition, split once per process (the split is a function of the
    config and seed; members simulated in one process each keep only their own part)."""
    from flock.learning.alliance_data import alliance_data

    return list(alliance_data(shared_alliance(alliance_file)[0].cfg).participants)


@cache
def worker_for(settings: NodeSettings) -> ParticipantWorker:
    """The worker of `settings`, built once per process (routes that start a process per
    message rebuild it from disk each time)."""
    return ParticipantWorker(settings)
