"""Defence benchmark: flock's rule, the FLock paper's rule and Flower's robust strategies side by
side, on the same splits, seeds and role draws, under every attack of `flock.attacks`.

    python benchmarks/defence.py --grid full --jobs 2   # the grid as Hydra multiruns, then report
    python benchmarks/defence.py --report --grid full   # the report from the runs on disk
    python benchmarks/defence.py --smoke                # CI: flock's rule on the real contract
    python benchmarks/defence.py -m +experiment=defence defence.name=flock,krum attack=alie \\
        defence.eta=0.1,0.2 seed=0,1                    # a Hydra multirun of single runs

A grid runs one Hydra multirun per (dataset, attack, seed) block, `--jobs` of them at a time;
each job is one run (`flock.defence.simulate`) and writes `result.json` into its Hydra job
directory under `multirun/defence/<grid>/` (a job whose result exists is skipped, so an
interrupted grid resumes). The report writes `results/defence.md`, the plots
`results/defence_{accuracy,stake}_<dataset>_eta<eta>.png` and `results/defence.txt`, and prints
`name: value` lines such as `acc_drop_pts[flock,label_flip,0.3]: 0.8`.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "configs"
RUNS_DIR = ROOT / "multirun" / "defence"
RESULTS_DIR = ROOT / "results"

log = logging.getLogger("benchmarks.defence")

BASELINES = ("fedavg", "krum", "multikrum", "fedmedian", "fedtrimmedavg", "bulyan")
ROBUST_FLOWER = BASELINES[1:]
RULES = ("flock", "flock_v0", "flock_paper")
DEFENCES = (*RULES, *BASELINES)
SIMPLE_ATTACKS = ("label_flip", "sign_flip", "gaussian_noise", "scaling", "free_rider")
STATISTICAL_ATTACKS = ("alie", "min_max", "min_sum")
PROPOSER_ATTACKS = (*SIMPLE_ATTACKS, *STATISTICAL_ATTACKS, "backdoor")
#: Attacks on the vote; colluding voters need a cartel to favour: colluding_cartel flips
#: labels when its members propose.
VOTER_ATTACKS = ("random_score", "inverted_score", "colluding_cartel", "lazy")
#: Attacks without a malicious proposer: the baselines hold no vote, so they play the clean run.
VOTE_ONLY = ("random_score", "inverted_score", "lazy")
ATTACKS = (*PROPOSER_ATTACKS, *VOTER_ATTACKS, "cartel")
ETAS = (0.1, 0.2, 0.3, 0.4)
SEEDS = (0, 1, 2)
SMOKE_ATTACKS = ("none", "label_flip", "colluding_cartel", "aggregate_poster", "weight_inflation")
SMOKE_ETA = 0.3


# ------------------------------------------------------------------------------------- grid


@dataclass(frozen=True)
class Block:
    """One Hydra multirun: every defence x eta of one dataset, attack and seed."""

    dataset: str
    attack: str
    seed: int
    defences: tuple[str, ...]
    etas: tuple[float | None, ...]

    def sweep_dir(self, grid: str) -> Path:
        return RUNS_DIR / grid / self.dataset / self.attack / f"seed{self.seed}"

    def overrides(self, grid: str) -> list[str]:
        etas = ",".join("null" if e is None else str(e) for e in self.etas)
        return [
            "+experiment=defence",
            f"dataset={self.dataset}",
            f"attack={self.attack}",
            f"defence.attack_name={self.attack}",
            f"seed={self.seed}",
            f"defence.name={','.join(self.defences)}",
            f"defence.eta={etas}",
            f"hydra.sweep.dir={self.sweep_dir(grid)}",
            "hydra.sweep.subdir=${defence.name}_eta${defence.eta}",
        ]

    @property
    def jobs(self) -> int:
        return len(self.defences) * len(self.etas)


def grid_blocks(grid: str, seeds: Sequence[int]) -> list[Block]:
    """The blocks of `grid`, every block of the first seed first (a partial grid is then a
    complete grid of fewer seeds). `full`: digits, every attack x eta x defence (the vote-only
    attacks with the settling rules only), clean runs, and breast cancer at eta 0.3 for the
    simple attacks. `quick`: digits at eta 0.3."""
    blocks = []
    for seed in seeds:
        blocks.append(Block("digits", "none", seed, DEFENCES, (None,)))
        etas = ETAS if grid == "full" else (0.3,)
        for attack in ATTACKS:
            defences = RULES if attack in VOTE_ONLY else DEFENCES
            blocks.append(Block("digits", attack, seed, defences, etas))
        if grid == "full":
            blocks.append(Block("breast_cancer", "none", seed, DEFENCES, (None,)))
            for attack in SIMPLE_ATTACKS:
                blocks.append(Block("breast_cancer", attack, seed, DEFENCES, (0.3,)))
    return blocks


def run_block(block: Block, grid: str) -> tuple[Block, int, float]:
    """Run one block as a Hydra multirun in a fresh process; return its exit code and time."""
    sweep_dir = block.sweep_dir(grid)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    command = [sys.executable, str(Path(__file__).resolve()), "-m", *block.overrides(grid)]
    with (sweep_dir / "block.log").open("w") as out:
        code = subprocess.call(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return block, code, time.perf_counter() - started


def run_grid(grid: str, seeds: Sequence[int], jobs: int) -> None:
    """Run every block of `grid`, `jobs` processes at a time."""
    blocks = grid_blocks(grid, seeds)
    total = sum(b.jobs for b in blocks)
    log.info("grid %s: %d blocks, %d runs, %d processes", grid, len(blocks), total, jobs)
    started, done = time.perf_counter(), 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for block, code, seconds in pool.map(lambda b: run_block(b, grid), blocks):
            done += block.jobs
            log.info(
                "%s/%s seed %d: exit %d, %.0f s (%d/%d runs, %.0f s elapsed)",
                block.dataset,
                block.attack,
                block.seed,
                code,
                seconds,
                done,
                total,
                time.perf_counter() - started,
            )
    print(f"grid_seconds[{grid}]: {time.perf_counter() - started:.0f}")


# ------------------------------------------------------------------------------ summaries


def _exposing_roles(attack: str) -> set[str]:
    """The roles in which an attacker of `attack` misbehaves (and can be caught)."""
    if attack in VOTE_ONLY:
        return {"VOTER"}
    if attack in ("colluding_cartel", "cartel"):
        return {"PROPOSER", "VOTER"}
    return {"PROPOSER"}


_ROLE_CACHE: dict[tuple[int, int, int, int, int], list[dict[int, str]]] = {}


def exposure_round(result, committee: tuple[int, int], fraction: float = 0.9) -> float:  # type: ignore[no-untyped-def]
    """The round by which `fraction` of the attackers were drawn at least once into a role they
    misbehave in: no detector can slash them earlier (the role draw's bound). The simulation's
    role seeds with the whole roster (under the paper's rule removals change later draws);
    NaN for runs on the contract, whose seeds differ."""
    if result.on_chain or not result.attackers:
        return float("nan")
    from omegaconf import OmegaConf

    from flock.defence import role_seed
    from flock.roles import assign_roles
    from flock.spec import participant_signer

    proposers, voters = committee
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
    first = []
    for i in result.attackers:
        rounds = [r for r, roles in enumerate(_ROLE_CACHE[key], 1) if roles[i] in exposing]
        if rounds:
            first.append(rounds[0])
    needed = math.ceil(fraction * len(result.attackers))
    return float(sorted(first)[needed - 1]) if len(first) >= needed else math.inf


@dataclass(frozen=True)
class Cell:
    """One defence under one attack and eta, over its seeds."""

    seeds: int
    final_acc: float
    accuracy: list[float]
    rounds_to_90: float
    exposed_90: float
    slashed_by_5_pct: float
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
    """Group runs by (dataset, attack, eta, defence) and take medians over seeds; `committee`
    (proposers per round, max voters) adds the role draw's bound on slashing."""
    groups: dict[Key, list] = defaultdict(list)
    for r in results:
        groups[(r.dataset, r.attack, r.eta, r.defence)].append(r)
    cells = {}
    for key, runs in groups.items():
        settles = runs[0].settles
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
                _median(exposure_round(r, committee) for r in runs)
                if committee and settles and key[1] != "none"
                else float("nan")
            ),
            slashed_by_5_pct=_median(by_5) if by_5 else float("nan"),
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
    """The cell of `key`, or the clean run of a baseline under a vote-only attack (True)."""
    if key in cells:
        return cells[key], False
    dataset, attack, _, defence = key
    if attack in VOTE_ONLY and defence in BASELINES:
        return clean_reference(cells, dataset, defence), True
    return None, False


def _fmt(value: float, digits: int = 1) -> str:
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
        figure = f"{_fmt(drop)} pts; FedAvg {_fmt(fedavg_drop)}"
        checks.append(GoalCheck("acc within 2 pts", drop <= 2.0, figure))
    if attack in STATISTICAL_ATTACKS and eta == 0.2:
        flower = [cell_for(cells, (dataset, attack, eta, b))[0] for b in ROBUST_FLOWER]
        best = max((c.final_acc for c in flower if c is not None), default=float("nan"))
        checks.append(GoalCheck("drop <= 10 pts", drop <= 10.0, f"{_fmt(drop)} pts"))
        checks.append(
            GoalCheck(
                "beats every robust Flower strategy", cell.final_acc > best, f"best {_fmt(best)}"
            )
        )
    checks.append(
        GoalCheck(
            f">= {slash_share:g} % attackers slashed by round {rounds_goal}",
            cell.rounds_to_90 <= rounds_goal,
            f"round {_fmt(cell.rounds_to_90, 0)}",
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
                f"max {_fmt(cell.backdoor_max)} %, final {_fmt(cell.backdoor_final)} %",
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
        lines.append(f"final_acc[{label}]: {_fmt(cell.final_acc)}")
        clean = clean_reference(cells, dataset, defence)
        if attack != "none" and clean is not None:
            lines.append(f"acc_drop_pts[{label}]: {_fmt(clean.final_acc - cell.final_acc)}")
        if cell.settles and attack != "none":
            lines.append(f"attackers_slashed_by_r5_pct[{label}]: {_fmt(cell.slashed_by_5_pct)}")
            lines.append(f"rounds_to_90pct_slashed[{label}]: {_fmt(cell.rounds_to_90, 0)}")
            if not math.isnan(cell.exposed_90):
                lines.append(f"rounds_to_90pct_drawn[{label}]: {_fmt(cell.exposed_90, 0)}")
            lines.append(f"attacker_stake[{label}]: {_fmt(cell.attacker_stake)}")
        if cell.settles:
            lines.append(f"honest_slashed[{label}]: {_fmt(cell.honest_slashed, 0)}")
        if not math.isnan(cell.backdoor_max):
            lines.append(f"backdoor_success_max_pct[{label}]: {_fmt(cell.backdoor_max)}")
            lines.append(f"backdoor_success_final_pct[{label}]: {_fmt(cell.backdoor_final)}")
        if defence == "bulyan" and cell.skipped:
            lines.append(f"bulyan_skipped_rounds[{label}]: {_fmt(cell.skipped, 0)}")
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


# ----------------------------------------------------------------------------------- report


def _table(cells: dict[Key, Cell], dataset: str) -> list[str]:
    rows = [
        "| attack | eta | defence | final acc % (median) | drop vs clean (pts) "
        "| rounds to >= 90 % attackers slashed (role-draw bound) "
        "| attackers slashed by round 5 % "
        "| honest slashed (median / max) | attackers' final stake | honest final stake "
        "| attack updates aggregated % | backdoor success % (max over rounds / final) | goal met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    attacks = ["none", *[a for a in ATTACKS if any(k[0] == dataset and k[1] == a for k in cells)]]
    for attack in attacks:
        etas = sorted(
            {k[2] for k in cells if k[0] == dataset and k[1] == attack}, key=lambda e: e or 0
        )
        for eta in etas:
            for defence in DEFENCES:
                key = (dataset, attack, eta, defence)
                cell, borrowed = cell_for(cells, key)
                if cell is None:
                    continue
                clean = clean_reference(cells, dataset, defence)
                drop = (
                    ""
                    if attack == "none" or clean is None
                    else _fmt(clean.final_acc - cell.final_acc)
                )
                note = " (no vote: = clean run)" if borrowed else ""
                if defence == "bulyan" and cell.skipped:
                    note += (
                        f" (n < 4f+3: skipped {_fmt(cell.skipped, 0)}/{len(cell.accuracy)} rounds)"
                    )
                checks = goals_for(cells, key)
                goal = "; ".join(f"{'✓' if c.met else '✗'} {c.name} ({c.figure})" for c in checks)
                settling = cell.settles and attack != "none"
                honest = f"{_fmt(cell.honest_slashed, 0)} / {cell.honest_slashed_max}"
                aggregated = attack != "none" and not borrowed
                slashing = _fmt(cell.rounds_to_90, 0)
                backdoor = (
                    f"{_fmt(cell.backdoor_max)} / {_fmt(cell.backdoor_final)}"
                    if not math.isnan(cell.backdoor_max)
                    else ""
                )
                if not math.isnan(cell.exposed_90):
                    slashing += f" ({_fmt(cell.exposed_90, 0)})"
                rows.append(
                    f"| {attack} | {'' if eta is None else f'{eta:g}'} | {defence}{note} "
                    f"| {_fmt(cell.final_acc)} | {drop} "
                    f"| {slashing if settling else ''} "
                    f"| {_fmt(cell.slashed_by_5_pct, 0) if settling else ''} "
                    f"| {honest if cell.settles else ''} "
                    f"| {_fmt(cell.attacker_stake) if settling else ''} "
                    f"| {_fmt(cell.honest_stake) if cell.settles else ''} "
                    f"| {_fmt(cell.accepted_attack_pct, 0) if aggregated else ''} "
                    f"| {backdoor} "
                    f"| {goal} |".replace("| n/a |", "|  |")
                )
    return rows


def _headline(cells: dict[Key, Cell], dataset: str) -> list[str]:
    """Final accuracy side by side: one row per attack and eta, one column per defence."""
    rows = [
        "| attack | eta | " + " | ".join(DEFENCES) + " |",
        "|---|---|" + "---|" * len(DEFENCES),
    ]
    attacks = ["none", *[a for a in ATTACKS if any(k[0] == dataset and k[1] == a for k in cells)]]
    for attack in attacks:
        etas = sorted(
            {k[2] for k in cells if k[0] == dataset and k[1] == attack}, key=lambda e: e or 0
        )
        for eta in etas:
            values = []
            for defence in DEFENCES:
                cell, borrowed = cell_for(cells, (dataset, attack, eta, defence))
                text = "" if cell is None else _fmt(cell.final_acc)
                if cell is not None and defence == "bulyan" and cell.skipped >= len(cell.accuracy):
                    text = "cannot run"
                values.append(text + ("*" if borrowed else ""))
            rows.append(
                f"| {attack} | {'' if eta is None else f'{eta:g}'} | " + " | ".join(values) + " |"
            )
    return rows


def _goal_summary(cells: dict[Key, Cell]) -> list[str]:
    tally: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key in cells:
        dataset, attack, eta, defence = key
        for check in goals_for(cells, key):
            status = "met" if check.met else "MISSED"
            where = f"{attack}@{eta:g}" + ("" if dataset == "digits" else f"/{dataset}")
            tally[(defence, check.name)].append(f"{where}: {status} ({check.figure})")
    rows = ["| rule | goal | met / checked | missed at |", "|---|---|---|---|"]
    for (defence, goal), entries in sorted(tally.items()):
        missed = [e for e in entries if "MISSED" in e]
        rows.append(
            f"| {defence} | {goal} | {len(entries) - len(missed)} / {len(entries)} "
            f"| {', '.join(e.replace(': MISSED', '') for e in missed) or '—'} |"
        )
    return rows


def write_report(
    cells: dict[Key, Cell], grid: str, runs: int, seeds: list[int], notes: str, seconds: float
) -> None:
    """Write results/defence.md and the plots."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    datasets = sorted({k[0] for k in cells}, key=lambda d: d != "digits")
    lines = [
        "# Defence benchmark",
        "",
        f"Grid `{grid}`: {runs} runs, seeds {', '.join(map(str, seeds))}, "
        f"{seconds / 3600:.1f} h of run time in all (`--jobs` processes share it); "
        "`python benchmarks/defence.py --grid "
        f"{grid}` (config: `configs/experiment/defence.yaml`). K = 50 participants, 20 rounds, "
        "20 proposers and 30 voters per round (the contract's role draw), IID splits, MLP, "
        "10 local epochs; every figure is the median over the seeds. flock's rule is settled by "
        "its Python mirror of `AllianceTask.settle` (differential-tested identical to the "
        "contract; `--smoke` plays it on the contract itself); `flock_v0` is the same contract "
        "and code with score-step tolerances and update screening turned off by config (the "
        "rule the previous grid measured); `flock_paper` is the "
        "FLock paper's rule (`flock/protocol/flock_paper.py`, Python only); the baselines "
        "aggregate every proposer's update with the real Flower strategy, configured with the "
        "round's true number of malicious proposers.",
        "",
        "Columns: *drop vs clean* is the defence's own clean run minus this run (final "
        "accuracy, points); *rounds to >= 90 % attackers slashed* counts rounds until 90 % of "
        "the attackers were slashed at least once (`never`: not within the run); *stakes* are "
        "tokens of 64 at the start; *attack updates aggregated* is the share of the attackers' "
        "proposals that went into a global model (for the baselines: all of them, whatever "
        "weight the strategy gave them).",
        "",
        notes,
        "",
        "## Goals",
        "",
        *_goal_summary(cells),
    ]
    for dataset in datasets:
        lines += [
            "",
            f"## {dataset}: final accuracy % (median of seeds)",
            "",
            "`*`: no malicious proposer, no vote: the baseline's clean run. `cannot run`: Bulyan "
            "needs n >= 4f + 3 and declined every round (the global model stayed the initial one).",
            "",
            *_headline(cells, dataset),
        ]
    for dataset in datasets:
        lines += ["", f"## {dataset}: every figure", "", *_table(cells, dataset)]
        for eta in sorted({k[2] for k in cells if k[0] == dataset and k[2] is not None}):
            stem = f"defence_{{}}_{dataset}_eta{eta:g}.png"
            _plot_accuracy(cells, dataset, eta, RESULTS_DIR / stem.format("accuracy"))
            _plot_stake(cells, dataset, eta, RESULTS_DIR / stem.format("stake"))
            lines += [
                "",
                f"![accuracy, eta {eta:g}]({stem.format('accuracy')}) "
                f"![stake, eta {eta:g}]({stem.format('stake')})",
            ]
    (RESULTS_DIR / "defence.md").write_text("\n".join(lines) + "\n")


def _grid_axes(count: int):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(4, count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat)


def _label_axes(ax, title: str, top: float, ylabel: str) -> None:  # type: ignore[no-untyped-def]
    """One panel's title, y range from 0 to `top`, axis labels and grid."""
    ax.set_title(title, fontsize=9)
    ax.set_ylim(0, top)
    ax.set_xlabel("round", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.grid(alpha=0.3)


def _save_figure(plt, fig, title: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Title, lay out, write and close a figure."""
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_accuracy(cells: dict[Key, Cell], dataset: str, eta: float, path: Path) -> None:
    attacks = [a for a in ATTACKS if any(k[:3] == (dataset, a, eta) for k in cells)]
    if not attacks:
        return
    plt, fig, axes = _grid_axes(len(attacks))
    for ax, attack in zip(axes, attacks, strict=False):
        for defence in DEFENCES:
            cell, _ = cell_for(cells, (dataset, attack, eta, defence))
            if cell is not None and cell.accuracy:
                style = "-" if defence in RULES else "--"
                rounds = range(1, len(cell.accuracy) + 1)
                ax.plot(rounds, cell.accuracy, style, label=defence, linewidth=1.2)
        _label_axes(ax, f"{attack}, eta {eta:g}", 100, "holdout accuracy %")
    axes[0].legend(fontsize=7)
    _save_figure(plt, fig, f"{dataset}: accuracy per round per defence (median of seeds)", path)


def _plot_stake(cells: dict[Key, Cell], dataset: str, eta: float, path: Path) -> None:
    attacks = [a for a in ATTACKS if any(k[:3] == (dataset, a, eta) for k in cells)]
    if not attacks:
        return
    plt, fig, axes = _grid_axes(len(attacks))
    colours = {"flock": "tab:blue", "flock_v0": "tab:green", "flock_paper": "tab:orange"}
    for ax, attack in zip(axes, attacks, strict=False):
        for defence, colour in colours.items():
            cell = cells.get((dataset, attack, eta, defence))
            if cell is None or not cell.honest_stake_curve:
                continue
            rounds = range(1, len(cell.honest_stake_curve) + 1)
            ax.plot(rounds, cell.honest_stake_curve, "-", color=colour, label=f"{defence} honest")
            if cell.attacker_stake_curve:
                ax.plot(
                    rounds,
                    cell.attacker_stake_curve,
                    ":",
                    color=colour,
                    label=f"{defence} attackers",
                )
        _label_axes(ax, f"{attack}, eta {eta:g}", 70, "mean stake (tokens)")
    axes[0].legend(fontsize=6)
    title = f"{dataset}: stake of honest participants vs attackers (median of seeds)"
    _save_figure(plt, fig, title, path)


def _committee(preset: str) -> tuple[int, int]:
    """(proposers per round, max voters) of an experiment preset."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+experiment={preset}"])
    return int(cfg.task.proposers_per_round), int(cfg.task.max_voters)


def load_results(root: Path) -> list:
    """Every run's result.json under `root`."""
    from flock.defence import RunResult

    return [RunResult.from_json(p.read_text()) for p in sorted(root.rglob("result.json"))]


def report(grid: str) -> list[str]:
    """Summarise the grid's runs on disk, write the report and return the figure lines."""
    results = load_results(RUNS_DIR / grid)
    if not results:
        raise SystemExit(f"no runs under {RUNS_DIR / grid}")
    cells = summarise(results, _committee("defence"))
    seeds = sorted({r.seed for r in results})
    diag_path = RESULTS_DIR / "defence_diagnose.txt"
    if not diag_path.exists():
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        lines = [line for dataset in ("digits", "breast_cancer") for line in diagnose(dataset)]
        diag_path.write_text("\n".join(lines) + "\n")
    seconds = sum(r.seconds for r in results)
    text = notes(cells, _diag_lines(diag_path))
    write_report(cells, grid, len(results), seeds, text, seconds)
    lines = figure_lines(cells)
    (RESULTS_DIR / "defence.txt").write_text("\n".join(lines) + "\n")
    return lines


def _diag_lines(path: Path) -> dict[str, str]:
    """`name: value` lines of a saved `--diagnose` run (empty when none was saved)."""
    if not path.exists():
        return {}
    pairs = (line.split(": ", 1) for line in path.read_text().splitlines() if ": " in line)
    return {k: v for k, v in pairs}


def notes(cells: dict[Key, Cell], diag: dict[str, str]) -> str:
    """The analysis under the tables, its figures taken from this grid and `--diagnose`."""

    def get(attack: str, eta: float | None, defence: str, dataset: str = "digits") -> Cell | None:
        return cell_for(cells, (dataset, attack, eta, defence))[0]

    def fig(
        attack: str,
        eta: float | None,
        defence: str,
        field: str,
        digits: int = 1,
        dataset: str = "digits",
    ) -> str:
        cell = get(attack, eta, defence, dataset)
        return "n/a" if cell is None else _fmt(float(getattr(cell, field)), digits)

    def drop(attack: str, eta: float, defence: str) -> str:
        cell, clean = get(attack, eta, defence), clean_reference(cells, "digits", defence)
        return "n/a" if cell is None or clean is None else _fmt(clean.final_acc - cell.final_acc)

    def worst_honest(defence: str, dataset: str = "digits") -> int:
        return max(
            (
                c.honest_slashed_max
                for (d, a, e, name), c in cells.items()
                if d == dataset and name == defence and (e is None or e <= 0.3)
            ),
            default=0,
        )

    def worst(defence: str, field: str, attacks: Sequence[str], digits: int = 1) -> str:
        values = [
            float(getattr(c, field))
            for (d, a, e, name), c in cells.items()
            if d == "digits" and name == defence and a in attacks
        ]
        return _fmt(max(values), digits) if values else "n/a"

    def d(key: str) -> str:
        return diag.get(key, "n/a")

    at_bound = [
        (k, c)
        for k, c in cells.items()
        if k[0] == "digits"
        and k[3] == "flock"
        and k[1] in ("label_flip", "sign_flip", "gaussian_noise", "scaling", "backdoor", "lazy")
        and not math.isnan(c.exposed_90)
    ]
    reached = sum(1 for _, c in at_bound if c.rounds_to_90 <= c.exposed_90)
    return f"""## What the figures say

`flock` is the rule as shipped now; `flock_v0` is the same contract and code with the two
changes of this grid turned off by config (`task.score_steps=0`, every `voting` ratio 0): the
rule as the previous grid measured it.

**1. Honest participants slashed (goal: 0 at eta <= 0.3).** flock slashed at most
{worst_honest("flock")} honest participants in any digits run at eta <= 0.3
({fig("none", None, "flock", "honest_slashed_max", 0)} in the clean run); flock_v0 slashed up
to {worst_honest("flock_v0")} ({fig("none", None, "flock_v0", "honest_slashed_max", 0)} of 50 in
the clean run). `python benchmarks/defence.py --diagnose` shows why v0 failed: a participant's
private test split holds {d("test_split_samples[digits]")} samples (K = 50, 25 % of ~29), so a
voter's score moves in steps of {d("score_quantum_pts[digits]")} points and the median of the
voters' scores stays on that lattice. An honest local model (trained on
{d("train_split_samples[digits]")} samples) is truly {d("honest_holdout_gap_pts[flock_v0,digits]")}
points below the global model on the public holdout, but the consensus scores put it
{d("honest_score_gap_pts[flock_v0,digits]")} points below (median;
{d("honest_score_gap_late_mode_pts[flock_v0,digits]")} points, one test sample, is the most
common gap late in training), beyond v0's {d("tolerance_pts[flock_v0,digits]")}-point
tolerance: {d("honest_rejected_pct[flock_v0,digits]")} % of honest proposals were rejected.
flock now raises `tolerance_bps`, `peer_tolerance_bps`, `min_deviation_bps` and `wash_mad_bps`
to two score steps of the smallest private test split ({d("tolerance_pts[flock,digits]")} points
here; `task.score_steps`): {d("honest_rejected_pct[flock,digits]")} % of honest proposals
rejected in the clean run. The digits runs that still slash an honest member (median of seeds
at most 1; cartels at eta 0.2 and 0.3, min-sum at 0.3) lose it in rounds where attackers hold
many voter seats or an honest update fails screening. On breast cancer
({d("test_split_samples[breast_cancer]")} test samples each, steps of
{d("score_quantum_pts[breast_cancer]")} points) two steps cap the tolerances at 100 points, so
a proposal is rejected only when the voters refuse it (score 0), and flock warns that such
splits cannot judge a proposal. The refusals misfire there: with 7 training samples most
members' data are already fit, honest updates span orders of magnitude (some are exactly 0),
and norm screening refuses a few honest ones, up to {worst_honest("flock", "breast_cancer")}
honest participants slashed in a run (scaling at eta 0.3; flock_v0: up to
{worst_honest("flock_v0", "breast_cancer")}). What remains is data too small to judge with; more
samples per member, or finer statistics than accuracy (the test loss), would let the
thresholds shrink again.

**2. >= 90 % of attackers slashed within 5 rounds: bounded by the role draw.** An attacker can
only be caught in a round that gives it the role it misbehaves in. With 20 proposers among 50,
a proposer attacker is drawn with probability 0.4 per round, 1 - 0.6^5 = 92 % within 5 rounds,
so at eta = 0.1 (5 attackers, all 5 needed) the goal fails on the draw alone about one time in
three. The bracket in the tables is that bound, from the run's own role draws: flock's rule
reached it in {reached} of {len(at_bound)} cells of label flip, sign flip, noise, scaling,
backdoor and lazy voters (it slashes an attacker at its first malicious act there). Fix: count
the goal against the attackers that had the role, or raise `proposers_per_round` (the contract
caps it at 32).

**3. Free riders and copies are refused; statistical attacks pass.** A voter now scores 0 an
update below 0.1 % of the median norm of the round's updates that moved (the global model
resubmitted) or within 1 % of an earlier proposal (a copy), and the contract never accepts a
median of 0: flock
aggregated {fig("free_rider", 0.3, "flock", "accepted_attack_pct", 0)} % of the free riders'
proposals at eta 0.3 (flock_v0: {fig("free_rider", 0.3, "flock_v0", "accepted_attack_pct", 0)} %).
ALIE and min-sum updates stay inside the honest spread by construction and score like honest
ones: flock aggregated {fig("alie", 0.2, "flock", "accepted_attack_pct", 0)} % of the ALIE
updates at eta 0.2, yet they barely hurt ({fig("alie", 0.2, "flock", "final_acc")} % against
{fig("none", None, "flock", "final_acc")} % clean); min-max: {
        fig("min_max", 0.2, "flock", "accepted_attack_pct", 0)
    } % aggregated, {fig("min_max", 0.2, "flock", "final_acc")} % final.

**4. Backdoor (goal <= 5 % over 20 rounds).** Model replacement boosts the update x n / eta =
x20; honest voters now score 0 an update above 10x the round's median norm, so the boosted
update is refused from round 1 on (where v0 accepted it because an untrained global model
scores about 0 and every proposal clears the baseline). Highest backdoor success in any round,
median of seeds: flock {worst("flock", "backdoor_max", ["backdoor"])} % over eta 0.1 to 0.4
(flock_v0 {worst("flock_v0", "backdoor_max", ["backdoor"])} %, MultiKrum at eta 0.3 {
        fig("backdoor", 0.3, "multikrum", "backdoor_max")
    } %). The bound is relative: an attacker who scales by less than 10x gets through screening
and is judged by accuracy; clipping every accepted update to the median norm in the consensus
aggregate would close that (not built).

**4b. Sign flips pass at eta >= 0.2.** A sign-flipped update has an honest norm and its model
stays within two score steps of the global model on 7 samples, so it is accepted often enough
to cost {drop("sign_flip", 0.3, "flock")} points at eta 0.3 and {
        drop("sign_flip", 0.4, "flock")
    } at 0.4 (FedAvg: {drop("sign_flip", 0.3, "fedavg")} and {
        drop("sign_flip", 0.4, "fedavg")
    }). A direction check (score 0 an update whose cosine with the round's coordinate-wise median
update is <= 0) was tried and dropped: on the clean digits run it slashed 3 honest members
(11 on breast cancer), since 22-sample updates are too noisy to share a direction, and still let
36 % of the sign flips through at eta 0.3.

**5. Colluding voters at eta = 0.4: a cartel majority.** A cartel of 40 % votes its own
label-flipped proposals 100 and everything else 0. With 7-sample scores, the honest voters' own
spread plus that minority pushed most items' MAD over v0's 20-point `wash_mad_bps`, so v0
voided most rounds as washes ({fig("colluding_cartel", 0.4, "flock_v0", "skipped", 0)} of 20
void, final {fig("colluding_cartel", 0.4, "flock_v0", "final_acc")} %). The wash threshold is
now floored at two score steps too ({fig("colluding_cartel", 0.4, "flock", "skipped", 0)} of 20
void): the honest majority settles the other rounds and slashes the cartel's voters. But in a
round where few cartel members drew the proposer role, the cartel holds most of the 30 voter
seats (hypergeometric, about 4 % of rounds at eta 0.4): its updates are accepted, the honest
ones rejected, honest voters slashed, and the model is set back (final
{fig("colluding_cartel", 0.4, "flock", "final_acc")} %, median of seeds). No median-of-voters rule
survives a voter majority, and a contract cannot tell an honest-majority round from a
cartel-majority round by counting alone. flock keeps {
        fig("colluding_cartel", 0.3, "flock", "final_acc")
    } % at eta 0.3. Fixes to explore: have honest members refuse to build on an aggregate that
scores below the baseline on their own test split (the aggregate challenge exists on chain, its
resolution is not automated), and draw proposers so that a cartel's voter share cannot swing.

**6. Random voters are outvoted, seldom slashed.** With 30 % of the voters scoring uniformly at
random, each item's MAD grows and the 3-MAD band covers most of the score range, so a random
scorer is rarely outside it on most items: flock slashed {
        fig("random_score", 0.3, "flock", "slashed_by_5_pct", 0)
    } % of them by round 5 at eta 0.3. (flock_v0's {
        fig("random_score", 0.3, "flock_v0", "slashed_by_5_pct", 0)
    } % came mostly from slashing them as *proposers*: v0 rejected 45 % of honest proposals.) The
median ignores them (accuracy {fig("random_score", 0.3, "flock", "final_acc")} %) and voter
rewards follow closeness to the median, so they earn little. Fix: a band built from the central
majority of the scores (e.g. the MAD of the middle 60 %), which a minority cannot widen.

**7. The FLock paper's rule.** A vote on the whole aggregate cannot separate attackers from
honest proposers: accepted rounds aggregate every attacker's update (label flip, eta 0.3:
{fig("label_flip", 0.3, "flock_paper", "accepted_attack_pct", 0)} % of the flippers' updates),
rejected rounds slash every honest proposer in them (up to {worst_honest("flock_paper")} honest
participants per run at eta <= 0.3), and boosted updates drag the accepted aggregate down
(scaling, eta 0.3: {fig("scaling", 0.3, "flock_paper", "final_acc")} %).

**8. Flower's strategies, given the true f.** Krum keeps a single update of ~22 samples (clean
{fig("none", None, "krum", "final_acc")} %) and, facing free riders, keeps their identical
copies of the global model (eta 0.3: {fig("free_rider", 0.3, "krum", "final_acc")} %); Bulyan
needs n >= 4f + 3 and cannot run at eta 0.4 (f of about 8 among 20 proposers); FedMedian,
FedTrimmedAvg and MultiKrum collapse under ALIE at eta 0.4 ({
        fig("alie", 0.4, "fedmedian", "final_acc")
    }, {fig("alie", 0.4, "fedtrimmedavg", "final_acc")},
{fig("alie", 0.4, "multikrum", "final_acc")} %), where flock keeps
{fig("alie", 0.4, "flock", "final_acc")} %.

The baseline runs are those of the previous grid (commit 185b55d): they hold no vote and screen
nothing, so nothing changed for them.
"""


# ------------------------------------------------------------------------------------ smoke


def smoke(out_dir: Path) -> list[str]:
    """digits, eta 0.3, label flip, a colluding cartel, aggregate posters and weight inflation,
    1 seed, at the scale of
    `experiment=defence_smoke`: flock's rule on the real contract (the embedded EVM), the
    paper's rule, the Flower baselines and flock's Python mirror simulated."""
    from hydra import compose, initialize_config_dir

    from flock.defence import chain_run, simulate

    results = []
    started = time.perf_counter()
    for attack in SMOKE_ATTACKS:
        for defence in ("flock", "flock_mirror", "flock_paper", *BASELINES):
            eta = "null" if attack == "none" else str(SMOKE_ETA)
            name = "flock" if defence == "flock_mirror" else defence
            with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
                cfg = compose(
                    config_name="config",
                    overrides=[
                        "+experiment=defence_smoke",
                        f"attack={attack}",
                        f"defence.attack_name={attack}",
                        f"defence.name={name}",
                        f"defence.eta={eta}",
                        "seed=0",
                    ],
                )
            if defence == "flock":
                result = chain_run(cfg, out_dir / f"chain_{attack}")
            else:
                result = simulate(cfg)
                result.defence = defence
            log.info(
                "%s/%s: %.4f in %.1f s", attack, defence, result.final_accuracy, result.seconds
            )
            results.append(result)
    first = results[0]
    header = [
        f"smoke: digits, K = {first.participants} participants, {first.rounds} rounds, "
        f"eta = {SMOKE_ETA}, seed 0 (the full grid: K = 50, 20 rounds, 3 seeds); flock's rule "
        "on the real contract (embedded EVM), flock_mirror its Python mirror, the rest simulated",
        f"smoke_seconds: {time.perf_counter() - started:.1f}",
        f"smoke_chain_seconds: {sum(r.seconds for r in results if r.on_chain):.1f}",
    ]
    return header + figure_lines(summarise(results, _committee("defence_smoke")))


# -------------------------------------------------------------------------------- diagnose


def diagnose(dataset: str = "digits", seed: int = 0) -> list[str]:
    """Why flock's rule rejected honest proposals at K = 50, and what the fix changed: the clean
    run of `flock_v0` (fixed tolerances, no screening) and `flock` with `defence.diagnose`,
    against the size of the voters' test splits."""
    from hydra import compose, initialize_config_dir

    from flock.defence import resolve_variant, simulate
    from flock.learning.alliance_data import alliance_data
    from flock.spec import score_tolerances

    lines = []
    for defence in ("flock_v0", "flock"):
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                config_name="config",
                overrides=[
                    "+experiment=defence",
                    f"dataset={dataset}",
                    "attack=none",
                    "defence.attack_name=none",
                    f"defence.name={defence}",
                    "defence.diagnose=true",
                    f"seed={seed}",
                ],
            )
        tolerance = score_tolerances(resolve_variant(cfg))["tolerance_bps"] / 100
        if defence == "flock_v0":
            parts = alliance_data(cfg).participants
            tests = statistics.median(p.num_test for p in parts)
            lines += [
                f"test_split_samples[{dataset}]: {tests:g}",
                f"train_split_samples[{dataset}]: {statistics.median(p.num_train for p in parts)}",
                f"score_quantum_pts[{dataset}]: {100 / tests:.1f}",
            ]
        lines.append(f"tolerance_pts[{defence},{dataset}]: {tolerance:g}")
        result = simulate(cfg)
        gaps = [g / 100 for g in result.score_gaps]
        late = gaps[len(gaps) // 2 :]
        holdout_gap = statistics.median(result.holdout_gaps)
        lines += [
            f"honest_holdout_gap_pts[{defence},{dataset}]: {holdout_gap:.1f}",
            f"honest_score_gap_pts[{defence},{dataset}]: {statistics.median(gaps):.1f}",
            f"honest_score_gap_late_mode_pts[{defence},{dataset}]: {statistics.mode(late):.1f}",
            f"honest_score_gap_over_tolerance_pct[{defence},{dataset}]: "
            f"{100 * sum(g > tolerance for g in gaps) / len(gaps):.1f}",
            f"honest_rejected_pct[{defence},{dataset}]: "
            f"{100 * result.honest_rejected / max(result.honest_proposals, 1):.1f}",
            f"honest_slashed[{defence},none,{dataset}]: {result.honest_slashed()}",
        ]
        lines += [
            f"honest_slashes[{defence},{reason.lower()},{dataset}]: {count}"
            for reason, count in sorted(result.honest_slash_reasons.items())
        ]
    return lines


# ------------------------------------------------------------------------------- Hydra job


def hydra_job() -> None:
    """One run per Hydra job (`-m` sweeps): result.json in the job's output directory."""
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig

    @hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
    def job(cfg: DictConfig) -> float:
        from flock.defence import RunResult, simulate

        out = Path(HydraConfig.get().runtime.output_dir) / "result.json"
        if out.exists():  # resume an interrupted grid
            return RunResult.from_json(out.read_text()).final_accuracy
        if cfg.defence.get("attack_name") is None:
            cfg.defence.attack_name = HydraConfig.get().runtime.choices.get("attack")
        result = simulate(cfg)
        out.write_text(result.to_json())
        print(f"final_accuracy[{result.defence}]: {result.final_accuracy:.4f} ({result.seconds} s)")
        return result.final_accuracy

    job()


def main() -> None:
    """Dispatch: --smoke, --grid, --report, or a Hydra run/multirun of single jobs."""
    if not any(a in sys.argv[1:] for a in ("--smoke", "--grid", "--report", "--diagnose")):
        hydra_job()
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="CI smoke mode (real contract)")
    parser.add_argument("--grid", choices=("full", "quick"), help="run this grid, then report")
    parser.add_argument("--report", action="store_true", help="only report the grid on disk")
    parser.add_argument(
        "--diagnose", action="store_true", help="why flock's rule rejects honest proposals"
    )
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="seeds of the grid")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument("--out", type=Path, default=RUNS_DIR / "smoke", help="smoke run dir")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("flock").setLevel(logging.WARNING)
    if args.smoke:
        args.out.mkdir(parents=True, exist_ok=True)
        for line in smoke(args.out):
            print(line)
        return
    if args.diagnose:
        for dataset in ("digits", "breast_cancer"):
            for line in diagnose(dataset):
                print(line)
        return
    grid = args.grid or "full"
    if not args.report:
        run_grid(grid, [int(s) for s in args.seeds.split(",")], args.jobs)
    for line in report(grid):
        print(line)


if __name__ == "__main__":
    main()
