"""Sweep engine of the defence benchmark: one alliance under attack, played in process.

Everything but the chain is flock's own: the data splits, model and training of `flock run`, the
participants' :class:`~flock.roles.Proposer` and :class:`~flock.roles.Voter` with the behaviours
of the `attack` config group (:mod:`flock.attacks`), and the contract's role draw
(:func:`flock.roles.assign_roles`, on seeds drawn from the run's seed). A round is settled by

- ``flock``: flock's consensus rule through :func:`flock.settlement.settle_round`, the Python
  mirror that a differential test finds identical to `AllianceTask.settle`; the accepted updates
  are aggregated by the consensus rule, as `flock run` does;
- ``flock_paper``: the FLock paper's whole-aggregate vote (:mod:`flock.settlement_flock_paper`);
- a baseline of :data:`flock.flower_baselines.BASELINES`: no settlement, every proposer's update
  aggregated by the real Flower strategy.

The rules differ only in settlement and aggregation: the same seed gives the same splits,
initial model, role draws (until the paper's rule removes someone) and training.
:func:`chain_run` plays the same configuration on the real contract instead (`flock run`'s
in-process alliance), for the benchmark's smoke mode.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from eth_utils import keccak
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from flock.aggregation import consensus, fedavg
from flock.attacks import AttackPlan, Cartel, Colluding, backdoor_success_rate, plan_attacks
from flock.attacks.base import VoterBehaviour
from flock.contracts.types import Outcome, Proposal, Role
from flock.data import holdout_split, load_dataset, make_participant_data
from flock.flower_baselines import BASELINES, flower_aggregate
from flock.models import flatten_params, load_flat_params, num_params
from flock.participant import ChainParticipant
from flock.roles import Proposer, RoleContext, TrainingSpec, Voter, assign_roles
from flock.settlement import RoundRecord, SettlementResult, SettlementRules, settle_round
from flock.settlement_flock_paper import (
    ACCEPT,
    REJECT,
    PaperRound,
    PaperRules,
    honest_vote,
    settle_paper_round,
)
from flock.store import BlobFormatError, BlobNotFoundError, UpdateBlob, UpdateStore
from flock.training import evaluate, evaluate_many

log = logging.getLogger(__name__)

TOKEN = 10**18
#: Settlement rules, then the baselines (no settlement).
RULES: tuple[str, ...] = ("flock", "flock_paper")
DEFENCES: tuple[str, ...] = (*RULES, *BASELINES)
#: Domain of the per-round role seeds of a simulated run.
ROLE_SEED_DOMAIN = b"flock.defence.roles"


class MemoryStore(UpdateStore):
    """An :class:`~flock.store.UpdateStore` that keeps blobs in memory, content-addressed by the
    SHA-256 of vector and metadata (a sweep writes tens of thousands of blobs)."""

    def __init__(self) -> None:  # no directory, unlike the parent
        self.root = Path("/memory")
        self.max_bytes = 2**31
        self.fsync = False
        self._blobs: dict[bytes, UpdateBlob] = {}

    def put(self, vector: torch.Tensor, metadata: dict[str, str]) -> bytes:
        data = vector.detach().to(torch.float32).contiguous().clone()
        meta = json.dumps(metadata, sort_keys=True).encode()
        digest = hashlib.sha256(data.numpy().tobytes() + meta).digest()
        self._blobs[digest] = UpdateBlob(vector=data, metadata=dict(metadata))
        return digest

    def get(self, digest: bytes, *, expected_numel: int | None = None) -> UpdateBlob:
        blob = self._blobs.get(bytes(digest))
        if blob is None:
            raise BlobNotFoundError(f"no blob {bytes(digest).hex()} in memory")
        if expected_numel is not None and blob.vector.numel() != expected_numel:
            raise BlobFormatError(f"blob has {blob.vector.numel()} values, not {expected_numel}")
        return blob

    def exists(self, digest: bytes) -> bool:
        return bytes(digest) in self._blobs

    def uri(self, digest: bytes) -> str:
        return f"memory://{bytes(digest).hex()}"

    def clear(self) -> None:
        """Forget every blob (a finished round's updates are not read again)."""
        self._blobs.clear()


@dataclass(frozen=True)
class _SimTask:
    address: str = "0x" + "00" * 20


@dataclass(frozen=True)
class _SimParticipant:
    """What the roles read of a participant off chain: its address and its task's."""

    address: str
    task: _SimTask = field(default_factory=_SimTask)


@dataclass
class RunResult:
    """One run of the sweep: per-round accuracy, stakes and slashes.

    Attributes
    ----------
    accuracy : list of float
        Holdout accuracy of the global model after each round.
    backdoor : list of float
        Backdoor success rate after each round (empty when the attack plants none).
    honest_stake, attacker_stake : list of float
        Mean stake in tokens of honest participants / attackers after each round (empty for
        the baselines, which hold no stake).
    first_slashed : dict of int to int
        Participant index to the round it was first slashed in.
    attackers : list of int
        Indices of the participants with a non-honest behaviour.
    skipped_rounds : int
        Rounds whose aggregator declined (Bulyan with n < 4f + 3) or accepted nothing.
    attack_updates, attack_updates_accepted : int
        Updates the attackers proposed, and how many of them went into a global model.
    honest_proposals, honest_rejected : int
        flock's rule: honest proposals in settled rounds, and how many of them were rejected.
    score_gaps : list of int
        flock's rule: per honest proposal of a settled round, the baseline's consensus score
        minus the proposal's (basis points).
    holdout_gaps : list of float
        With `defence.diagnose`: per honest proposal, the global model's holdout accuracy
        minus the proposal's (points), the gap the scores estimate.
    honest_slash_reasons : dict of str to int
        flock's rule: slashes of honest participants by reason.
    """

    defence: str
    attack: str
    eta: float | None
    seed: int
    dataset: str
    participants: int
    rounds: int
    attackers: list[int]
    accuracy: list[float] = field(default_factory=list)
    backdoor: list[float] = field(default_factory=list)
    honest_stake: list[float] = field(default_factory=list)
    attacker_stake: list[float] = field(default_factory=list)
    first_slashed: dict[int, int] = field(default_factory=dict)
    skipped_rounds: int = 0
    attack_updates: int = 0
    attack_updates_accepted: int = 0
    rule: str = ""
    on_chain: bool = False
    seconds: float = 0.0
    honest_proposals: int = 0
    honest_rejected: int = 0
    score_gaps: list[int] = field(default_factory=list)
    holdout_gaps: list[float] = field(default_factory=list)
    honest_slash_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def settles(self) -> bool:
        """Whether the defence stakes and slashes (flock's rule or the paper's)."""
        return (self.rule or self.defence) in RULES

    @property
    def final_accuracy(self) -> float:
        return self.accuracy[-1] if self.accuracy else float("nan")

    def honest_slashed(self) -> int:
        """Honest participants slashed at least once."""
        attackers = set(self.attackers)
        return sum(1 for i in self.first_slashed if i not in attackers)

    def rounds_to_slash(self, fraction: float = 0.9) -> int | None:
        """First round by which `fraction` of the attackers were slashed at least once (None:
        never, or no attackers)."""
        if not self.attackers:
            return None
        rounds = sorted(self.first_slashed[i] for i in self.attackers if i in self.first_slashed)
        needed = int(np.ceil(fraction * len(self.attackers)))
        return rounds[needed - 1] if len(rounds) >= needed else None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> RunResult:
        data = json.loads(text)
        data["first_slashed"] = {int(k): v for k, v in data["first_slashed"].items()}
        return cls(**data)


def attack_with_fraction(attack: Mapping[str, Any], n: int, eta: float | None) -> dict[str, Any]:
    """The `attack` config group with every attacker count set to round(eta * n): the proposer
    and voter attackers it names (behaviour other than honest) and a non-empty cartel. With
    `eta` None the counts stay as configured."""
    out: dict[str, Any] = json.loads(json.dumps(dict(attack)))
    if eta is None:
        return out
    count = int(round(eta * n))
    for role in ("proposer", "voter"):
        spec = out.get(role) or {}
        if spec.get("behaviour", "honest") != "honest":
            spec["count"] = count
    cartel = out.get("cartel") or {}
    if int(cartel.get("size", 0)) > 0:
        cartel["size"] = count
    return out


def with_fraction(cfg: DictConfig) -> DictConfig:
    """A copy of `cfg` whose attack counts follow `defence.eta` (see attack_with_fraction)."""
    eta = cfg.defence.get("eta")
    attack = OmegaConf.to_container(cfg.attack, resolve=True)
    scaled = attack_with_fraction(
        cast(dict[str, Any], attack), int(cfg.participants), None if eta is None else float(eta)
    )
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    out.attack = scaled
    return cast(DictConfig, out)


def resolve_variant(cfg: DictConfig) -> DictConfig:
    """`cfg` with a variant's name resolved: `defence.variants.<name>` names its base rule and
    the `task` knobs it changes. Raises ValueError for a name that is neither."""
    name = str(cfg.defence.name)
    variants = cfg.defence.get("variants") or {}
    if name in variants:
        variant = variants[name]
        cfg = cast(DictConfig, OmegaConf.merge(cfg, {"task": variant.get("task") or {}}))
        cfg.defence.name = str(variant.base)
        name = str(variant.base)
    if name not in DEFENCES:
        valid = ", ".join([*DEFENCES, *variants])
        raise ValueError(f"unknown defence {name!r}; valid: {valid}")
    return cfg


def attacker_indices(plan: AttackPlan) -> list[int]:
    """Participants with any non-honest behaviour, plus the cartel's members."""
    bad = {
        i for i, a in enumerate(plan.assignments) if a.proposer != "honest" or a.voter != "honest"
    }
    return sorted(bad | set(plan.colluders))


@dataclass
class _Member:
    address: str
    proposer: Proposer
    voter: Voter
    malicious_proposer: bool


@dataclass
class _World:
    """A run's fixed parts: data, members, attack plan, holdout and the initial model."""

    members: list[_Member]
    plan: AttackPlan
    cartel: Cartel
    store: MemoryStore
    model: torch.nn.Module
    initial: torch.Tensor
    x_holdout: torch.Tensor
    y_holdout: torch.Tensor
    backdoor: dict[str, Any] | None


def _build_world(cfg: DictConfig) -> _World:
    """Data, model and participants exactly as `flock run` builds them for this seed."""
    from flock.experiment import participant_signer  # the run's reproducible keys

    seed = int(cfg.seed)
    torch.manual_seed(seed)
    dataset = load_dataset(str(cfg.dataset.name))
    pool, holdout = holdout_split(dataset, holdout_fraction=float(cfg.holdout_fraction), seed=seed)
    n = int(cfg.participants)
    data = make_participant_data(
        pool,
        n,
        scheme=str(cfg.partition.scheme),
        alpha=float(cfg.partition.alpha),
        test_fraction=float(cfg.test_fraction),
        seed=seed,
    )

    model = cast(torch.nn.Module, instantiate(cfg.model))  # initialised as `flock run` does
    initial = flatten_params(model)
    # the architecture without Hydra's per-call config walk (thousands of calls a run; the
    # weights are loaded from a flat vector afterwards, training forks its own random state)
    make_model = cast(Callable[[], torch.nn.Module], instantiate(cfg.model, _partial_=True))

    plan = plan_attacks(cast(dict[str, Any], OmegaConf.to_container(cfg.attack)), n=n, seed=seed)
    addresses = [participant_signer(cfg, i).address for i in range(n)]
    colluders = [addresses[i] for i in sorted(plan.colluders)]
    spec = TrainingSpec(**cast(dict[str, Any], OmegaConf.to_container(cfg.training)))
    store = MemoryStore()
    members = []
    for i, address in enumerate(addresses):
        participant = cast(ChainParticipant, _SimParticipant(address))
        ctx = RoleContext(participant, data[i], store, make_model, num_params(model))
        member_seed = seed * 1000 + i
        behaviour = plan.proposer_behaviour(i, num_classes=dataset.num_classes, seed=member_seed)
        members.append(
            _Member(
                address=address,
                proposer=Proposer(ctx, spec, behaviour, seed=member_seed),
                voter=Voter(ctx, plan.voter_behaviour(i, colluders=colluders), seed=member_seed),
                malicious_proposer=plan.assignments[i].proposer != "honest",
            )
        )
    cartel = Cartel({members[i].address: members[i].proposer.honest_vector for i in plan.colluders})
    x_holdout = torch.as_tensor(holdout.features).reshape(-1, *holdout.feature_shape)
    return _World(
        members=members,
        plan=plan,
        cartel=cartel,
        store=store,
        model=model,
        initial=initial,
        x_holdout=x_holdout,
        y_holdout=torch.as_tensor(holdout.labels),
        backdoor=_backdoor_params(plan),
    )


def _backdoor_params(plan: AttackPlan) -> dict[str, Any] | None:
    """Trigger and target of the plan's backdoor attack (the first one's), if it plants one."""
    for a in plan.assignments:
        if a.proposer == "backdoor":
            p = dict(a.proposer_params)
            return {
                "target": int(p.get("target", 0)),
                "size": int(p.get("size", 2)),
                "value": float(p.get("value", 1.0)),
            }
    return None


def role_seed(seed: int, round_: int) -> bytes:
    """The role seed of `round_` in a simulated run (the contract draws its own on chain)."""
    return keccak(ROLE_SEED_DOMAIN + seed.to_bytes(32, "big") + round_.to_bytes(32, "big"))


@functools.lru_cache(maxsize=4096)
def _roles(
    roster: tuple[str, ...], seed: bytes, proposers_per_round: int, max_voters: int
) -> dict[str, Role]:
    """The contract's role draw (its Python mirror), memoised: every defence and attacker
    fraction of a seed draws the same roles, and one process plays many of them."""
    return assign_roles(
        list(roster), seed, proposers_per_round=proposers_per_round, max_voters=max_voters
    )


def _paper_vote(
    behaviour: VoterBehaviour, honest: int, rng: np.random.Generator, cartel: bool
) -> int:
    """A voter behaviour's vote on the whole aggregate (the paper's rule has no per-proposal
    scores): honest votes what it measured, random flips a coin, inverted votes the opposite,
    colluding accepts when the cartel has a proposal in the aggregate and rejects otherwise."""
    name = behaviour.name
    if name == "honest":
        return honest
    if name == "random_score":
        return ACCEPT if rng.random() < 0.5 else REJECT
    if name == "inverted_score":
        return -honest
    if name == "colluding":
        return ACCEPT if cartel else REJECT
    raise ValueError(f"no vote of voter behaviour {name!r} under the paper's rule")


class _Ledger:
    """Stakes, pool and removals of a simulated run."""

    def __init__(self, addresses: list[str], stake: int, pool: int) -> None:
        self.stakes = {a: stake for a in addresses}
        self.pool = pool
        self.removed: set[str] = set()


def simulate(cfg: DictConfig) -> RunResult:
    """Play one run of the sweep as configured.

    Parameters
    ----------
    cfg : DictConfig
        `flock run`'s configuration (with the `experiment=defence` preset): `defence.name` is
        one of :data:`DEFENCES`, `defence.eta` the attacker fraction (None: the attack config's
        counts), `defence.flock_paper` the paper rule's knobs, `task` flock's rule.

    Returns
    -------
    RunResult
        Accuracy, stakes and slashes per round.
    """
    started = time.perf_counter()
    label = str(cfg.defence.name)
    cfg = resolve_variant(with_fraction(cfg))
    name = str(cfg.defence.name)
    torch.set_num_threads(int(cfg.torch_threads))
    world = _build_world(cfg)
    addresses = [m.address for m in world.members]
    attackers = attacker_indices(world.plan)
    eta = cfg.defence.get("eta")
    result = RunResult(
        defence=label,
        attack=str(cfg.defence.get("attack_name") or "custom"),
        eta=None if eta is None else float(eta),
        seed=int(cfg.seed),
        dataset=str(cfg.dataset.name),
        participants=len(addresses),
        rounds=int(cfg.task.rounds),
        attackers=attackers,
        rule=name,
    )
    flock_rules = _flock_rules(cfg)
    paper_rules = PaperRules(
        rounds=int(cfg.task.rounds),
        gamma=int(float(cfg.defence.flock_paper.gamma) * TOKEN),
        tolerance_bps=int(cfg.defence.flock_paper.tolerance_bps),
        voter_share_bps=int(cfg.defence.flock_paper.voter_share_bps),
    )
    stake = (
        float(cfg.defence.flock_paper.stake) if name == "flock_paper" else float(cfg.tokens.stake)
    )
    ledger = _Ledger(addresses, int(stake * TOKEN), int(float(cfg.tokens.reward_pool) * TOKEN))
    global_params = world.initial
    # Flower's Bulyan calls gc.collect() once per reply: with the objects alive now frozen out
    # of the collector, that costs microseconds, not 0.1 s (unfrozen, they are collected later)
    gc.freeze()
    try:
        _play(cfg, world, result, ledger, flock_rules, paper_rules, global_params)
    finally:
        gc.unfreeze()
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _play(
    cfg: DictConfig,
    world: _World,
    result: RunResult,
    ledger: _Ledger,
    flock_rules: SettlementRules,
    paper_rules: PaperRules,
    global_params: torch.Tensor,
) -> None:
    """The rounds of :func:`simulate`."""
    name = result.rule
    members, store = world.members, world.store
    addresses = [m.address for m in members]
    index = {a: i for i, a in enumerate(addresses)}
    min_stake = int(float(cfg.task.min_stake) * TOKEN)
    seed = int(cfg.seed)
    diagnose = bool(cfg.defence.get("diagnose"))
    attackers = set(result.attackers)
    for r in range(1, int(cfg.task.rounds) + 1):
        roster = [a for a in addresses if a not in ledger.removed]
        roles = _roles(
            tuple(roster),
            role_seed(seed, r),
            int(cfg.task.proposers_per_round),
            int(cfg.task.max_voters),
        )
        acting = [a for a in roster if name != "flock" or ledger.stakes[a] >= min_stake]
        proposers = [a for a in acting if roles[a] == Role.PROPOSER]
        voters = [a for a in acting if roles[a] == Role.VOTER]
        proposals = _propose(world, [members[index[a]] for a in proposers], global_params, r)
        vectors = [store.get(p.update_hash).vector for p in proposals]
        bad = [members[index[p.proposer]].malicious_proposer for p in proposals]
        result.attack_updates += sum(bad)
        accepted: list[int] = []
        new_params: torch.Tensor | None = None
        slashed: list[str] = []
        if name == "flock":
            accepted, new_params, slashed, settled = _flock_round(
                world, proposals, vectors, voters, global_params, ledger, flock_rules, r
            )
            honest = [i for i, b in enumerate(bad) if not b]
            reasons = result.honest_slash_reasons
            for address, reason, _ in settled.slashes:
                if index[address] not in attackers:
                    reasons[reason.name] = reasons.get(reason.name, 0) + 1
            if settled.outcome == Outcome.SETTLED:
                result.honest_proposals += len(honest)
                result.honest_rejected += sum(i not in accepted for i in honest)
                result.score_gaps += [settled.medians[0] - settled.medians[i + 1] for i in honest]
            if diagnose and honest:
                result.holdout_gaps += _holdout_gaps(world, global_params, vectors, honest)
        elif name == "flock_paper":
            accepted, new_params, slashed = _paper_round(
                world, proposals, vectors, voters, global_params, ledger, paper_rules, r
            )
        else:
            new_params = flower_aggregate(
                name,
                vectors,
                [p.num_samples for p in proposals],
                num_malicious=sum(bad),
                round_=r,
            )
            accepted = list(range(len(proposals))) if new_params is not None else []
        result.attack_updates_accepted += sum(bad[i] for i in accepted)
        if new_params is None:
            result.skipped_rounds += 1
        else:
            global_params = new_params
        for a in slashed:
            result.first_slashed.setdefault(index[a], r)
        _record_round(result, world, global_params, ledger if name in RULES else None)
        store.clear()
        log.debug("%s round %d: accuracy %.4f", name, r, result.accuracy[-1])


def _flock_rules(cfg: DictConfig) -> SettlementRules:
    """flock's settlement rules from the `task` and `reward` groups."""
    from flock.experiment import task_params

    return SettlementRules.from_params(
        task_params(cfg, spec_hash=bytes(32), initial_model_hash=bytes(32))
    )


def _propose(
    world: _World, proposers: list[_Member], global_params: torch.Tensor, round_: int
) -> list[Proposal]:
    """Every proposer trains (or tampers) and stores its update, in roster order."""
    committee = [m.address for m in proposers]
    proposals: list[Proposal] = []

    def published() -> list[torch.Tensor]:
        return [world.store.get(p.update_hash).vector for p in proposals]

    for m in proposers:
        context = None
        if m.address in world.cartel.members:
            context = world.cartel.context(
                round_, global_params, proposers=committee, published=published
            )
        digest, samples, uri = m.proposer.prepare(global_params, round_, context)
        proposals.append(Proposal(round_, m.address, len(proposals), digest, samples, uri))
    return proposals


def _by_address(addresses: list[str]) -> list[str]:
    return sorted(addresses, key=lambda a: int(a, 16))


def _flock_round(
    world: _World,
    proposals: list[Proposal],
    vectors: list[torch.Tensor],
    voters: list[str],
    global_params: torch.Tensor,
    ledger: _Ledger,
    rules: SettlementRules,
    round_: int,
) -> tuple[list[int], torch.Tensor | None, list[str], SettlementResult]:
    """Score, settle by flock's rule (the contract's mirror) and aggregate the accepted."""
    by_address = {m.address: m for m in world.members}
    ballots: dict[str, list[int]] = {}
    missing: list[str] = []
    for v in voters:
        voter = by_address[v].voter
        scores = voter.ballot(global_params, proposals).scores
        if voter.behaviour.reveals:
            ballots[v] = scores
        else:
            missing.append(v)
    revealed = _by_address(list(ballots))
    involved = [p.proposer for p in proposals] + voters
    record = RoundRecord(
        round=round_,
        proposers=[p.proposer for p in proposals],
        voters=revealed,
        scores=[ballots[v] for v in revealed],
        missing=_by_address(missing),
        stakes={a: ledger.stakes[a] for a in involved},
        reward_pool=ledger.pool,
    )
    settled = settle_round(record, rules)
    ledger.stakes.update(settled.stakes)
    ledger.pool = settled.reward_pool
    slashed = [a for a, _, amount in settled.slashes]
    accepted = [p.index for p in proposals if settled.accepted_mask >> p.index & 1]
    if settled.outcome != Outcome.SETTLED or not accepted:
        return [], None, slashed, settled
    # the consensus aggregate of the accepted updates, as flock.global_model does from chain
    counts = [proposals[i].num_samples for i in accepted]
    scores = [settled.medians[i + 1] for i in accepted]
    if not any(s * c for s, c in zip(scores, counts, strict=True)):
        scores, counts = [1] * len(accepted), [max(c, 1) for c in counts]
    aggregate = consensus([vectors[i] for i in accepted], counts, scores=scores)
    return accepted, aggregate, slashed, settled


def _holdout_gaps(
    world: _World, global_params: torch.Tensor, vectors: list[torch.Tensor], which: list[int]
) -> list[float]:
    """Holdout accuracy of the global model minus each chosen proposal's, in points."""
    stacked = torch.stack([global_params, *(vectors[i] for i in which)])
    accuracies = evaluate_many(world.model, stacked, world.x_holdout, world.y_holdout)
    return [round(100 * float(accuracies[0] - a), 4) for a in accuracies[1:]]


def _paper_round(
    world: _World,
    proposals: list[Proposal],
    vectors: list[torch.Tensor],
    voters: list[str],
    global_params: torch.Tensor,
    ledger: _Ledger,
    rules: PaperRules,
    round_: int,
) -> tuple[list[int], torch.Tensor | None, list[str]]:
    """Every voter votes on the plain average of all proposals; settle by the paper's rule."""
    by_address = {m.address: m for m in world.members}
    proposer_set = {p.proposer.lower() for p in proposals}
    votes: dict[str, int] = {}
    missing: list[str] = []
    for v in voters:
        voter = by_address[v].voter
        if not voter.behaviour.reveals:
            missing.append(v)
            continue
        ballot = voter.ballot(global_params, proposals)
        honest = (
            honest_vote(ballot.aggregate_score, ballot.measured[0], rules.tolerance_bps)
            if ballot.aggregate_score is not None
            else REJECT
        )
        behaviour = voter.behaviour
        cartel = isinstance(behaviour, Colluding) and bool(behaviour.cartel & proposer_set)
        votes[v] = _paper_vote(behaviour, honest, voter.rng, cartel)
    involved = [p.proposer for p in proposals] + voters
    settled = settle_paper_round(
        PaperRound(
            round=round_,
            proposers=[p.proposer for p in proposals],
            votes=votes,
            missing=missing,
            stakes={a: ledger.stakes[a] for a in involved},
            reward_pool=ledger.pool,
        ),
        rules,
    )
    ledger.stakes.update(settled.stakes)
    ledger.pool = settled.reward_pool
    ledger.removed.update(settled.removed)
    slashed = [a for a, _, amount in settled.slashes if amount > 0]
    if not settled.accepted or not vectors:
        return [], None, slashed
    # the aggregate the voters scored: the plain average of every proposal
    return list(range(len(proposals))), fedavg(vectors, [1.0] * len(vectors)), slashed


def _record_round(
    result: RunResult, world: _World, params: torch.Tensor, ledger: _Ledger | None
) -> None:
    """Append the round's holdout accuracy, backdoor success and mean stakes."""
    load_flat_params(world.model, params)
    result.accuracy.append(round(evaluate(world.model, world.x_holdout, world.y_holdout), 6))
    if world.backdoor is not None:
        rate = backdoor_success_rate(
            world.model, world.x_holdout, world.y_holdout, **world.backdoor
        )
        result.backdoor.append(round(rate, 6))
    if ledger is not None:
        stakes = [ledger.stakes[m.address] / TOKEN for m in world.members]
        bad = set(result.attackers)
        honest = [s for i, s in enumerate(stakes) if i not in bad]
        attack = [s for i, s in enumerate(stakes) if i in bad]
        result.honest_stake.append(round(float(np.mean(honest)), 6) if honest else float("nan"))
        result.attacker_stake.append(round(float(np.mean(attack)), 6) if attack else float("nan"))


def chain_run(cfg: DictConfig, run_dir: Path) -> RunResult:
    """Play `cfg` under flock's rule on the real contract and record it like :func:`simulate`.

    This is `flock run`'s in-process alliance (:func:`flock.experiment.build_alliance` and
    :func:`~flock.experiment.play`): the contract deployed on the embedded chain, every
    participant sending its own transactions, the contract drawing the roles and settling each
    round. Same data, model, training and behaviours as :func:`simulate` for the same seed; the
    role draws differ (the contract's seeds are not the simulation's). Backdoor success is not
    recorded here.

    Parameters
    ----------
    cfg : DictConfig
        As for :func:`simulate`; `defence.name` must resolve to ``flock``.
    run_dir : pathlib.Path
        Where the update store and nothing else is written.
    """
    from flock.chains import open_chain
    from flock.experiment import build_alliance, play, validate_config

    started = time.perf_counter()
    label = str(cfg.defence.name)
    cfg = resolve_variant(with_fraction(cfg))
    if str(cfg.defence.name) != "flock":
        raise ValueError(f"only flock's rule runs on the contract, not {cfg.defence.name!r}")
    validate_config(cfg)
    torch.set_num_threads(int(cfg.torch_threads))
    with open_chain(cfg.chain) as chain:
        alliance = build_alliance(cfg, chain, run_dir)
        play(cfg, alliance)
    addresses = [m.address for m in alliance.members]
    index = {a: i for i, a in enumerate(addresses)}
    malicious = {m.address for m in alliance.members if m.proposer_behaviour != "honest"}
    plan = plan_attacks(
        cast(dict[str, Any], OmegaConf.to_container(cfg.attack)),
        n=len(addresses),
        seed=int(cfg.seed),
    )
    eta = cfg.defence.get("eta")
    result = RunResult(
        defence=label,
        attack=str(cfg.defence.get("attack_name") or "custom"),
        eta=None if eta is None else float(eta),
        seed=int(cfg.seed),
        dataset=str(cfg.dataset.name),
        participants=len(addresses),
        rounds=int(cfg.task.rounds),
        attackers=attacker_indices(plan),
        rule="flock",
        on_chain=True,
    )
    bad = set(result.attackers)
    for record in alliance.records:
        result.accuracy.append(round(record.accuracy, 6))
        stakes = [record.stakes[a] for a in addresses]
        honest = [s for i, s in enumerate(stakes) if i not in bad]
        attack = [s for i, s in enumerate(stakes) if i in bad]
        result.honest_stake.append(round(float(np.mean(honest)), 6) if honest else float("nan"))
        result.attacker_stake.append(round(float(np.mean(attack)), 6) if attack else float("nan"))
        for address, _, _ in record.slashes:
            result.first_slashed.setdefault(index[address], record.round)
        if not record.accepted:
            result.skipped_rounds += 1
        result.attack_updates += sum(a in malicious for a in record.accepted + record.rejected)
        result.attack_updates_accepted += sum(a in malicious for a in record.accepted)
    result.seconds = round(time.perf_counter() - started, 3)
    return result
