"""Defence benchmark: flock's rule, the FLock paper's rule and Flower's robust strategies side by
side, on the same splits, seeds and role draws, under every attack of `flock.attacks`.

    python benchmarks/defence.py --grid full --jobs 2   # the grid as Hydra multiruns, then report
    python benchmarks/defence.py --report --grid full   # the report from the runs on disk
    python benchmarks/defence.py --grid full --defences flock   # flock's rows only (no report)
    python benchmarks/defence.py --grid full --defences flock scoring=loss  # ... by test loss
    python benchmarks/defence.py --grid majority --defences flock,krum  # attacker-majority cells
    python benchmarks/defence.py --smoke                # CI: flock's rule on the real contract
    python benchmarks/defence.py --noise                # honest noise of each vote threshold
    python benchmarks/defence.py -m +experiment=defence defence.name=flock,krum attack=alie \\
        defence.eta=0.1,0.2 seed=0,1                    # a Hydra multirun of single runs

A grid runs one Hydra multirun per (dataset, attack, seed) block, `--jobs` of them at a time;
each job is one run (`flock.defence.simulate`) and writes `result.json` into its Hydra job
directory under `multirun/defence/<grid>/` (a job whose result exists is skipped, so an
interrupted grid resumes). The report writes `results/defence.md`, the plots
`results/defence_{accuracy,stake}_<dataset>_eta<eta>.png` and `results/defence.txt`, and prints
`name: value` lines such as `acc_drop_pts[flock,label_flip,0.3]: 0.8`.

This is the command line (and the Hydra job entry) over `flock.defence`: the grid and its
multiruns in `flock.defence.sweep` (constants and paths in `flock.defence.grid`), the cells, goals
and figure lines in `summary`, the report in `report`, `notes` and `plots`, the smoke in `smoke`
`--diagnose` in `diagnose`
and `--noise` (the honest figures each settlement threshold compares, in clean runs of both
scorings: what the thresholds of `configs/scoring/` are derived from) in `noise`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from flock.defence.diagnose import diagnose
from flock.defence.grid import CONFIG_DIR, RESULTS_DIR, RUNS_DIR, SEEDS
from flock.defence.noise import noise_report
from flock.defence.report import report, rows
from flock.defence.smoke import smoke
from flock.defence.sweep import run_grid, run_job


def hydra_job() -> None:
    """One run per Hydra job (`-m` sweeps): result.json in the job's output directory."""
    import hydra
    from omegaconf import DictConfig

    @hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
    def job(cfg: DictConfig) -> float:
        return run_job(cfg)

    job()


def main() -> None:
    """Dispatch: --smoke, --grid, --report, or a Hydra run/multirun of single jobs."""
    if not any(
        a in sys.argv[1:] for a in ("--smoke", "--grid", "--report", "--diagnose", "--noise")
    ):
        hydra_job()
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="CI smoke mode (real contract)")
    parser.add_argument(
        "--grid", choices=("full", "quick", "majority"), help="run this grid, then report"
    )
    parser.add_argument("--report", action="store_true", help="only report the grid on disk")
    parser.add_argument(
        "--diagnose", action="store_true", help="why flock's rule rejects honest proposals"
    )
    parser.add_argument(
        "--noise", action="store_true", help="honest noise of each vote threshold (clean runs)"
    )
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="seeds of the grid")
    parser.add_argument(
        "--defences",
        default=None,
        help="comma-separated: run and print only these defences' rows (e.g. flock); the "
        "report is not rewritten",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument(
        "overrides",
        nargs="*",
        help="Hydra overrides for every run of the grid (e.g. scoring=loss): the runs land in "
        "their own directory, multirun/defence/<grid>+<overrides>",
    )
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
    if args.noise:
        lines = noise_report([int(s) for s in args.seeds.split(",")])
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "defence_noise.txt").write_text("\n".join(lines) + "\n")
        for line in lines:
            print(line)
        return
    grid = args.grid or "full"
    only = args.defences.split(",") if args.defences else None
    if not args.report:
        run_grid(grid, [int(s) for s in args.seeds.split(",")], args.jobs, only, args.overrides)
    if only is None and args.overrides:
        raise SystemExit("the report compares every defence of the default grid: use --defences")
    lines = report(grid) if only is None else rows(grid, only, args.overrides)
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
