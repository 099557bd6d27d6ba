"""The defence grid's runs summarised: cells (one defence under one attack and eta, medians over
the seeds), the issue's goals on them, and the `name: value` figure lines."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from flock.defence.grid import (
    CONFIG_DIR,
    ETAS,
    MAJORITY_FAMILY,
    ROBUST_FLOWER,
    SIMPLE_ATTACKS,
    STATISTICAL_ATTACKS,
    UNVOTED,
    VOTE_ONLY,
    VOTER_ATTACKS,
)
from flock.defence.world import role_seed
from flock.roles import assign_roles
from flock.spec import participant_signer


def _exposing_roles(attack: str) -> set[str]:
    """The roles in which an attacker of `attack` misbehaves (and can be caught)."""
    if attack in VOTE_ONLY:
        return {"VOTER"}
    if attack in ("colluding_cartel", "cartel"):
        return {"PROPOSER", "VOTER"}
    return {"PROPOSER"}


_ROLE_CACHE: dict[tuple[int, int, int, int, int], list[dict[int, str]]] = {}


def first_exposures(result, committee: tuple[int, int]) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """Per attacker, the first round that drew it into a role it misbehaves in (attackers never
    drawn are absent): before that round no detector can slash it. The simulation's role seeds
    with the whole roster (under the paper's rule removals change later draws) and the committee
    the run recorded (`committee`, proposers per round and max voters, stands in for a run that
    recorded none); empty for runs on the contract, whose seeds differ."""
    if result.on_chain or not result.attackers:
        return {}
    proposers, voters = result.committee(committee)
    key = (result.seed, result.participants, result.rounds, proposers, voters)
    if key not in _ROLE_CACHE:
        cfg = OmegaConf.create({"seed": result.seed, "chain": {"kind": "embedded"}})
        roster = [participant_signer(cfg, i).address for i in range(result.participants)]
        draws = []
        for r in range(1, result.rounds + 1):
            roles = assign_roles(
                roster, role_seed(result.seed, r), proposers_per_round=proposers, max_voters=voters
            )
            draws.append({i: roles[a].name for i, a in enumerate(roster)})
        _ROLE_CACHE[key] = draws
    exposing = _exposing_roles(result.attack)
    first = {}
    for i in result.attackers:
        rounds = [r for r, roles in enumerate(_ROLE_CACHE[key], 1) if roles[i] in exposing]
        if rounds:
            first[i] = rounds[0]
    return first


def exposure_round(result, committee: tuple[int, int], fraction: float = 0.9) -> float:  # type: ignore[no-untyped-def]
    """The round by which `fraction` of the attackers were drawn at least once into a role they
    misbehave in (the role draw's bound on slashing); NaN for runs on the contract."""
    if result.on_chain or not result.attackers:
        return float("nan")
    first = sorted(first_exposures(result, committee).values())
    needed = math.ceil(fraction * len(result.attackers))
    return float(first[needed - 1]) if len(first) >= needed else math.inf


def exposed_slashed_pct(result, committee: tuple[int, int], by_round: int = 5) -> float:  # type: ignore[no-untyped-def]
    """Of the attackers drawn into the role they cheat in within the first `by_round` rounds,
    the share (%) slashed by round `by_round`; NaN when none was drawn, or on the contract."""
    exposed = [i for i, r in first_exposures(result, committee).items() if r <= by_round]
    if not exposed:
        return float("nan")
    caught = sum(1 for i in exposed if result.first_slashed.get(i, math.inf) <= by_round)
    return 100.0 * caught / len(exposed)


@dataclass(frozen=True)
class Cell:
    """One defence under one attack and eta, over its seeds."""

    seeds: int
    final_acc: float
    accuracy: list[float]
    rounds_to_90: float
    exposed_90: float
    slashed_by_5_pct: float
    #: of the attackers drawn by round 5 into the role they cheat in, % slashed by round 5
    exposed_slashed_by_5_pct: float
    honest_slashed: float
    honest_slashed_max: int
    attacker_stake: float
    honest_stake: float
    attacker_stake_curve: list[float]
    honest_stake_curve: list[float]
    backdoor_max: float
    backdoor_final: float
    skipped: float
    accepted_attack_pct: float
    settles: bool


Key = tuple[str, str, float | None, str]  # dataset, attack, eta, defence


def _median(values: Iterable[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(statistics.median(finite)) if finite else float("nan")


def _curve(curves: Sequence[Sequence[float]]) -> list[float]:
    if not curves or not all(curves):
        return []
    return [_median(c[r] for c in curves) for r in range(min(len(c) for c in curves))]


def summarise(results: Iterable, committee: tuple[int, int] | None = None) -> dict[Key, Cell]:
    """Group runs by (dataset, attack, eta, defence) and take medians over seeds; the role
    draw's bound on slashing comes from each run's recorded committee, or from `committee`
    (proposers per round, max voters) for runs that recorded none."""
    groups: dict[Key, list] = defaultdict(list)
    for r in results:
        groups[(r.dataset, r.attack, r.eta, r.defence)].append(r)
    cells = {}
    for key, runs in groups.items():
        settles = runs[0].settles
        # the role draws are known: the run recorded its committee or the caller named one
        known = committee is not None or all(r.proposers_per_round for r in runs)
        drawn = known and settles and key[1] != "none"
        fallback = committee or (0, 0)  # unused when every run recorded its own
        to_90 = [r.rounds_to_slash(0.9) for r in runs]
        by_5 = []
        for r in runs:
            if r.attackers:
                caught = sum(1 for i in r.attackers if r.first_slashed.get(i, 99) <= 5)
                by_5.append(100.0 * caught / len(r.attackers))
        proposed = sum(r.attack_updates for r in runs)
        cells[key] = Cell(
            seeds=len(runs),
            final_acc=_median(100 * r.final_accuracy for r in runs),
            accuracy=_curve([[100 * a for a in r.accuracy] for r in runs]),
            rounds_to_90=_median(math.inf if t is None else t for t in to_90),
            exposed_90=(
                _median(exposure_round(r, fallback) for r in runs) if drawn else float("nan")
            ),
            slashed_by_5_pct=_median(by_5) if by_5 else float("nan"),
            exposed_slashed_by_5_pct=(
                _median(exposed_slashed_pct(r, fallback) for r in runs) if drawn else float("nan")
            ),
            honest_slashed=_median(r.honest_slashed() for r in runs),
            honest_slashed_max=max(r.honest_slashed() for r in runs),
            attacker_stake=_median(r.attacker_stake[-1] for r in runs if r.attacker_stake),
            honest_stake=_median(r.honest_stake[-1] for r in runs if r.honest_stake),
            attacker_stake_curve=_curve([r.attacker_stake for r in runs]),
            honest_stake_curve=_curve([r.honest_stake for r in runs]),
            backdoor_max=_median(100 * max(r.backdoor) for r in runs if r.backdoor),
            backdoor_final=_median(100 * r.backdoor[-1] for r in runs if r.backdoor),
            skipped=_median(r.skipped_rounds for r in runs),
            accepted_attack_pct=(
                100.0 * sum(r.attack_updates_accepted for r in runs) / proposed
                if proposed
                else float("nan")
            ),
            settles=settles,
        )
    return cells


def clean_reference(cells: dict[Key, Cell], dataset: str, defence: str) -> Cell | None:
    """The defence's run without attack on `dataset` (the vote-only attacks' baselines too)."""
    return cells.get((dataset, "none", None, defence))


def cell_for(cells: dict[Key, Cell], key: Key) -> tuple[Cell | None, bool]:
    """The cell of `key`, or the clean run of a defence without a vote under a vote-only attack
    (True)."""
    if key in cells:
        return cells[key], False
    dataset, attack, _, defence = key
    if attack in VOTE_ONLY and defence in UNVOTED:
        return clean_reference(cells, dataset, defence), True
    return None, False


def fmt(value: float, digits: int = 1) -> str:
    """A figure as the tables print it: `n/a` for NaN, `never` for infinity."""
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "never"
    return f"{value:.{digits}f}"


def _label(defence: str, attack: str, eta: float | None, dataset: str) -> str:
    parts = [defence, attack] + ([] if eta is None else [f"{eta:g}"])
    if dataset != "digits":
        parts.append(dataset)
    return ",".join(parts)


# ------------------------------------------------------------------------------------ goals


@dataclass(frozen=True)
class GoalCheck:
    """One goal on one cell: its name, whether it holds, and the figure it rests on."""

    name: str
    met: bool
    figure: str


def goals_for(
    cells: dict[Key, Cell], key: Key, *, rounds_goal: int = 5, slash_share: float = 90.0
) -> list[GoalCheck]:
    """The issue's goals that apply to a cell of a settling rule (empty for the others)."""
    dataset, attack, eta, defence = key
    cell, _ = cell_for(cells, key)
    clean = clean_reference(cells, dataset, defence)
    if cell is None or not cell.settles or attack == "none" or eta is None:
        return []
    checks = []
    drop = clean.final_acc - cell.final_acc if clean else float("nan")
    if attack in SIMPLE_ATTACKS or attack in VOTER_ATTACKS:
        fedavg, _ = cell_for(cells, (dataset, attack, eta, "fedavg"))
        fedavg_clean = clean_reference(cells, dataset, "fedavg")
        fedavg_drop = (
            fedavg_clean.final_acc - fedavg.final_acc if fedavg and fedavg_clean else float("nan")
        )
        figure = f"{fmt(drop)} pts; FedAvg {fmt(fedavg_drop)}"
        checks.append(GoalCheck("acc within 2 pts", drop <= 2.0, figure))
    if attack in STATISTICAL_ATTACKS and eta == 0.2:
        flower = [cell_for(cells, (dataset, attack, eta, b))[0] for b in ROBUST_FLOWER]
        best = max((c.final_acc for c in flower if c is not None), default=float("nan"))
        checks.append(GoalCheck("drop <= 5 pts", drop <= 5.0, f"{fmt(drop)} pts"))
        checks.append(
            GoalCheck(
                "beats every robust Flower strategy", cell.final_acc > best, f"best {fmt(best)}"
            )
        )
    if dataset.endswith("_" + MAJORITY_FAMILY):  # attackers hold most proposer seats at times
        others = [cell_for(cells, (dataset, attack, eta, b))[0] for b in UNVOTED]
        best = max((c.final_acc for c in others if c is not None), default=float("nan"))
        checks.append(
            GoalCheck("ahead of every baseline", cell.final_acc > best, f"best {fmt(best)}")
        )
    exposed = cell.exposed_slashed_by_5_pct
    if math.isnan(exposed):  # on the contract (its role seeds differ): every attacker counts
        share, whom = cell.slashed_by_5_pct, "attackers"
    else:
        share, whom = exposed, "attackers that held their role"
    checks.append(
        GoalCheck(
            f">= {slash_share:g} % of attackers that held their role slashed by round "
            f"{rounds_goal}",
            share >= slash_share,
            f"{fmt(share, 0)} % of {whom}",
        )
    )
    if eta <= 0.3:
        checks.append(
            GoalCheck(
                "0 honest slashed", cell.honest_slashed_max == 0, f"max {cell.honest_slashed_max}"
            )
        )
    if attack == "backdoor":
        checks.append(
            GoalCheck(
                "backdoor <= 5 %",
                cell.backdoor_max <= 5.0,
                f"max {fmt(cell.backdoor_max)} %, final {fmt(cell.backdoor_final)} %",
            )
        )
    return checks


# ------------------------------------------------------------------------------------ lines


def figure_lines(cells: dict[Key, Cell]) -> list[str]:
    """The `name: value` lines the tables are made from."""
    lines = []
    keys = sorted(cells, key=lambda k: (k[0] != "digits", k[0], k[1], k[2] or 0.0, k[3]))
    for dataset, attack, eta, defence in keys:
        cell = cells[(dataset, attack, eta, defence)]
        label = _label(defence, attack, eta, dataset)
        lines.append(f"final_acc[{label}]: {fmt(cell.final_acc)}")
        clean = clean_reference(cells, dataset, defence)
        if attack != "none" and clean is not None:
            lines.append(f"acc_drop_pts[{label}]: {fmt(clean.final_acc - cell.final_acc)}")
        if cell.settles and attack != "none":
            lines.append(f"attackers_slashed_by_r5_pct[{label}]: {fmt(cell.slashed_by_5_pct)}")
            if not math.isnan(cell.exposed_slashed_by_5_pct):
                lines.append(
                    f"exposed_attackers_slashed_by_r5_pct[{label}]: "
                    f"{fmt(cell.exposed_slashed_by_5_pct)}"
                )
            lines.append(f"rounds_to_90pct_slashed[{label}]: {fmt(cell.rounds_to_90, 0)}")
            if not math.isnan(cell.exposed_90):
                lines.append(f"rounds_to_90pct_drawn[{label}]: {fmt(cell.exposed_90, 0)}")
            lines.append(f"attacker_stake[{label}]: {fmt(cell.attacker_stake)}")
        if cell.settles:
            lines.append(f"honest_slashed[{label}]: {fmt(cell.honest_slashed, 0)}")
        if not math.isnan(cell.backdoor_max):
            lines.append(f"backdoor_success_max_pct[{label}]: {fmt(cell.backdoor_max)}")
            lines.append(f"backdoor_success_final_pct[{label}]: {fmt(cell.backdoor_final)}")
        if defence == "bulyan" and cell.skipped:
            lines.append(f"bulyan_skipped_rounds[{label}]: {fmt(cell.skipped, 0)}")
    # honest participants slashed per settling rule and eta: the most in any run (any attack)
    worst: dict[tuple[str, str, float], int] = defaultdict(int)
    for (dataset, attack, eta, defence), cell in cells.items():
        if cell.settles and eta is not None:
            k = (dataset, defence, eta)
            worst[k] = max(worst[k], cell.honest_slashed_max)
        if cell.settles and attack == "none":
            for e in ETAS:
                k = (dataset, defence, e)
                worst[k] = max(worst.get(k, 0), cell.honest_slashed_max)
    for (dataset, defence, eta), count in sorted(worst.items()):
        suffix = "" if dataset == "digits" else f",{dataset}"
        if any(k[0] == dataset and k[2] == eta for k in cells):
            lines.append(f"honest_slashed[{defence},{eta:g}{suffix}]: {count}")
    return lines


def committee(preset: str) -> tuple[int, int]:
    """(proposers per round, max voters) of an experiment preset."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+experiment={preset}"])
    return int(cfg.task.proposers_per_round), int(cfg.task.max_voters)
