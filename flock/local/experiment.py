"""A local alliance end to end (`flock run`): set it up, play every round on the chain, check
each adopted model against an honest recomputation, write the reports."""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from flock.contracts import Role
from flock.contracts.connect import open_chain
from flock.contracts.eventlog import EventLogExporter, TaskReader
from flock.contracts.participant import ChainParticipant
from flock.learning.pretrain import resolve_base
from flock.learning.quality import holdout_quality, quality_metric_name
from flock.learning.text import TextHoldout, TextParticipantData
from flock.local.alliance import Alliance, build_alliance
from flock.local.driver import RoundResult
from flock.local.reporting import ACCURACY, EVAL_LOSS, QualityMetric, RoundRecord, write_reports
from flock.local.solo import SoloBaselines, plan_from_config
from flock.roles.global_model import BaseModel
from flock.spec import TOKEN, validate_config

log = logging.getLogger(__name__)


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


def quality_metric(alliance: Alliance) -> QualityMetric:
    """What a run measures its global model by: accuracy, or for the language-model task the
    held-out loss."""
    return EVAL_LOSS if quality_metric_name(alliance.holdout) == EVAL_LOSS.name else ACCURACY


def model_quality(alliance: Alliance, params: torch.Tensor) -> float:
    """Accuracy of flat parameters `params` on the public holdout (reporting only); for the
    language-model task, the mean held-out loss over the members' topics (lower is better)."""
    return holdout_quality(alliance.make_model, alliance.holdout, params)


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
            reference_norms=base.update_norms,
        )
        return ballot.scores, ballot.attestation

    def reveal(p: ChainParticipant, round_: int) -> bool:
        return members[p.address].voter.behaviour.reveals  # a lazy voter never reveals

    result = alliance.driver.play_round(r, propose, score, reveal)
    check_adoption(alliance, r, base)
    return result


def play(cfg: DictConfig, alliance: Alliance, event_log: EventLogExporter | None = None) -> None:
    """Start the task and play every round, then the closing round that attests the last
    aggregate, recording metrics (the quality of the model the next round trains from) and
    logging progress; `event_log` exports the chain's record after the start and each round."""
    members = {m.address: m for m in alliance.members}
    metric = quality_metric(alliance)
    alliance.driver.start()
    if event_log is not None:
        event_log.export()
    rounds = int(cfg.task.rounds)
    r = 1
    while True:
        started = time.perf_counter()
        result = play_round(cfg, alliance, r)
        after = alliance.base()  # what the next round trains from (or the final model)
        quality = model_quality(alliance, after.params)
        digest = after.model_hash if after.round == r else None
        record = RoundRecord.from_round(
            result, alliance.task, members, quality, digest, time.perf_counter() - started
        )
        alliance.records.append(record)
        if event_log is not None:
            event_log.export([{"round": r, metric.name: float(f"{quality:.4f}")}])
        log.info(
            "round %d/%d  %s=%.4f  outcome=%s  accepted=%d rejected=%d  slashed=%d  %.1fs",
            r,
            rounds,
            metric.name,
            quality,
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


def adopted_model_quality(alliance: Alliance) -> tuple[float, int]:
    """The quality (`quality_metric`) of the global model the chain adopted (read from the
    store by its on-chain hash), and the round whose aggregate it is (0: the initial model)."""
    digest, round_ = alliance.task.global_model()
    params = alliance.store.get(digest, expected_numel=alliance.num_params).vector
    return model_quality(alliance, params), round_


def start_solo_baselines(cfg: DictConfig, alliance: Alliance) -> SoloBaselines | None:
    """For the language-model task, start every member's go-it-alone baseline beside the run
    (`lm_report.solo`); None for classification or without that block."""
    if not isinstance(alliance.holdout, TextHoldout) or cfg.get("lm_report") is None:
        return None
    texts = [m.proposer.ctx.data for m in alliance.members]
    members = [(d.topic, d.x_train) for d in texts if isinstance(d, TextParticipantData)]
    return SoloBaselines(
        plan_from_config(cfg),
        members,
        alliance.initial[0],
        alliance.holdout.topics,
        seed=int(cfg.seed),
        workers=int(cfg.lm_report.solo.workers),
    )


def lm_figures(alliance: Alliance, solo: SoloBaselines | None) -> dict[str, Any]:
    """The language-model task's summary figures (none for classification)."""
    if not isinstance(alliance.holdout, TextHoldout):
        return {}
    from flock.local.lm_report import lm_summary

    digest, _ = alliance.task.global_model()
    params = alliance.store.get(digest, expected_numel=alliance.num_params).vector
    return lm_summary(alliance, params, solo.results() if solo is not None else None)


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


def export_event_log(alliance: Alliance, run_dir: Path) -> EventLogExporter:
    """Start `run_dir`/events.jsonl: the task's public record for `flock dashboard --run-dir`,
    with each member's behaviours (the run knows its attackers)."""
    behaviours = {
        m.address: {"proposer": m.proposer_behaviour, "voter": m.voter_behaviour}
        for m in alliance.members
    }
    reader = TaskReader(alliance.chain, alliance.task.address)
    return EventLogExporter(run_dir / "events.jsonl", reader, members=behaviours)


def run(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Run one local alliance as configured; write reports into `run_dir`; return the summary."""
    validate_config(cfg)
    torch.set_num_threads(int(cfg.torch_threads))
    run_dir.mkdir(parents=True, exist_ok=True)
    resolve_base(cfg)  # model=causal_lm: the stored base model (pretrained once)
    started = time.perf_counter()
    with open_chain(cfg.chain) as chain:
        alliance = build_alliance(cfg, chain, run_dir)
        solo: SoloBaselines | None = None
        try:
            solo = start_solo_baselines(cfg, alliance)
            event_log = export_event_log(alliance, run_dir)
            play(cfg, alliance, event_log)
            final_quality, final_round = adopted_model_quality(alliance)
            metric = quality_metric(alliance)
            lm = lm_figures(alliance, solo)
            final = settle_accounts(alliance)
            event_log.export()
            totals = alliance.task.totals()
        finally:
            if solo is not None:
                solo.close()
            alliance.close()
    summary = {
        f"final_{metric.name}": final_quality,  # final_accuracy, or final_eval_loss
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
    } | lm
    write_reports(run_dir, alliance.records, summary, metric)
    return summary
