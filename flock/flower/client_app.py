"""Flower ClientApp of one participant: signs its own transactions; its state lives on disk."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp
from omegaconf import OmegaConf

from flock.contracts import Role, Signer, TaskClient
from flock.contracts.commitments import random_secret
from flock.flower.common import (
    RECORD,
    AllianceFile,
    JsonFileMap,
    aggregate_from_chain,
    global_model_params,
)
from flock.participant import ChainParticipant, PendingVote

if TYPE_CHECKING:  # torch, sklearn and the roles load lazily, in the handlers that train or score
    from flock.roles import RoleContext

log = logging.getLogger(__name__)

app = ClientApp()


def read_key(node_config: dict[str, Any]) -> str:
    """The participant's private key: from the env var named by node config `key-env`, else
    from the file at `key-file`. Never logged.

    Raises
    ------
    KeyError
        When neither source is configured or the env var is unset.
    """
    env_name = str(node_config.get("key-env", "") or "")
    if env_name:
        return os.environ[env_name]
    key_file = str(node_config.get("key-file", "") or "")
    if not key_file:
        raise KeyError("node config needs key-env or key-file")
    return Path(key_file).read_text().strip()


def _encode_vote(v: PendingVote) -> dict[str, str]:
    return {"scores": v.scores.hex(), "salt": v.salt.hex()}


def _decode_vote(d: dict[str, str]) -> PendingVote:
    return PendingVote(scores=bytes.fromhex(d["scores"]), salt=bytes.fromhex(d["salt"]))


@dataclass(eq=False)
class Node:
    """Everything one participant process needs, rebuilt from node config and disk."""

    alliance: AllianceFile
    task: TaskClient
    participant: ChainParticipant
    partition_id: int
    state_dir: Path

    @property
    def address(self) -> str:
        """The participant's address."""
        return self.participant.address


@cache
def load_node(
    alliance_file: str, state_dir: str, partition_id: int, key_source: tuple[str, str]
) -> Node:
    """Build (once per process) the participant from its node config and on-disk state."""
    alliance = AllianceFile.read(alliance_file)
    _, task = alliance.connect()
    env_name, key_file = key_source
    signer = Signer.from_key(read_key({"key-env": env_name, "key-file": key_file}))
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    secrets: JsonFileMap[bytes] = JsonFileMap(
        state / "seed_secrets.json", lambda b: b.hex(), bytes.fromhex
    )
    votes: JsonFileMap[PendingVote] = JsonFileMap(state / "votes.json", _encode_vote, _decode_vote)
    participant = ChainParticipant(
        signer, task, seed_secrets=secrets, votes=votes, new_secret=random_secret
    )
    return Node(alliance, task, participant, partition_id, state)


def check_spec(node: Node) -> None:
    """Refuse a task whose on-chain spec hash is not the hash of the local training spec."""
    from flock.experiment import spec_hash_of

    if node.task.params.spec_hash != spec_hash_of(node.alliance.cfg):
        raise ValueError(f"task {node.task.address} has another training spec than ours")


def node_from(context: Context) -> Node:
    """The participant of this node (node config: alliance-file, state-dir, partition-id and
    key-file or key-env)."""
    cfg = context.node_config
    return load_node(
        str(cfg["alliance-file"]),
        str(cfg["state-dir"]),
        int(cfg["partition-id"]),
        (str(cfg.get("key-env", "") or ""), str(cfg.get("key-file", "") or "")),
    )


