"""The coordinator: an untrusted relay that moves the alliance by the chain, over any route.

It reads roles and deadlines from the chain, asks proposers to train and voters to vote, and
settles (anyone may). Every decision (roles, accepted proposers, rewards, slashing) is the
contract's and every participant signs its own transactions; the coordinator only relays
requests through a :class:`flock.flower.relay.Relay` and checks what the chain says.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Hashable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from flock.contracts import Outcome, Role, RpcChain, Signer, TaskClient
from flock.flower.common import (
    MSG_IDENTIFY,
    MSG_JOIN,
    MSG_REVEAL_SEED,
    MSG_REVEAL_VOTE,
    MSG_SETTLE_ACCOUNT,
    MSG_TRAIN,
    MSG_VOTE,
    AllianceFile,
    aggregate_from_chain,
    atomic_write,
)
from flock.flower.relay import Relay, Reply, wait_for_nodes
from flock.learning.alliance_data import reporting_holdout
from flock.learning.quality import holdout_quality, quality_metric_name
from flock.protocol.role_draw import assign_roles
from flock.protocol.types import RoundInfo

log = logging.getLogger(__name__)

#: Fault drills only: "<round>:<message type>" at which the coordinator kills itself (SIGKILL,
#: like a machine losing power) right before sending that batch. Unset in normal runs.
DRILL_CRASH_ENV = "FLOCK_DRILL_CRASH_AT"


def _drill_crash_point(point: str) -> None:
    if os.environ.get(DRILL_CRASH_ENV) == point:
        log.warning("drill: crashing at %s", point)
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class RoundTiming:
    """Wall-clock seconds of one round's phases, as the coordinator saw them."""

    round: int
    outcome: str = ""
    accepted: list[int] = field(default_factory=list)
    proposers: list[str] = field(default_factory=list)
    voters: list[str] = field(default_factory=list)
    train_s: float = 0.0
    vote_s: float = 0.0
    reveal_s: float = 0.0
    settle_s: float = 0.0
    train_compute_s: float = 0.0
    vote_compute_s: float = 0.0
    #: The aggregate this round's attestations adopted: its round, hash and votes.
    adopted_round: int = 0
    adopted_hash: str = ""
    adopted_votes: int = 0
    #: Whether that hash equals the coordinator's own recomputation (None: nothing adopted).
    aggregate_matches: bool | None = None
    #: The round whose aggregate this round's attestations voided (0: none).
    voided_round: int = 0
    #: Proposal blobs the voters refused (hash, size or format check failed), summed.
    rejected_blobs: int = 0
    total_s: float = 0.0
    #: The global model's measure after the round (`quality_metric` of the result: accuracy,
    #: or the held-out loss of the language-model task).
    quality: float | None = None
    errors: list[str] = field(default_factory=list)


