"""The defence report: `results/defence.md` (goals, headline and full tables, the notes, the
plots), `results/defence.txt` (the figure lines) from the grid's runs on disk."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from flock.defence.diagnose import diagnose
from flock.defence.grid import ATTACKS, DEFENCES, MAJORITY_FAMILY, RESULTS_DIR, RUNS_DIR
from flock.defence.notes import notes
from flock.defence.plots import plot_accuracy, plot_stake
from flock.defence.result import RunResult
from flock.defence.summary import (
    Cell,
    Key,
    cell_for,
    clean_reference,
    committee,
    figure_lines,
    fmt,
    goals_for,
    summarise,
)
from flock.defence.sweep import run_name


def _table(cells: dict[Key, Cell], dataset: str) -> list[str]:
    rows = [
        "| attack | eta | defence | final acc % (median) | drop vs clean (pts) "
        "| rounds to >= 90 % attackers slashed (role-draw bound) "
        "| attackers slashed by round 5 % (all / those that held their role) "
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
                    else fmt(clean.final_acc - cell.final_acc)
                )
                note = " (no vote: = clean run)" if borrowed else ""
                if defence == "bulyan" and cell.skipped:
                    note += (
                        f" (n < 4f+3: skipped {fmt(cell.skipped, 0)}/{len(cell.accuracy)} rounds)"
                    )
                checks = goals_for(cells, key)
                goal = "; ".join(f"{'✓' if c.met else '✗'} {c.name} ({c.figure})" for c in checks)
                settling = cell.settles and attack != "none"
                honest = f"{fmt(cell.honest_slashed, 0)} / {cell.honest_slashed_max}"
                aggregated = attack != "none" and not borrowed
                slashing = fmt(cell.rounds_to_90, 0)
                backdoor = (
                    f"{fmt(cell.backdoor_max)} / {fmt(cell.backdoor_final)}"
                    if not math.isnan(cell.backdoor_max)
                    else ""
                )
                if not math.isnan(cell.exposed_90):
                    slashing += f" ({fmt(cell.exposed_90, 0)})"
                by_5 = fmt(cell.slashed_by_5_pct, 0)
                if not math.isnan(cell.exposed_slashed_by_5_pct):
                    by_5 += f" / {fmt(cell.exposed_slashed_by_5_pct, 0)}"
                rows.append(
                    f"| {attack} | {'' if eta is None else f'{eta:g}'} | {defence}{note} "
                    f"| {fmt(cell.final_acc)} | {drop} "
                    f"| {slashing if settling else ''} "
                    f"| {by_5 if settling else ''} "
                    f"| {honest if cell.settles else ''} "
                    f"| {fmt(cell.attacker_stake) if settling else ''} "
                    f"| {fmt(cell.honest_stake) if cell.settles else ''} "
                    f"| {fmt(cell.accepted_attack_pct, 0) if aggregated else ''} "
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
                text = "" if cell is None else fmt(cell.final_acc)
                if cell is not None and defence == "bulyan" and cell.skipped >= len(cell.accuracy):
                    text = "cannot run"
                values.append(text + ("*" if borrowed else ""))
            rows.append(
                f"| {attack} | {'' if eta is None else f'{eta:g}'} | " + " | ".join(values) + " |"
            )
    return rows


#: The scoring variant the report sets beside flock's default scoring, when its runs exist.
SCORING_VARIANT = ("scoring=loss",)


def _scoring_table(cells: dict[Key, Cell], variant: dict[Key, Cell], dataset: str) -> list[str]:
    """flock's rule scored by accuracy (the grid) beside the same runs scored by test loss:
    final accuracy, drop vs its own clean run, most honest members slashed, and the share of
    the attackers that held their role slashed by round 5."""
    rows = [
        "| attack | eta | final acc % (accuracy / loss) | drop vs clean (accuracy / loss) "
        "| honest slashed, max (accuracy / loss) "
        "| role-holding attackers slashed by round 5 % (accuracy / loss) |",
        "|---|---|---|---|---|---|",
    ]
    keys = sorted(
        (k for k in variant if k[0] == dataset and k[3] == "flock" and k in cells),
        key=lambda k: (k[1] != "none", ATTACKS.index(k[1]) if k[1] in ATTACKS else -1, k[2] or 0),
    )
    for key in keys:
        pair = (cells[key], variant[key])
        cleans = [clean_reference(c, dataset, "flock") for c in (cells, variant)]
        drops = [
            "" if key[1] == "none" or clean is None else fmt(clean.final_acc - cell.final_acc)
            for cell, clean in zip(pair, cleans, strict=True)
        ]
        rows.append(
            f"| {key[1]} | {'' if key[2] is None else f'{key[2]:g}'} "
            f"| {fmt(pair[0].final_acc)} / {fmt(pair[1].final_acc)} "
            f"| {' / '.join(drops) if key[1] != 'none' else ''} "
            f"| {pair[0].honest_slashed_max} / {pair[1].honest_slashed_max} "
            f"| {' / '.join(fmt(c.exposed_slashed_by_5_pct, 0) for c in pair)} |"
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
    cells: dict[Key, Cell],
    grid: str,
    runs: int,
    seeds: list[int],
    notes: str,
    seconds: float,
    scoring: dict[Key, Cell] | None = None,
) -> None:
    """Write results/defence.md and the plots; `scoring`: flock's cells of the grid rerun with
    :data:`SCORING_VARIANT`, set beside the grid's in their own tables."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    datasets = sorted({k[0] for k in cells}, key=lambda d: (d != "digits", d))
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
        "contract; `--smoke` plays it on the contract itself), its voters scoring by the "
        "`scoring` group (accuracy unless the title says otherwise). `flock_v0` is the same "
        "contract and code with score-step tolerances, update screening and the aggregate's "
        "damping turned off by config; `flock_clip` is flock's rule with every accepted update "
        "clipped to the median accepted norm inside the consensus aggregate, undamped "
        "(`aggregation=consensus_clipped`); "
        "`flock_paper` is the FLock paper's rule (`flock/protocol/flock_paper.py`, Python "
        "only). The baselines aggregate every proposer's update without a vote: the real "
        "Flower strategies, configured with the round's true number of malicious proposers, "
        "and flock's own robust rules that Flower lacks (`geometric_median`: smoothed "
        "Weiszfeld as in RFA; `centered_clipping`). `digits_majority` is the attacker-majority "
        "family: digits with 3 proposers a round at eta 0.4, so that attackers hold most of "
        "a round's proposer seats in some rounds (their share is in the notes).",
        "",
        "Columns: *drop vs clean* is the defence's own clean run minus this run (final "
        "accuracy, points); *rounds to >= 90 % attackers slashed* counts rounds until 90 % of "
        "the attackers were slashed at least once (`never`: not within the run); *stakes* are "
        "tokens of 64 at the start; *attackers slashed by round 5* is the share of every "
        "attacker, then of those the role draw gave the role they cheat in by round 5 (the "
        "goal's measure: no rule can slash an attacker before that); *attack updates "
        "aggregated* is the share of the attackers' proposals that went into a global model "
        "(for the baselines: all of them, whatever weight the strategy gave them).",
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
        if not scoring or not any(k[0] == dataset for k in scoring):
            continue
        lines += [
            "",
            f"## {dataset}: flock scored by accuracy and by test loss "
            f"({', '.join(SCORING_VARIANT)})",
            "",
            f"`python benchmarks/defence.py --grid {grid} --defences flock "
            f"{' '.join(SCORING_VARIANT)}`: the same runs with the voters scoring by the test "
            "loss (`configs/scoring/loss.yaml`, its thresholds on that scale).",
            "",
            *_scoring_table(cells, scoring, dataset),
        ]
    for dataset in datasets:
        lines += ["", f"## {dataset}: every figure", "", *_table(cells, dataset)]
        for eta in sorted({k[2] for k in cells if k[0] == dataset and k[2] is not None}):
            stem = f"defence_{{}}_{dataset}_eta{eta:g}.png"
            plot_accuracy(cells, dataset, eta, RESULTS_DIR / stem.format("accuracy"))
            plot_stake(cells, dataset, eta, RESULTS_DIR / stem.format("stake"))
            lines += [
                "",
                f"![accuracy, eta {eta:g}]({stem.format('accuracy')}) "
                f"![stake, eta {eta:g}]({stem.format('stake')})",
            ]
    (RESULTS_DIR / "defence.md").write_text("\n".join(lines) + "\n")


