"""The rounds of a simulated run: roles, proposals, settlement by a rule, aggregation."""

from __future__ import annotations

import functools
import gc
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from omegaconf import DictConfig

from flock.aggregation import fedavg
from flock.attacks import Colluding, backdoor_success_rate
from flock.attacks.base import VoterBehaviour
from flock.defence.baselines import flower_aggregate
from flock.defence.config import (
    AGGREGATOR_DEFENCES,
    RULES,
    TOKEN,
    resolve_variant,
    with_fraction,
)
from flock.defence.noise import merge, round_noise
from flock.defence.result import RunResult
from flock.defence.world import Member, World, attacker_indices, build_world, role_seed
from flock.learning.models import load_flat_params
from flock.learning.training import evaluate, evaluate_many
from flock.protocol.commitments import MAX_SCORE
from flock.protocol.consensus import consensus_scores
from flock.protocol.flock_paper import (
    ACCEPT,
    REJECT,
    PaperRound,
    PaperRules,
    honest_vote,
    settle_paper_round,
)
from flock.protocol.settlement import RoundRecord, SettlementResult, SettlementRules, settle_round
from flock.protocol.types import Outcome, Proposal, Role
from flock.roles import assign_roles, moved_update_norms
from flock.roles.global_model import aggregate_accepted
from flock.store import blob_hash, encode_blob

log = logging.getLogger(__name__)


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
    colluding accepts when the cartel has a proposal in the aggregate and rejects otherwise.
    An aggregate poster votes honestly: it attacks the global model's attestation, which the
    paper's rule does not have (its simulated aggregate, like the Flower baselines', is trusted)."""
    name = behaviour.name
    if name in ("honest", "aggregate_poster"):
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


@dataclass
class _Models:
    """flock's rule: the adopted global model and the aggregate awaiting attestation, as the
    contract tracks them (hash and parameters)."""

    adopted: tuple[bytes, torch.Tensor]
    pending_round: int = 0
    pending: tuple[bytes, torch.Tensor] | None = None
    #: per aggregate hash, the norms of the accepted updates it aggregates (the voters'
    #: screening reference while it is the base, as flock.roles.global_model.BaseModel)
    update_norms: dict[bytes, tuple[float, ...]] = field(default_factory=dict)

    def base(self) -> tuple[bytes, torch.Tensor]:
        """The model the next round trains from and attests."""
        return self.pending if self.pending is not None else self.adopted


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
    world = build_world(cfg)
    addresses = [m.address for m in world.members]
    result = RunResult.for_run(
        cfg,
        defence=label,
        rule=name,
        participants=len(addresses),
        attackers=attacker_indices(world.plan),
    )
    flock_rules = _flock_rules(cfg, world.smallest_test_split)
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
    world: World,
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
    models = _Models(adopted=(_model_hash(global_params, 0, "initial"), global_params))
    max_samples = int(cfg.task.max_samples)
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
        base_hash = models.base()[0] if name == "flock" else bytes(32)
        committee = [members[index[a]] for a in proposers]
        proposals = _propose(world, committee, global_params, r, base_hash, max_samples)
        vectors = [store.get(p.update_hash).vector for p in proposals]
        bad = [members[index[p.proposer]].malicious_proposer for p in proposals]
        result.attack_updates += sum(bad)
        result.majority_rounds += int(2 * sum(bad) > len(bad) > 0)
        accepted: list[int] = []
        new_params: torch.Tensor | None = None
        slashed: list[str] = []
        if name == "flock":
            accepted, new_params, slashed, settled, record = _flock_round(
                world, proposals, vectors, voters, models, ledger, flock_rules, r, cfg.aggregation
            )
            honest = [i for i, b in enumerate(bad) if not b]
            reasons = result.honest_slash_reasons
            for address, reason, _ in settled.slashes:
                if index[address] not in attackers:
                    reasons[reason.name] = reasons.get(reason.name, 0) + 1
            if settled.outcome == Outcome.SETTLED:
                result.honest_proposals += len(honest)
                result.honest_rejected += sum(i not in accepted for i in honest)
                # how far below the base model each honest proposal scored (median paired gap)
                result.score_gaps += [MAX_SCORE - settled.medians[i] for i in honest]
                good = [v for v in record.voters if index[v] not in attackers]
                merge(
                    result.noise,
                    round_noise(
                        record, settled, flock_rules, honest_proposals=honest, honest_voters=good
                    ),
                )
            if diagnose and honest:
                result.holdout_gaps += _holdout_gaps(world, global_params, vectors, honest)
        elif name == "flock_paper":
            accepted, new_params, slashed = _paper_round(
                world, proposals, vectors, voters, global_params, ledger, paper_rules, r
            )
        elif name in AGGREGATOR_DEFENCES:  # every update, by flock's rule of that name
            counts = [p.num_samples for p in proposals]
            base = functools.partial(_same, global_params)  # centered clipping's reference
            new_params = (
                aggregate_accepted(cfg.aggregation, vectors, counts, None, base=base)
                if vectors
                else None
            )
            accepted = list(range(len(proposals))) if vectors else []
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


def _same(params: torch.Tensor) -> torch.Tensor:
    """`params` (a model as a zero-argument callable, with functools.partial)."""
    return params


def _flock_rules(cfg: DictConfig, smallest_test_split: int) -> SettlementRules:
    """flock's settlement rules from the `task` and `reward` groups (score thresholds from the
    world's smallest private test split, without drawing the data again)."""
    from flock.spec import task_params

    return SettlementRules.from_params(
        task_params(
            cfg,
            spec_hash=bytes(32),
            initial_model_hash=bytes(32),
            smallest_test_split=smallest_test_split,
        )
    )