@cache
def role_context(node: Node) -> tuple[RoleContext, int]:
    """The participant's private data partition, model factory and store (built once)."""
    import torch

    from flock.data import holdout_split, load_dataset, make_participant_data
    from flock.models import num_params
    from flock.roles import RoleContext

    check_spec(node)
    cfg = node.alliance.cfg
    torch.set_num_threads(int(cfg.flower.torch_threads))
    dataset = load_dataset(str(cfg.dataset.name))
    pool, _ = holdout_split(
        dataset, holdout_fraction=float(cfg.holdout_fraction), seed=int(cfg.seed)
    )
    parts = make_participant_data(
        pool,
        int(cfg.participants),
        scheme=str(cfg.partition.scheme),
        alpha=float(cfg.partition.alpha),
        test_fraction=float(cfg.test_fraction),
        seed=int(cfg.seed),
    )
    n_params = num_params(node.alliance.make_model())
    ctx = RoleContext(
        node.participant,
        parts[node.partition_id],
        node.alliance.store(),
        node.alliance.make_model,
        n_params,
    )
    return ctx, n_params


def reply(message: Message, **values: Any) -> Message:
    """A reply carrying `values` in the flock ConfigRecord."""
    return Message(RecordDict({RECORD: ConfigRecord(values)}), reply_to=message)


def _round_of(message: Message) -> int:
    value = message.content[RECORD]["round"]
    if not isinstance(value, int):
        raise TypeError(f"round must be an int, got {type(value).__name__}")
    return value


def _tx(receipt: Any) -> str:
    return bytes(receipt["transactionHash"]).hex()


@app.query("identify")
def identify(message: Message, context: Context) -> Message:
    """Tell the coordinator this node's address (routing only: the chain checks every action)."""
    node = node_from(context)
    return reply(message, address=node.address, partition=node.partition_id)


@app.query("join")
def join(message: Message, context: Context) -> Message:
    """Stake the alliance's stake and commit randomness for round 1 (secret kept on disk)."""
    node = node_from(context)
    check_spec(node)
    if node.task.is_participant(node.address):
        return reply(message, address=node.address, joined=True, tx="")
    receipt = node.participant.join(node.alliance.stake_wei)
    log.info("%s joined task %s", node.address, node.task.address)
    return reply(message, address=node.address, joined=True, tx=_tx(receipt))


@app.query("reveal_seed")
def reveal_seed(message: Message, context: Context) -> Message:
    """Reveal the randomness committed for the message's round, if this node holds its secret."""
    node = node_from(context)
    round_ = _round_of(message)
    if not node.participant.has_seed_secret(round_):
        return reply(message, address=node.address, revealed=False, tx="")
    receipt = node.participant.reveal_seed(round_)
    return reply(message, address=node.address, revealed=True, tx=_tx(receipt))


@app.train()
def train(message: Message, context: Context) -> Message:
    """As a proposer of the round (checked on chain): first post the previous round's aggregate
    if the message names it and nobody has, then train the global model named on chain, store
    the blob and submit its hash with this node's own key."""
    node = node_from(context)
    round_ = _round_of(message)
    role = node.task.role_of(round_, node.address)
    if role != Role.PROPOSER:
        raise PermissionError(f"{node.address} is {role.name}, not a proposer of round {round_}")
    from flock.behaviours import make_proposer_behaviour
    from flock.data import load_dataset
    from flock.roles import Proposer, TrainingSpec

    ctx, n_params = role_context(node)
    previous = int(message.content[RECORD].get("aggregate_round", 0))  # type: ignore[arg-type]
    if previous:  # the previous round's aggregate window is this round's propose period
        ensure_aggregate(node, previous)
    digest, global_params = global_model_params(node.task, ctx.store, n_params)
    claimed = str(message.content[RECORD].get("global_hash", ""))
    if claimed and claimed != digest.hex():
        log.warning("coordinator names global model %s, chain says %s", claimed, digest.hex())
    cfg = node.alliance.cfg
    spec = TrainingSpec(**OmegaConf.to_container(cfg.training, resolve=True))  # type: ignore[arg-type]
    behaviour = make_proposer_behaviour(
        str(context.node_config.get("proposer-behaviour", "honest")),
        num_classes=load_dataset(str(cfg.dataset.name)).num_classes,
    )
    proposer = Proposer(ctx, spec, behaviour, seed=int(cfg.seed) * 1000 + node.partition_id)
    started = time.perf_counter()
    update_hash, num_samples, uri = proposer.prepare(global_params, round_)
    compute_s = time.perf_counter() - started
    receipt = node.participant.propose(round_, update_hash, num_samples, uri)
    log.info("%s proposed %s for round %d", node.address, update_hash.hex()[:12], round_)
    return reply(
        message,
        address=node.address,
        update_hash=update_hash.hex(),
        num_samples=num_samples,
        uri=uri,
        tx=_tx(receipt),
        compute_s=compute_s,
    )


