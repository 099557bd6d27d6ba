"""Per-round records of an alliance run and the files written from them (CSV, JSON, PNG)."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from flock.contracts import Role, TaskClient  # noqa: E402
from flock.learning.quality import ACCURACY_NAME, EVAL_LOSS_NAME  # noqa: E402
from flock.local.driver import RoundResult  # noqa: E402

log = logging.getLogger(__name__)

TOKEN = 10**18


@dataclass(frozen=True)
class QualityMetric:
    """How a run measures its global model each round: the metrics.csv column and event-log key
    (`name`), the plot's axis label and its upper bound (None: from the data)."""

    name: str
    label: str
    upper: float | None
    title: str


#: Classification: accuracy on the public holdout.
ACCURACY = QualityMetric(
    ACCURACY_NAME, "global model accuracy (holdout)", 1.0, "Accuracy per round"
)
#: The language-model task: mean held-out loss over the members' topics (lower is better).
EVAL_LOSS = QualityMetric(
    EVAL_LOSS_NAME, "held-out loss, mean over topics (nats/token)", None, "Held-out loss per round"
)


@dataclass(frozen=True)
class RoundRecord:
    """What one round did, as read back from the chain; `quality` is the global model's
    measure after it (accuracy, or the held-out loss of the language-model task)."""

    round: int
    quality: float
    outcome: str
    accepted: list[str]
    rejected: list[str]
    slashes: list[tuple[str, str, float]]
    rewards: dict[str, float]
    roles: dict[str, str]
    stakes: dict[str, float]
    claimable: dict[str, float]
    behaviours: dict[str, str]
    aggregate_hash: str | None
    seconds: float

    @classmethod
    def from_round(
        cls,
        result: RoundResult,
        task: TaskClient,
        members: Mapping[str, Any],
        quality: float,
        aggregate_hash: bytes | None,
        seconds: float,
    ) -> RoundRecord:
        """Build from a played round and the accounts on chain after it."""
        s = result.settlement
        accounts = {a: task.account_of(a) for a in members}
        behaviours = {}
        for address, m in members.items():
            role = result.roles[address]
            if role == Role.PROPOSER:
                behaviours[address] = m.proposer_behaviour
            elif role == Role.VOTER:
                behaviours[address] = m.voter_behaviour
            else:
                behaviours[address] = "-"
        return cls(
            round=result.round,
            quality=quality,
            outcome=s.outcome.name,
            accepted=[p.proposer for p in result.proposals if s.accepted(p.index)],
            rejected=[p.proposer for p in result.proposals if not s.accepted(p.index)],
            slashes=[(a, reason.name, amount / TOKEN) for a, reason, amount in s.slashes],
            rewards={a: amount / TOKEN for a, amount in s.rewards},
            roles={a: role.name for a, role in result.roles.items()},
            stakes={a: v[0] / TOKEN for a, v in accounts.items()},
            claimable={a: v[1] / TOKEN for a, v in accounts.items()},
            behaviours=behaviours,
            aggregate_hash=aggregate_hash.hex() if aggregate_hash else None,
            seconds=round(seconds, 3),
        )


def write_reports(
    run_dir: Path,
    records: list[RoundRecord],
    summary: dict[str, Any],
    metric: QualityMetric = ACCURACY,
) -> None:
    """Write metrics.csv (its quality column named by `metric`), participants.csv, timings.csv,
    summary.json, `<metric>.png` (accuracy.png, or eval_loss.png) and stake.png.

    metrics.csv and participants.csv hold only what the run computed, so two runs of one
    config on the embedded chain write them byte for byte alike; wall-clock times go to
    timings.csv (and summary.json).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "metrics.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["round", metric.name, "outcome", "accepted", "rejected", "slashed", "credited"]
        )
        for r in records:
            credited = f"{sum(r.rewards.values()):.6f}"
            writer.writerow(
                [r.round, f"{r.quality:.4f}", r.outcome, len(r.accepted), len(r.rejected),
                 len(r.slashes), credited]
            )  # fmt: skip
    with (run_dir / "timings.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["round", "seconds"])
        writer.writerows([r.round, r.seconds] for r in records)
    with (run_dir / "participants.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["round", "participant", "role", "behaviour", "stake", "claimable", "reward", "slashed"]
        )
        for r in records:
            slashed = {a: amount for a, _, amount in r.slashes}
            for address in r.stakes:
                writer.writerow(
                    [r.round, address, r.roles.get(address, "NONE"), r.behaviours.get(address, "-"),
                     f"{r.stakes[address]:.6f}", f"{r.claimable[address]:.6f}",
                     f"{r.rewards.get(address, 0.0):.6f}", f"{slashed.get(address, 0.0):.6f}"]
                )  # fmt: skip
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _plot(run_dir, records, summary, metric)
    log.info("reports written to %s", run_dir)


def _plot(
    run_dir: Path, records: list[RoundRecord], summary: dict[str, Any], metric: QualityMetric
) -> None:
    if not records:
        return
    rounds = [r.round for r in records]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(rounds, [r.quality for r in records], marker="o")
    ax.set_xlabel("round")
    ax.set_ylabel(metric.label)
    if metric.upper is not None:
        ax.set_ylim(0, metric.upper)
    ax.grid(alpha=0.3)
    ax.set_title(metric.title)
    fig.tight_layout()
    fig.savefig(run_dir / f"{metric.name}.png", dpi=120)
    plt.close(fig)

    behaviours = summary.get("behaviours", {})
    fig, ax = plt.subplots(figsize=(6, 4))
    for address in records[0].stakes:
        kinds = behaviours.get(address, {})
        bad = any(v != "honest" for v in kinds.values())
        ax.plot(
            rounds,
            [r.stakes[address] for r in records],
            color="tab:red" if bad else "tab:blue",
            alpha=0.8,
            label="attacker" if bad else "honest",
        )
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=False))
    ax.legend(unique.values(), unique.keys())
    ax.set_xlabel("round")
    ax.set_ylabel("stake (tokens)")
    ax.set_title("Stake per participant")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(run_dir / "stake.png", dpi=120)
    plt.close(fig)