def _model_hash(params: torch.Tensor, round_: int, kind: str = "aggregate") -> bytes:
    """The content hash a member computes for a model blob (as flock.roles.global_model does)."""
    vector = params.to(torch.float32).contiguous()
    return blob_hash(encode_blob(vector, {"kind": kind, "round": str(round_)}))


def _propose(
    world: World,
    proposers: list[Member],
    global_params: torch.Tensor,
    round_: int,
    base_hash: bytes,
    max_samples: int,
) -> list[Proposal]:
    """Every proposer trains (or tampers) from the round's base and stores its update, in
    roster order."""
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
        digest, samples, uri, base = m.proposer.prepare(
            global_params,
            round_,
            context,
            base_hash=base_hash,
            initial=(world.initial, _model_hash(world.initial, 0, "initial")),
            max_samples=max_samples,
        )
        proposals.append(Proposal(round_, m.address, len(proposals), digest, samples, uri, base))
    return proposals


def _by_address(addresses: list[str]) -> list[str]:
    return sorted(addresses, key=lambda a: int(a, 16))


def _flock_round(
    world: World,
    proposals: list[Proposal],
    vectors: list[torch.Tensor],
    voters: list[str],
    models: _Models,
    ledger: _Ledger,
    rules: SettlementRules,
    round_: int,
    aggregation: DictConfig,
) -> tuple[list[int], torch.Tensor | None, list[str], SettlementResult, RoundRecord]:
    """Score and attest the round's base, settle by flock's rule (the contract's mirror),
    adopt or void the pending aggregate, and aggregate the accepted updates by the
    `aggregation` config (the new pending one). Returns the model the next round trains from
    as the new parameters, and the round record it settled (for the noise figures)."""
    by_address = {m.address: m for m in world.members}
    base_hash, base_params = models.base()
    reference_norms = models.update_norms.get(base_hash, ())
    ballots: dict[str, list[int]] = {}
    attestations: dict[str, bytes] = {}
    missing: list[str] = []
    for v in voters:
        voter = by_address[v].voter
        ballot = voter.ballot(
            base_params,
            proposals,
            base_hash=base_hash,
            round_=round_,
            reference_norms=reference_norms,
        )
        if voter.behaviour.reveals:
            ballots[v] = ballot.scores
            attestations[v] = ballot.attestation
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
        attestations=[attestations[v] for v in revealed],
        pending_round=models.pending_round,
        global_model_hash=models.adopted[0],
    )
    settled = settle_round(record, rules)
    ledger.stakes.update(settled.stakes)
    ledger.pool = settled.reward_pool
    slashed = [a for a, _, amount in settled.slashes]
    if settled.adopted is not None:  # a majority attested: usually the honest recomputation
        if models.pending is not None and settled.adopted == models.pending[0]:
            models.adopted = models.pending
        else:  # a majority attested another blob (e.g. a cartel's poisoned model)
            models.adopted = (settled.adopted, world.store.get(settled.adopted).vector)
    accepted = [p.index for p in proposals if settled.accepted_mask >> p.index & 1]
    if settled.pending_after == 0:
        models.pending, models.pending_round = None, 0
    if settled.outcome != Outcome.SETTLED or not accepted:
        return [], models.base()[1], slashed, settled, record
    # the consensus aggregate of the accepted updates, as flock.roles.global_model does from chain
    counts = [proposals[i].num_samples for i in accepted]
    medians = consensus_scores([ballots[v] for v in revealed])  # absolute, as from chain
    scores = [medians[i + 1] for i in accepted]
    chosen = [vectors[i] for i in accepted]
    aggregate = aggregate_accepted(
        aggregation, chosen, counts, scores, base=lambda: base_params, proposals=len(proposals)
    )
    models.pending, models.pending_round = (_model_hash(aggregate, round_), aggregate), round_
    models.update_norms[models.pending[0]] = moved_update_norms(
        base_params, [vectors[i] for i in accepted]
    )
    return accepted, aggregate, slashed, settled, record


def _holdout_gaps(
    world: World, global_params: torch.Tensor, vectors: list[torch.Tensor], which: list[int]
) -> list[float]:
    """Holdout accuracy of the global model minus each chosen proposal's, in points."""
    stacked = torch.stack([global_params, *(vectors[i] for i in which)])
    accuracies = evaluate_many(world.model, stacked, world.x_holdout, world.y_holdout)
    return [round(100 * float(accuracies[0] - a), 4) for a in accuracies[1:]]


def _paper_round(
    world: World,
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
    result: RunResult, world: World, params: torch.Tensor, ledger: _Ledger | None
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