def load_results(root: Path) -> list[RunResult]:
    """Every run's result.json under `root`."""
    return [RunResult.from_json(p.read_text()) for p in sorted(root.rglob("result.json"))]


def report(grid: str) -> list[str]:
    """Summarise the grid's runs on disk, write the report and return the figure lines."""
    results = load_results(RUNS_DIR / grid)
    if not results:
        raise SystemExit(f"no runs under {RUNS_DIR / grid}")
    cells = summarise(results, committee("defence"))
    seeds = sorted({r.seed for r in results})
    diag_path = RESULTS_DIR / "defence_diagnose.txt"
    if not diag_path.exists():
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        lines = [line for dataset in ("digits", "breast_cancer") for line in diagnose(dataset)]
        diag_path.write_text("\n".join(lines) + "\n")
    seconds = sum(r.seconds for r in results)
    scored = [
        r for r in load_results(RUNS_DIR / run_name(grid, SCORING_VARIANT)) if r.defence == "flock"
    ]
    scoring = summarise(scored, committee("defence")) if scored else None
    text = notes(cells, _diag_lines(diag_path), scoring, majority_shares(results))
    write_report(cells, grid, len(results), seeds, text, seconds, scoring)
    lines = figure_lines(cells)
    (RESULTS_DIR / "defence.txt").write_text("\n".join(lines) + "\n")
    return lines