class Coordinator:
    """Relays the protocol to the participants' nodes; every decision is read from the chain.

    Parameters
    ----------
    relay : Relay
        The route to the participants' nodes.
    alliance : AllianceFile
        The public alliance description.
    signer : Signer
        The coordinator's own key: it only advances dev-chain time, starts the task and
        settles (anyone may); the global model is adopted by the voters' attestations.
    chain_poll_s : float
        How often to look at the chain while waiting for a deadline (non-dev chains).
    cache_dir : Path | None
        The coordinator's own cache of a networked store (it only reads: it uploads nothing).
    """

    def __init__(
        self,
        relay: Relay,
        alliance: AllianceFile,
        signer: Signer,
        *,
        chain_poll_s: float = 1.0,
        cache_dir: Path | None = None,
    ) -> None:
        self.relay = relay
        self.chain_poll_s = chain_poll_s
        self.alliance = alliance
        self.signer = signer
        chain, task = alliance.connect()
        self.chain: RpcChain = chain
        self.task: TaskClient = task
        self.store = alliance.store(cache_dir)
        #: Participant address -> its node on the relay (routing only).
        self.node_of: dict[str, Hashable] = {}
        #: Failed replies so far, as "message type, node: reason".
        self.errors: list[str] = []
        #: Aggregate hash of each settled round, as the coordinator recomputed it.
        self.expected: dict[int, bytes] = {}
        #: Participants in join order (as far as read).
        self.roster: list[str] = []

    # ---------------------------------------------------------------- messaging
    def send(
        self, message_type: str, nodes: Iterable[Hashable], group: str, **values: Any
    ) -> list[Reply]:
        """Send `values` to `nodes` and return the replies (failures logged, not raised)."""
        targets = list(nodes)
        _drill_crash_point(f"{group}:{message_type}")
        if not targets:
            return []
        replies = self.relay.send(message_type, targets, group, dict(values))
        for r in replies:
            if not r.ok:
                self.errors.append(f"{message_type}, {r.node}: {r.error}")
                log.warning("%s failed", self.errors[-1])
        if len(replies) < len(targets):
            self.errors.append(f"{message_type}: {len(replies)} of {len(targets)} replies")
            log.warning("%s", self.errors[-1])
        return replies

    @staticmethod
    def max_compute(replies: list[Reply]) -> float:
        """Longest compute time (training or scoring) the nodes reported in `replies`."""
        return max((float(r.values.get("compute_s", 0.0)) for r in replies), default=0.0)

    def after_training(self, round_: int, replies: list[Reply]) -> None:
        """Hook between the proposers' replies and the vote (nothing by default; a test's
        dishonest coordinator tampers here)."""

    # ---------------------------------------------------------------- chain time
    def advance_to(self, timestamp: int) -> None:
        """Let chain time reach `timestamp`: a dev chain is moved there (evm_increaseTime);
        on any other chain the coordinator waits for blocks past it."""
        now = self.chain.now()
        if timestamp <= now:
            return
        if self.alliance.dev_chain:
            self.chain.advance_time(timestamp - now)
            return
        log.info("waiting %d s of chain time (until %d)", timestamp - now, timestamp)
        while self.chain.now() < timestamp:
            time.sleep(self.chain_poll_s)

    def roles(self, round_: int, info: RoundInfo) -> dict[str, Role]:
        """Every participant's role in `round_`, drawn from the chain's seed and roster with
        the contract's own algorithm (flock.protocol.role_draw, tested equal to `roleOf`): one
        call instead of one per participant. Participants check their own role on chain."""
        seed = self.task.seed_of(round_)  # fixed when the round opened
        while len(self.roster) < info.roster_size:  # join order never changes
            self.roster.append(self.task.participant_at(len(self.roster)))
        params = self.task.params
        closing = round_ > params.rounds  # the closing round has voters only
        drawn = assign_roles(
            self.roster[: info.roster_size],
            seed,
            proposers_per_round=0 if closing else params.proposers_per_round,
            max_voters=params.max_voters,
        )
        return {a: drawn.get(a, Role.NONE) for a in self.node_of}

    def refresh_nodes(self) -> None:
        """Learn the address of nodes that connected since (a participant that restarted comes
        back as a new node); forget nodes that left."""
        connected = set(self.relay.node_ids())
        self.node_of = {a: n for a, n in self.node_of.items() if n in connected}
        new = sorted(connected - set(self.node_of.values()), key=str)
        for r in self.send(MSG_IDENTIFY, new, "identify") if new else []:
            if r.ok and "address" in r.values:
                self.node_of[str(r.values["address"])] = r.node
                log.info("node of %s (re)connected", r.values["address"])

    # ---------------------------------------------------------------- protocol
    def enrol(self, nodes: list[Hashable]) -> None:
        """Have every node join (own key; the reply names its address, used for routing only),
        reveal round 1's seed, start."""
        for r in self.send(MSG_JOIN, nodes, "enrol"):
            if r.ok and "address" in r.values:
                self.node_of[str(r.values["address"])] = r.node
        log.info("%d nodes joined", len(self.node_of))
        log.debug("joined nodes: %s", self.node_of)
        self.advance_to(self.task.enrol_end())
        self.send(MSG_REVEAL_SEED, self.node_of.values(), "enrol", round=1)
        _, closes = self.task.seed_reveal_window(1)
        self.advance_to(closes)
        if self.task.current_round() == 0:  # a restarted coordinator finds it started
            self.task.start(self.signer)
        log.info("task %s started with %d participants", self.task.address, self.task.status()[2])

    def recompute(self, round_: int) -> None:
        """Recompute settled `round_`'s aggregate (to check what its attesters adopt)."""
        mine = aggregate_from_chain(self.alliance.cfg.aggregation, self.task, self.store, round_)
        if mine is not None:
            self.expected[round_] = mine[0]

    def play_round(self, round_: int) -> RoundTiming:
        """One round, phase by phase, each phase closed by its on-chain deadline.

        The previous round's aggregate is recomputed by every member: proposers train from it,
        voters attest its hash with their vote, and this round's settlement adopts it if a
        strict majority agrees; the coordinator only reports what the chain adopted. Every
        step is safe to repeat (a restarted coordinator replays the round it died in): a phase
        whose deadline passed is skipped, participants answer a repeated request from the
        chain, and a settled round is not settled again.
        """
        timing = RoundTiming(round=round_)
        errors_before = len(self.errors)
        started = time.perf_counter()
        self.refresh_nodes()
        info = self.task.round_info(round_)
        roles = self.roles(round_, info)
        timing.proposers = [a for a, role in roles.items() if role.name == "PROPOSER"]
        timing.voters = [a for a, role in roles.items() if role.name == "VOTER"]
        params = self.task.params  # the deadlines as AllianceTask.deadlines computes them
        propose_end = info.start + (0 if round_ > params.rounds else params.propose_period)
        commit_end = propose_end + params.commit_period
        reveal_end = commit_end + params.reveal_period
        pending = self.task.pending_aggregate_round()
        if pending and pending not in self.expected:
            self.recompute(pending)
        expected = self.expected.get(pending) if pending else self.task.global_model()[0]
        group = str(round_)
        now = self.chain.now()

        t = time.perf_counter()
        if now < propose_end and timing.proposers:
            trained = self.send(
                MSG_TRAIN,
                [self.node_of[a] for a in timing.proposers if a in self.node_of],
                group,
                round=round_,
                global_hash=expected.hex() if expected else "",
            )
            self.after_training(round_, trained)
            timing.train_compute_s = self.max_compute(trained)
        timing.train_s = time.perf_counter() - t
        self.advance_to(propose_end)

        t = time.perf_counter()
        committed: list[str] = []
        if now < commit_end:
            voted = self.send(
                MSG_VOTE, [self.node_of[a] for a in timing.voters if a in self.node_of], group,
                round=round_,
            )  # fmt: skip
            committed = [str(r.values["address"]) for r in voted if r.ok]
            timing.rejected_blobs = sum(int(r.values.get("rejected", 0)) for r in voted if r.ok)
            timing.vote_compute_s = self.max_compute(voted)
        else:
            committed = sorted(self.task.vote_committers(round_))
        timing.vote_s = time.perf_counter() - t
        self.advance_to(commit_end)

        t = time.perf_counter()
        if now < reveal_end:
            targets = [self.node_of[a] for a in committed if a in self.node_of]
            self.send(MSG_REVEAL_VOTE, targets, group, round=round_)
        timing.reveal_s = time.perf_counter() - t
        self.advance_to(reveal_end)

        t = time.perf_counter()
        info = self.task.round_info(round_)
        if info.outcome == Outcome.PENDING:
            settlement = self.task.settle(self.signer, round_)
            timing.outcome = settlement.outcome.name
            mask = settlement.accepted_mask
        else:  # settled before a restart: never twice
            log.info("round %d was already settled (%s)", round_, info.outcome.name)
            timing.outcome = info.outcome.name
            mask = info.accepted_mask
        timing.accepted = [i for i in range(info.num_proposals) if mask >> i & 1]
        self.recompute(round_)
        self.record_adoption(timing)
        timing.settle_s = time.perf_counter() - t
        timing.errors = self.errors[errors_before:]
        timing.total_s = time.perf_counter() - started
        return timing

    def record_adoption(self, timing: RoundTiming) -> None:
        """What settling `timing.round` decided about the pending aggregate, checked against
        the coordinator's own recomputation."""
        adopted = self.task.adopted_aggregate(timing.round)
        if adopted is not None:
            timing.adopted_round = adopted.round
            timing.adopted_hash = adopted.model_hash.hex()
            timing.adopted_votes = adopted.votes
            timing.aggregate_matches = adopted.model_hash == self.expected.get(adopted.round)
            if not timing.aggregate_matches:
                log.warning(
                    "round %d adopted %s for round %d, not the recomputed aggregate",
                    timing.round, adopted.model_hash.hex(), adopted.round,
                )  # fmt: skip
        voided = self.task.voided_aggregate(timing.round)
        if voided is not None:
            timing.voided_round = voided
            log.warning("round %d's aggregate found no attesting majority: void", voided)


