"""A local alliance end to end: deploy, fund and stake N wallets, train and settle R rounds."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from eth_utils import keccak
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from flock.alliance_data import alliance_data, score_floor_bps
from flock.attacks import Cartel, draw_attackers, plan_attacks
from flock.chains import open_chain
from flock.contracts import (
    Chain,
    RewardRule,
    Role,
    Signer,
    TaskClient,
    TaskParams,
    TxSender,
)
from flock.contracts.commitments import MAX_SCORE
from flock.contracts.deploy import deploy_alliance
from flock.contracts.units import to_wei
from flock.data import Dataset
from flock.global_model import BaseModel, base_model
from flock.models import flatten_params, load_flat_params, num_params
from flock.participant import ChainParticipant
from flock.reporting import RoundRecord, write_reports
from flock.roles import Proposer, RoleContext, ScreeningRules, TrainingSpec, Voter
from flock.rounds import RoundDriver, RoundResult
from flock.store import UpdateStore
from flock.training import evaluate

log = logging.getLogger(__name__)

TOKEN = 10**18


class ConfigError(ValueError):
    """A configuration that cannot run (checked before anything is deployed)."""


#: Token amounts in the config (whole tokens, or wei for `decimals` 0), converted exactly.
AMOUNT_KEYS: dict[str, int] = {
    "tokens.supply": 18,
    "tokens.reward_pool": 18,
    "tokens.per_participant": 18,
    "tokens.stake": 18,
    "task.min_stake": 18,
    "chain.fund_wei": 0,
}


def config_amounts(cfg: DictConfig) -> dict[str, int]:
    """The config's token amounts (:data:`AMOUNT_KEYS`) in wei, exactly (no float on the way).

    Raises
    ------
    ConfigError
        Naming every amount that is negative, not a number, or finer than the token.
    """
    amounts: dict[str, int] = {}
    errors: list[str] = []
    for key, decimals in AMOUNT_KEYS.items():
        try:
            amounts[key] = to_wei(OmegaConf.select(cfg, key, throw_on_missing=True), decimals)
        except ValueError as exc:
            errors.append(f"{key}: {exc}")
    if errors:
        raise ConfigError("invalid config: " + "; ".join(errors))
    return amounts


def validate_config(cfg: DictConfig) -> None:
    """Reject impossible values with a message naming the key."""
    n, task = int(cfg.participants), cfg.task
    wei = config_amounts(cfg)
    checks = [
        (n >= 2, "participants must be >= 2"),
        (int(task.rounds) >= 1, "task.rounds must be >= 1"),
        (
            1 <= int(task.proposers_per_round) < n,
            "task.proposers_per_round must be in [1, participants)",
        ),
        (int(task.max_voters) >= 1, "task.max_voters must be >= 1"),
        (0 <= int(task.slash_bps) <= 10_000, "task.slash_bps must be in [0, 10000]"),
        (0 <= int(task.voter_share_bps) <= 10_000, "task.voter_share_bps must be in [0, 10000]"),
        (wei["tokens.stake"] >= wei["task.min_stake"], "tokens.stake must be >= task.min_stake"),
        (
            wei["tokens.per_participant"] >= wei["tokens.stake"],
            "tokens.per_participant must cover tokens.stake",
        ),
        (wei["tokens.reward_pool"] > 0, "tokens.reward_pool must be > 0"),
        (int(cfg.training.epochs) >= 1, "training.epochs must be >= 1"),
        (float(cfg.training.lr) > 0, "training.lr must be > 0"),
        (0 < float(cfg.test_fraction) < 1, "test_fraction must be in (0, 1)"),
        (0 < float(cfg.holdout_fraction) < 1, "holdout_fraction must be in (0, 1)"),
    ]
    for count_key in ("proposer", "voter"):
        count = int(cfg.attack[count_key].count)
        checks.append((0 <= count <= n, f"attack.{count_key}.count must be in [0, participants]"))
    cartel_size = int(cfg.attack.get("cartel", {}).get("size", 0))
    checks.append((0 <= cartel_size <= n, "attack.cartel.size must be in [0, participants]"))
    errors = [msg for ok, msg in checks if not ok]
    if errors:
        raise ConfigError("invalid config: " + "; ".join(errors))


def score_tolerances(cfg: DictConfig, smallest_test_split: int | None = None) -> dict[str, int]:
    """The score thresholds `tolerance_bps`, `peer_tolerance_bps`, `min_deviation_bps` and
    `wash_mad_bps` as configured, the first two raised to `task.score_steps` score steps of the
    smallest private test split, the last two (the voter band's floor and the wash limit) to
    `task.band_score_steps` (default: twice as many): voters are judged on paired differences,
    the difference of two scores, whose honest spread is twice a score's.

    A voter's accuracy on n test samples moves in steps of 10000 / n basis points, and the
    median over voters stays on that lattice: a tolerance below about two steps rejects honest
    models one test sample worse than the global model (7 samples: 14.3-point steps), a voter
    band below it slashes honest voters, and a wash threshold below it voids every round in
    which a large minority disagrees (honest voters' own spread already reaches it). The split
    size is `task.min_test_samples` when set (a deployment whose splits are private), else
    `smallest_test_split`, else computed from the config's partition.
    """
    t = cfg.task
    configured = {
        "tolerance_bps": int(t.tolerance_bps),
        "peer_tolerance_bps": int(t.peer_tolerance_bps),
        "min_deviation_bps": int(t.min_deviation_bps),
        "wash_mad_bps": int(t.wash_mad_bps),
    }
    steps = float(t.get("score_steps") or 0)
    if steps == 0:
        return configured
    n = t.get("min_test_samples") or smallest_test_split
    if n is None:
        n = alliance_data(cfg).smallest_test_split
    floor = score_floor_bps(steps, int(n))
    band_steps = float(t.get("band_score_steps") or 2 * steps)
    band_floor = score_floor_bps(band_steps, int(n))
    floors = {"tolerance_bps": floor, "peer_tolerance_bps": floor}
    floors |= {"min_deviation_bps": band_floor, "wash_mad_bps": band_floor}
    raised = {k: max(v, floors[k]) for k, v in configured.items()}
    if raised != configured:
        log.info(
            "private test splits of %d samples: score tolerances raised to %d bps (%g steps), "
            "the voter band and wash limit to %d bps (%g steps)",
            int(n), floor, steps, band_floor, band_steps,
        )  # fmt: skip
    if floor > MAX_SCORE // 2:
        log.warning(
            "private test splits of %d samples are too small to judge a proposal (%g score "
            "steps = %d bps): raise test_fraction or give participants more data",
            int(n), steps, floor,
        )  # fmt: skip
    return raised


def task_params(
    cfg: DictConfig,
    *,
    spec_hash: bytes,
    initial_model_hash: bytes,
    smallest_test_split: int | None = None,
) -> TaskParams:
    """The contract's TaskConfig from the `task` and `reward` config groups (tolerances from
    :func:`score_tolerances`)."""
    t = cfg.task
    tolerances = score_tolerances(cfg, smallest_test_split)
    return TaskParams(
        spec_hash=spec_hash,
        initial_model_hash=initial_model_hash,
        min_stake=to_wei(t.min_stake),
        max_participants=int(t.max_participants or cfg.participants),
        proposers_per_round=int(t.proposers_per_round),
        max_voters=int(t.max_voters),
        min_voters=int(t.min_voters),
        rounds=int(t.rounds),
        enrol_period=int(t.enrol_period),
        propose_period=int(t.propose_period),
        commit_period=int(t.commit_period),
        reveal_period=int(t.reveal_period),
        max_samples=int(t.max_samples),
        slash_bps=int(t.slash_bps),
        tolerance_bps=tolerances["tolerance_bps"],
        peer_tolerance_bps=tolerances["peer_tolerance_bps"],
        mad_multiplier_x100=int(t.mad_multiplier_x100),
        min_deviation_bps=tolerances["min_deviation_bps"],
        wash_mad_bps=tolerances["wash_mad_bps"],
        voter_share_bps=int(t.voter_share_bps),
        reward_rule=RewardRule[str(cfg.reward.rule).upper()],
        softmax_temperature_bps=int(cfg.reward.softmax_temperature_bps),
    )


def spec_hash_of(cfg: DictConfig) -> bytes:
    """keccak256 of the canonical JSON of the off-chain training spec."""
    spec = {
        "dataset": OmegaConf.to_container(cfg.dataset, resolve=True),
        "model": OmegaConf.to_container(cfg.model, resolve=True),
        "training": OmegaConf.to_container(cfg.training, resolve=True),
        "aggregation": OmegaConf.to_container(cfg.aggregation, resolve=True),
    }
    if cfg.get("voting") is not None:  # how voters screen updates: every voter must agree
        spec["voting"] = OmegaConf.to_container(cfg.voting, resolve=True)
    return keccak(json.dumps(spec, sort_keys=True).encode())


@dataclass
class Member:
    """One local participant with its roles and assigned behaviours."""

    participant: ChainParticipant
    proposer: Proposer
    voter: Voter
    proposer_behaviour: str
    voter_behaviour: str

    @property
    def address(self) -> str:
        return self.participant.address


@dataclass
class Alliance:
    """The live state of a local alliance."""

    chain: Chain
    task: TaskClient
    members: list[Member]
    driver: RoundDriver
    store: UpdateStore
    #: The initial model and its hash (round 1's base).
    initial: tuple[torch.Tensor, bytes]
    holdout: Dataset
    make_model: Callable[[], torch.nn.Module]
    aggregation: Any
    num_params: int
    records: list[RoundRecord] = field(default_factory=list)
    #: Colluders who pool their honest updates each round (empty without attacks).
    cartel: Cartel = field(default_factory=lambda: Cartel({}))
    #: Rounds whose adopted aggregate differed from the honest recomputation.
    adopted_mismatches: list[int] = field(default_factory=list)
    #: Rounds whose aggregate found no attesting majority (void).
    voided_aggregates: list[int] = field(default_factory=list)

    def base(self) -> BaseModel:
        """The current round's base model as an honest member computes it (the pending
        aggregate recomputed from the chain, else the adopted model)."""
        return base_model(self.aggregation, self.task, self.store, self.num_params)


def participant_signer(cfg: DictConfig, index: int) -> Signer:
    """Participant `index`'s key (-1: the task creator): derived from the run seed on dev chains
    (reproducible runs), fresh and random elsewhere."""
    if str(cfg.chain.kind) == "rpc" and not cfg.chain.get("dev"):
        return Signer.create()
    return Signer.from_key(keccak(f"flock/{cfg.seed}/participant/{index}".encode()))


def attacker_indices(cfg: DictConfig, n: int, role: str) -> set[int]:
    """Indices of the `n` participants the config's `attack` group makes misbehave as `role`
    ("proposer" or "voter"); drawn from the seed, so every orchestration agrees."""
    return set(draw_attackers(int(cfg.seed), n, int(cfg.attack[role].count), role))


def build_alliance(cfg: DictConfig, chain: Chain, run_dir: Path) -> Alliance:
    """Deploy the task and set up N funded, staked participants with their data and roles."""
    torch.manual_seed(int(cfg.seed))
    drawn = alliance_data(cfg)
    dataset, holdout, data = drawn.dataset, drawn.holdout, drawn.participants
    n = int(cfg.participants)

    def make_model() -> torch.nn.Module:
        return instantiate(cfg.model)

    model = make_model()
    initial = flatten_params(model)
    store = UpdateStore(
        run_dir / "store", max_bytes=int(cfg.store.max_bytes), uri_base=cfg.store.get("uri_base")
    )
    initial_hash = store.put(initial, {"kind": "initial", "round": "0"})

    sender = TxSender(
        chain,
        gas_margin=float(cfg.chain.gas_margin),
        fee_ttl_s=float(cfg.chain.get("fee_ttl_s", 1.0)),
    )
    creator = participant_signer(cfg, -1)  # the task creator; index -1 by convention
    chain.fund(creator.address, to_wei(cfg.chain.fund_wei, decimals=0))
    params = task_params(
        cfg,
        spec_hash=spec_hash_of(cfg),
        initial_model_hash=initial_hash,
        smallest_test_split=drawn.smallest_test_split,
    )
    tokens = cfg.tokens
    deployment, task = deploy_alliance(
        sender,
        creator,
        params,
        reward_pool=to_wei(tokens.reward_pool),
        token_supply=to_wei(tokens.supply),
    )
    log.info(
        "task %s deployed (token %s, factory %s)",
        task.address,
        deployment.token,
        deployment.factory,
    )

    attack = OmegaConf.to_container(cfg.attack, resolve=True)
    plan = plan_attacks(attack, n=n, seed=int(cfg.seed))  # type: ignore[arg-type]
    signers = [participant_signer(cfg, i) for i in range(n)]
    colluders = [signers[i].address for i in sorted(plan.colluders)]
    spec = TrainingSpec(**OmegaConf.to_container(cfg.training, resolve=True))  # type: ignore[arg-type]
    screening = ScreeningRules.from_config(cfg.get("voting"))
    members = []
    for i, signer in enumerate(signers):
        chain.fund(signer.address, to_wei(cfg.chain.fund_wei, decimals=0))
        task.token.transfer(creator, signer.address, to_wei(tokens.per_participant))
        rng = random.Random(f"{cfg.seed}/secrets/{i}")
        participant = ChainParticipant(signer, task, new_secret=partial(rng.randbytes, 32))
        ctx = RoleContext(participant, data[i], store, make_model, num_params(model))
        seed = int(cfg.seed) * 1000 + i
        p_behaviour = plan.proposer_behaviour(i, num_classes=dataset.num_classes, seed=seed)
        v_behaviour = plan.voter_behaviour(i, colluders=colluders)
        members.append(
            Member(
                participant=participant,
                proposer=Proposer(ctx, spec, p_behaviour, seed=seed),
                voter=Voter(ctx, v_behaviour, seed=seed, screening=screening),
                proposer_behaviour=plan.assignments[i].proposer,
                voter_behaviour=plan.assignments[i].voter,
            )
        )
    driver = RoundDriver(chain, task, [m.participant for m in members], creator)
    driver.join_all(to_wei(tokens.stake))
    alliance = Alliance(
        chain=chain,
        task=task,
        members=members,
        driver=driver,
        store=store,
        initial=(initial, initial_hash),
        holdout=holdout,
        make_model=make_model,
        aggregation=cfg.aggregation,
        num_params=num_params(model),
        cartel=Cartel(
            {members[i].address: members[i].proposer.honest_vector for i in plan.colluders}
        ),
    )
    return alliance


def check_adoption(alliance: Alliance, round_: int, honest: BaseModel) -> None:
    """After `round_` settled: compare the aggregate its voters' attestations adopted (if any)
    with the honest recomputation `honest` (the round's base), and record a mismatch or a void."""
    adopted = alliance.task.adopted_aggregate(round_)
    if adopted is not None:
        if adopted.round != honest.round or adopted.model_hash != honest.model_hash:
            alliance.adopted_mismatches.append(adopted.round)
            log.error(
                "round %d adopted %s for round %d; the honest recomputation is %s (round %d)",
                round_, adopted.model_hash.hex()[:12], adopted.round,
                honest.model_hash.hex()[:12], honest.round,
            )  # fmt: skip
        else:
            log.info(
                "round %d's aggregate adopted by %d of %d voters of round %d",
                adopted.round, adopted.votes, adopted.reveals, round_,
            )  # fmt: skip
    voided = alliance.task.voided_aggregate(round_)
    if voided is not None:
        alliance.voided_aggregates.append(voided)
        log.warning("round %d's aggregate found no attesting majority: void", voided)


def model_accuracy(alliance: Alliance, params: torch.Tensor) -> float:
    """Accuracy of flat parameters `params` on the public holdout (reporting only)."""
    model = alliance.make_model()
    load_flat_params(model, params)
    holdout = alliance.holdout
    x = torch.as_tensor(holdout.features).reshape(-1, *holdout.feature_shape)
    return evaluate(model, x, torch.as_tensor(holdout.labels))


def published_updates(alliance: Alliance, round_: int) -> list[torch.Tensor]:
    """The vectors of the proposals published so far in `round_` (public blobs)."""
    return [alliance.store.get(q.update_hash).vector for q in alliance.task.proposals(round_)]


def play_round(cfg: DictConfig, alliance: Alliance, r: int) -> RoundResult:
    """Play round `r` (a closing round has voters only): every member trains from and attests
    the honest base (the pending aggregate recomputed from the chain, or the adopted model)."""
    members = {m.address: m for m in alliance.members}
    base = alliance.base()
    committee = (  # the round's proposers, for the attacks that need n and m
        [a for a, role in alliance.driver.roles(r).items() if role == Role.PROPOSER]
        if alliance.cartel.members
        else []
    )
    max_samples = alliance.task.params.max_samples

    def propose(p: ChainParticipant, round_: int) -> tuple[bytes, int, str, bytes]:
        context = None
        if p.address in alliance.cartel.members:  # its attack sees the cartel's updates
            context = alliance.cartel.context(
                round_,
                base.params,
                proposers=committee,
                published=partial(published_updates, alliance, round_),
            )
        return members[p.address].proposer.prepare(
            base.params,
            round_,
            context,
            base_hash=base.model_hash,
            initial=alliance.initial,
            max_samples=max_samples,
        )

    def score(p: ChainParticipant, round_: int, proposals: list) -> tuple[list[int], bytes]:
        ballot = members[p.address].voter.ballot(
            base.params,
            proposals,
            base_hash=base.model_hash,
            round_=round_,
            reference_norm=base.update_norm,
        )
        return ballot.scores, ballot.attestation

    def reveal(p: ChainParticipant, round_: int) -> bool:
        return members[p.address].voter.behaviour.reveals  # a lazy voter never reveals

    result = alliance.driver.play_round(r, propose, score, reveal)
    check_adoption(alliance, r, base)
    return result


def play(cfg: DictConfig, alliance: Alliance) -> None:
    """Start the task and play every round, then the closing round that attests the last
    aggregate, recording metrics (the accuracy of the model the next round trains from) and
    logging progress."""
    members = {m.address: m for m in alliance.members}
    alliance.driver.start()
    rounds = int(cfg.task.rounds)
    r = 1
    while True:
        started = time.perf_counter()
        result = play_round(cfg, alliance, r)
        after = alliance.base()  # what the next round trains from (or the final model)
        accuracy = model_accuracy(alliance, after.params)
        digest = after.model_hash if after.round == r else None
        record = RoundRecord.from_round(
            result, alliance.task, members, accuracy, digest, time.perf_counter() - started
        )
        alliance.records.append(record)
        log.info(
            "round %d/%d  acc=%.4f  outcome=%s  accepted=%d rejected=%d  slashed=%d  %.1fs",
            r,
            rounds,
            accuracy,
            result.settlement.outcome.name,
            len(record.accepted),
            len(record.rejected),
            len(record.slashes),
            record.seconds,
        )
        _, ended, _ = alliance.task.status()
        if ended:
            break
        r += 1
        if r > rounds:
            log.info("closing round %d: voters attest the last aggregate", r)


def adopted_model_accuracy(alliance: Alliance) -> tuple[float, int]:
    """Accuracy of the global model the chain adopted (read from the store by its on-chain
    hash), and the round whose aggregate it is (0: the initial model)."""
    digest, round_ = alliance.task.global_model()
    params = alliance.store.get(digest, expected_numel=alliance.num_params).vector
    return model_accuracy(alliance, params), round_


def settle_accounts(alliance: Alliance) -> dict[str, dict[str, float]]:
    """After the last round every participant claims its rewards and withdraws its stake."""
    task = alliance.task
    final: dict[str, dict[str, float]] = {}
    for m in alliance.members:
        stake, claimable = task.account_of(m.address)
        if claimable:
            task.claim(m.participant.signer)
        if stake:
            task.withdraw(m.participant.signer)
        final[m.address] = {
            "stake": stake / TOKEN,
            "rewards": claimable / TOKEN,
            "balance": task.token.balance_of(m.address) / TOKEN,
        }
    return final


def run(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Run one local alliance as configured; write reports into `run_dir`; return the summary."""
    validate_config(cfg)
    torch.set_num_threads(int(cfg.torch_threads))
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open_chain(cfg.chain) as chain:
        alliance = build_alliance(cfg, chain, run_dir)
        play(cfg, alliance)
        final_accuracy, final_round = adopted_model_accuracy(alliance)
        final = settle_accounts(alliance)
        totals = alliance.task.totals()
    summary = {
        "final_accuracy": final_accuracy,
        "final_model_round": final_round,
        "adopted_aggregate_mismatches": len(alliance.adopted_mismatches),
        "voided_aggregates": len(alliance.voided_aggregates),
        "rounds": int(cfg.task.rounds),
        "participants": len(alliance.members),
        "task": alliance.task.address,
        "chain": str(cfg.chain.kind),
        "aggregation": str(cfg.aggregation.name),
        "reward_rule": str(cfg.reward.rule),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "gas_total": sum(g.gas for g in alliance.driver.gas_log),
        "task_balance_after": totals["balance"] / TOKEN,
        "behaviours": {
            m.address: {"proposer": m.proposer_behaviour, "voter": m.voter_behaviour}
            for m in alliance.members
        },
        "slashed": sorted({a for rec in alliance.records for a, _, _ in rec.slashes}),
        "final_accounts": final,
    }
    write_reports(run_dir, alliance.records, summary)
    return summary
