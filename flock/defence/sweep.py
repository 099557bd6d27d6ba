"""The defence grid as Hydra multiruns: one multirun per (dataset, attack, seed) block, each job
one run (:func:`flock.defence.simulate`) that writes `result.json` into its Hydra job directory
under `multirun/defence/<grid>/` (a job whose result exists is skipped, so an interrupted grid
resumes). A block runs `benchmarks/defence.py -m ...` in a fresh process; that command line's
Hydra job calls :func:`run_job`."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from flock.defence.engine import simulate
from flock.defence.grid import (
    ATTACKS,
    DEFENCES,
    ETAS,
    LOGGER,
    MAJORITY_ATTACKS,
    MAJORITY_ETA,
    MAJORITY_FAMILY,
    MAJORITY_OVERRIDES,
    ROOT,
    RULES,
    RUNS_DIR,
    SCRIPT,
    SIMPLE_ATTACKS,
    VOTE_ONLY,
)
from flock.defence.result import RunResult

log = logging.getLogger(LOGGER)


@dataclass(frozen=True)
class Block:
    """One Hydra multirun: every defence x eta of one dataset, attack and seed."""

    dataset: str
    attack: str
    seed: int
    defences: tuple[str, ...]
    etas: tuple[float | None, ...]
    #: a cell family's name (its cells are labelled `<dataset>_<family>`) and its overrides
    family: str | None = None
    setting: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The cells' dataset label: the dataset, or `<dataset>_<family>`."""
        return self.dataset if self.family is None else f"{self.dataset}_{self.family}"

    def sweep_dir(self, grid: str) -> Path:
        return RUNS_DIR / grid / self.label / self.attack / f"seed{self.seed}"

    def overrides(self, grid: str) -> list[str]:
        etas = ",".join("null" if e is None else str(e) for e in self.etas)
        family = [] if self.family is None else [f"defence.label={self.label}", *self.setting]
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
            *family,
        ]

    @property
    def jobs(self) -> int:
        return len(self.defences) * len(self.etas)


def grid_blocks(grid: str, seeds: Sequence[int], only: Sequence[str] | None = None) -> list[Block]:
    """The blocks of `grid`, every block of the first seed first (a partial grid is then a
    complete grid of fewer seeds). `full`: digits, every attack x eta x defence (the vote-only
    attacks with the settling rules only), clean runs, and breast cancer at eta 0.3 for the
    simple attacks. `quick`: digits at eta 0.3. `only`: those defences' rows alone (their
    runs land where the whole grid's would, so a later whole grid reuses them)."""
    blocks = _blocks(grid, seeds)
    if only is None:
        return blocks
    unknown = set(only) - set(DEFENCES)
    if unknown:
        raise ValueError(f"unknown defences {sorted(unknown)}; valid: {list(DEFENCES)}")
    kept = [Block(b.dataset, b.attack, b.seed, tuple(d for d in b.defences if d in only), b.etas,
                  b.family, b.setting) for b in blocks]  # fmt: skip
    return [b for b in kept if b.defences]


def _majority_blocks(seed: int) -> list[Block]:
    """The attacker-majority family of one seed: its clean runs, then each attack."""
    family = {"family": MAJORITY_FAMILY, "setting": MAJORITY_OVERRIDES}
    blocks = [Block("digits", "none", seed, DEFENCES, (None,), **family)]  # type: ignore[arg-type]
    for attack in MAJORITY_ATTACKS:
        blocks.append(Block("digits", attack, seed, DEFENCES, (MAJORITY_ETA,), **family))  # type: ignore[arg-type]
    return blocks


def _blocks(grid: str, seeds: Sequence[int]) -> list[Block]:
    if grid == "majority":
        return [b for seed in seeds for b in _majority_blocks(seed)]
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
            blocks += _majority_blocks(seed)
    return blocks


def run_name(grid: str, overrides: Sequence[str] = ()) -> str:
    """The run directory of `grid` under :data:`RUNS_DIR`: the grid's name, with the extra
    overrides appended (`full+scoring-loss`), so that a variant never mixes with the grid. The
    `majority` family is part of the full grid: its runs land where the full grid's would."""
    grid = "full" if grid == "majority" else grid
    if not overrides:
        return grid
    return "+".join([grid, *(o.replace("=", "-").replace("/", "-") for o in overrides)])


def run_block(block: Block, name: str, overrides: Sequence[str] = ()) -> tuple[Block, int, float]:
    """Run one block as a Hydra multirun in a fresh process (into run directory `name`, with
    the extra `overrides`); return its exit code and time."""
    sweep_dir = block.sweep_dir(name)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    command = [sys.executable, str(SCRIPT), "-m", *block.overrides(name), *overrides]
    with (sweep_dir / "block.log").open("w") as out:
        code = subprocess.call(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return block, code, time.perf_counter() - started


def run_grid(
    grid: str,
    seeds: Sequence[int],
    jobs: int,
    only: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
) -> None:
    """Run every block of `grid` (of the defences `only`, when given), `jobs` processes at a
    time; extra Hydra `overrides` (e.g. `scoring=loss`) go to every run, which then lands in
    its own run directory (:func:`run_name`)."""
    blocks = grid_blocks(grid, seeds, only)
    name = run_name(grid, overrides)
    total = sum(b.jobs for b in blocks)
    log.info("grid %s: %d blocks, %d runs, %d processes", grid, len(blocks), total, jobs)
    started, done = time.perf_counter(), 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for block, code, seconds in pool.map(lambda b: run_block(b, name, overrides), blocks):
            done += block.jobs
            log.info(
                "%s/%s seed %d: exit %d, %.0f s (%d/%d runs, %.0f s elapsed)",
                block.label,
                block.attack,
                block.seed,
                code,
                seconds,
                done,
                total,
                time.perf_counter() - started,
            )
    print(f"grid_seconds[{name}]: {time.perf_counter() - started:.0f}")


def run_job(cfg: DictConfig) -> float:
    """One Hydra job of a multirun (`-m` sweeps): one run, its result.json in the job's output
    directory; the final accuracy. Call it from inside a `hydra.main` task."""
    from hydra.core.hydra_config import HydraConfig

    out = Path(HydraConfig.get().runtime.output_dir) / "result.json"
    if out.exists():  # resume an interrupted grid
        return RunResult.from_json(out.read_text()).final_accuracy
    if cfg.defence.get("attack_name") is None:
        cfg.defence.attack_name = HydraConfig.get().runtime.choices.get("attack")
    result = simulate(cfg)
    out.write_text(result.to_json())
    print(f"final_accuracy[{result.defence}]: {result.final_accuracy:.4f} ({result.seconds} s)")
    return result.final_accuracy