@app.evaluate("vote")
def vote(message: Message, context: Context) -> Message:
    """As a voter of the round (checked on chain): read the proposals from the chain, fetch and
    verify their blobs, score them on the private test split and commit (salt kept on disk)."""
    node = node_from(context)
    round_ = _round_of(message)
    role = node.task.role_of(round_, node.address)
    if role != Role.VOTER:
        raise PermissionError(f"{node.address} is {role.name}, not a voter of round {round_}")
    from flock.behaviours import make_voter_behaviour
    from flock.roles import Voter

    ctx, n_params = role_context(node)
    _, global_params = global_model_params(node.task, ctx.store, n_params)
    proposals = node.task.proposals(round_)
    behaviour = make_voter_behaviour(str(context.node_config.get("voter-behaviour", "honest")))
    seed = int(node.alliance.cfg.seed) * 1000 + node.partition_id
    started = time.perf_counter()
    ballot = Voter(ctx, behaviour, seed=seed * 100_003 + round_).ballot(global_params, proposals)
    compute_s = time.perf_counter() - started
    receipt = node.participant.commit_vote(round_, ballot.scores)
    log.info(
        "%s committed a vote on %d proposals in round %d", node.address, len(proposals), round_
    )
    return reply(
        message,
        address=node.address,
        proposals=len(proposals),
        tx=_tx(receipt),
        rejected=len(ballot.rejected_blobs),
        compute_s=compute_s,
    )


@app.evaluate("reveal")
def reveal(message: Message, context: Context) -> Message:
    """Reveal the vote this node committed in the round (salt and scores read from disk)."""
    node = node_from(context)
    round_ = _round_of(message)
    if round_ not in node.participant.votes:
        return reply(message, address=node.address, revealed=False, tx="")
    receipt = node.participant.reveal_vote(round_)
    return reply(message, address=node.address, revealed=True, tx=_tx(receipt))


def ensure_aggregate(node: Node, round_: int) -> tuple[str, bool, str]:
    """Recompute settled `round_`'s aggregate from the chain and post its hash with this node's
    own key unless one is posted already (first poster wins; a lost race is not an error).

    Returns
    -------
    tuple of (str, bool, str)
        Recomputed aggregate hash (hex, empty when nothing was accepted), whether this node
        posted it, and the transaction hash (empty when it did not).
    """
    from flock.contracts.errors import ERRORS

    result = aggregate_from_chain(
        node.alliance.cfg.aggregation, node.task, node.alliance.store(), round_
    )
    if result is None:
        return "", False, ""
    digest, _ = result
    posted = node.task.aggregate_of(round_)
    if not any(posted):
        try:
            receipt = node.task.post_aggregate(node.participant.signer, round_, digest)
        except ERRORS["AggregateAlreadyPosted"]:
            posted = node.task.aggregate_of(round_)
        else:
            log.info("%s posted aggregate %s of round %d", node.address, digest.hex()[:12], round_)
            return digest.hex(), True, _tx(receipt)
    if posted != digest:
        log.warning(
            "round %d aggregate on chain %s, recomputed %s", round_, posted.hex(), digest.hex()
        )
    return digest.hex(), False, ""


@app.query("aggregate")
def aggregate(message: Message, context: Context) -> Message:
    """Post the settled round's aggregate (see :func:`ensure_aggregate`)."""
    node = node_from(context)
    digest, posted, tx = ensure_aggregate(node, _round_of(message))
    return reply(message, address=node.address, posted=posted, aggregate_hash=digest, tx=tx)