@dataclass(frozen=True)
class CoordinatorSettings:
    """What one coordinator run needs besides its relay (all from the launcher's config)."""

    alliance_file: str
    coordinator_key_file: str
    result_file: str
    num_nodes: int
    node_wait_s: float
    #: Environment variable holding the key, read instead of `coordinator_key_file` when set.
    coordinator_key_env: str = ""
    #: Continue a task a previous coordinator left (the chain says where; results appended).
    resume: bool = False
    #: Environment variable with the password when the key file is an encrypted keystore.
    coordinator_key_password_env: str = "FLOCK_KEY_PASSWORD"
    #: Its own cache of a networked store ("": coordinator-store/ beside the result file).
    cache_dir: str = ""

    def store_cache(self) -> Path:
        """The coordinator's cache directory of a networked store."""
        return Path(self.cache_dir or Path(self.result_file).parent / "coordinator-store")

    def read_key(self) -> str:
        """The coordinator's private key (never logged).

        Raises
        ------
        KeyError
            When the named environment variable is unset.
        """
        if self.coordinator_key_env:
            if self.coordinator_key_env not in os.environ:
                raise KeyError(f"environment variable {self.coordinator_key_env} is not set")
            return os.environ[self.coordinator_key_env]
        from flock.flower.worker import read_key_file

        return read_key_file(Path(self.coordinator_key_file), self.coordinator_key_password_env)


