"""What one run of the defence sweep records (saved as JSON, summarised by the benchmark)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
from omegaconf import DictConfig

from flock.defence.config import RULES


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
    majority_rounds : int
        Rounds in which attackers held more than half of the proposer seats.
    noise : dict of str to list of int
        flock's rule: per settled round, the honest figures of each settlement threshold and
        the attackers' score gaps (:mod:`flock.defence.noise`).
    proposers_per_round, max_voters : int
        The committee the run's role draws used (`task.proposers_per_round`,
        `task.max_voters`): who held which role when follows from them. 0: not recorded
        (results saved before they were); the summary then takes its preset's.
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
    noise: dict[str, list[int]] = field(default_factory=dict)
    majority_rounds: int = 0
    proposers_per_round: int = 0
    max_voters: int = 0

    @classmethod
    def for_run(
        cls,
        cfg: DictConfig,
        *,
        defence: str,
        rule: str,
        participants: int,
        attackers: list[int],
        on_chain: bool = False,
    ) -> RunResult:
        """An empty result labelled from the run's config (attack, eta, seed, dataset, rounds)."""
        eta = cfg.defence.get("eta")
        return cls(
            defence=defence,
            attack=str(cfg.defence.get("attack_name") or "custom"),
            eta=None if eta is None else float(eta),
            seed=int(cfg.seed),
            dataset=str(cfg.defence.get("label") or cfg.dataset.name),
            participants=participants,
            rounds=int(cfg.task.rounds),
            attackers=attackers,
            rule=rule,
            on_chain=on_chain,
            proposers_per_round=int(cfg.task.proposers_per_round),
            max_voters=int(cfg.task.max_voters),
        )

    def committee(self, default: tuple[int, int]) -> tuple[int, int]:
        """(proposers per round, max voters) of the run's role draws; `default` when the run
        did not record them."""
        if self.proposers_per_round and self.max_voters:
            return self.proposers_per_round, self.max_voters
        return default

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