def rows(grid: str, only: Sequence[str], overrides: Sequence[str] = ()) -> list[str]:
    """The figure lines of the defences `only` from the grid's runs on disk (those run with the
    extra `overrides`: their own run directory), written to
    `results/defence_rows_<defences>[+<overrides>].txt`; the report and the plots are left as
    they are (they compare every defence)."""
    name = run_name(grid, overrides)
    results = [r for r in load_results(RUNS_DIR / name) if r.defence in only]
    if grid == "majority":  # the family's cells alone (its runs sit in the full grid's directory)
        results = [r for r in results if r.dataset.endswith("_" + MAJORITY_FAMILY)]
    if not results:
        raise SystemExit(f"no runs of {list(only)} under {RUNS_DIR / name}")
    lines = figure_lines(summarise(results, committee("defence")))
    lines.append(f"runs: {len(results)}")
    lines.append(f"run_seconds: {sum(r.seconds for r in results):.0f}")
    lines += [
        f"attacker_majority_rounds_pct[{label}]: {pct:.1f}"
        for label, pct in majority_shares(results).items()
    ]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    variant = name[len(run_name(grid)) :]  # "" or "+scoring-loss"
    family = "_majority" if grid == "majority" else ""
    path = RESULTS_DIR / f"defence_rows_{'_'.join(only)}{family}{variant}.txt"
    path.write_text("\n".join(lines) + "\n")
    return lines


def majority_shares(results: Sequence[RunResult]) -> dict[str, float]:
    """Per dataset label of a cell family, the share of rounds (over its attacked runs) in
    which attackers held most of the proposer seats."""
    rounds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        if r.attack != "none" and r.dataset.endswith("_" + MAJORITY_FAMILY):
            rounds[r.dataset][0] += r.majority_rounds
            rounds[r.dataset][1] += r.rounds
    return {k: 100.0 * m / n for k, (m, n) in sorted(rounds.items()) if n}


def _diag_lines(path: Path) -> dict[str, str]:
    """`name: value` lines of a saved `--diagnose` run (empty when none was saved)."""
    if not path.exists():
        return {}
    pairs = (line.split(": ", 1) for line in path.read_text().splitlines() if ": " in line)
    return {k: v for k, v in pairs}