def run_coordinator(
    relay: Relay,
    settings: CoordinatorSettings,
    *,
    coordinator_cls: type[Coordinator] = Coordinator,
) -> dict[str, Any]:
    """Enrol the nodes, play every round of the task, have every participant claim and
    withdraw, and write the result file after each round (crash-safe, atomic).

    Returns
    -------
    dict
        The result: task, participants, per-round timings and model quality
        (`quality_metric`; `final_accuracy` or `final_eval_loss`), final accounts.
    """
    alliance = AllianceFile.read(settings.alliance_file)
    signer = Signer.from_key(settings.read_key())
    torch.set_num_threads(int(alliance.cfg.get("torch_threads", 1)))
    coordinator = coordinator_cls(relay, alliance, signer, cache_dir=settings.store_cache())
    coordinator.store.check()  # an unreachable store is named before anything starts
    holdout = reporting_holdout(alliance.cfg)  # once: every round is measured on it
    metric = quality_metric_name(holdout)
    result: dict[str, Any] = {
        "task": alliance.task,
        "quality_metric": metric,
        "rounds": [],
        "error": None,
    }
    result_file = Path(settings.result_file)
    if settings.resume and result_file.exists():
        result = {**json.loads(result_file.read_text()), "error": None}
        result["restarts"] = int(result.get("restarts", 0)) + 1
    started = time.perf_counter()
    try:
        nodes = wait_for_nodes(relay, settings.num_nodes, settings.node_wait_s)
        t = time.perf_counter()
        coordinator.enrol(nodes)
        result.setdefault("enrol_s", time.perf_counter() - t)
        result["participants"] = sorted(coordinator.node_of)
        rounds = int(alliance.cfg.task.rounds)
        first = max(1, coordinator.task.current_round())
        if first > 1:
            log.info("resuming at round %d from the chain", first)
        result["rounds"] = [r for r in result["rounds"] if int(r["round"]) < first]
        r = first
        while not coordinator.task.status()[1]:  # rounds, then the closing round if one opens
            timing = coordinator.play_round(r)
            digest = coordinator.expected.get(r) or coordinator.task.global_model()[0]
            timing.quality = holdout_quality(
                alliance.make_model, holdout, coordinator.store.get(digest).vector
            )
            log.info(
                "round %d/%d: %s accepted=%s %s=%.4f %.2fs (train %.2f vote %.2f reveal %.2f "
                "settle %.2f; compute %.2f)",
                r,
                rounds,
                timing.outcome,
                timing.accepted,
                metric,
                timing.quality,
                timing.total_s,
                timing.train_s,
                timing.vote_s,
                timing.reveal_s,
                timing.settle_s,
                timing.train_compute_s + timing.vote_compute_s,
            )
            result["rounds"].append(asdict(timing))
            atomic_write(result_file, json.dumps(result, indent=2))
            r += 1
        model_hash, model_round = coordinator.task.global_model()
        result["global_model"] = {"hash": model_hash.hex(), "round": model_round}
        result[f"final_{metric}"] = holdout_quality(
            alliance.make_model, holdout, coordinator.store.get(model_hash).vector
        )
        accounts = coordinator.send(MSG_SETTLE_ACCOUNT, coordinator.node_of.values(), "end")
        result["final_accounts"] = {
            str(r.values["address"]): {k: v for k, v in r.values.items() if k != "address"}
            for r in accounts
            if r.ok
        }
        result["errors"] = coordinator.errors
    except Exception as exc:
        log.exception("coordinator failed")
        result["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        result["wall_s"] = time.perf_counter() - started
        atomic_write(result_file, json.dumps(result, indent=2))
    return result
