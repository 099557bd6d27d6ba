"""flock's rule on the digits defence grid at eta <= 0.3: are honest members ever slashed?

    python benchmarks/defence_honest.py [--seeds 0,1,2] [--jobs 2] [--out results/x.json]

Plays every attack of the defence grid (and the protocol attacks) at eta 0.1, 0.2, 0.3 plus the
clean run, `flock.defence.simulate` with `defence.name=flock` (the contract's Python mirror,
differential-tested against it), each seed, and prints `name: value` lines:
  honest_slashed[<attack>,<eta>]: honest members slashed, summed over the seeds
  final_acc[<attack>,<eta>]: mean final holdout accuracy in percent
  cells_with_honest_slashed: how many (attack, eta) cells slashed any honest member
The full grid with every defence and the report is benchmarks/defence.py; this is the quick
check of the rule alone (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
from multiprocessing import Pool
from pathlib import Path

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "configs")
ATTACKS = (
    "label_flip", "sign_flip", "gaussian_noise", "scaling", "free_rider", "alie", "min_max",
    "min_sum", "backdoor", "random_score", "inverted_score", "colluding_cartel", "lazy", "cartel",
    "aggregate_poster", "weight_inflation",
)  # fmt: skip
ETAS = (0.1, 0.2, 0.3)


def run_one(job: tuple[str, str, int]) -> dict:
    """One simulated run of flock's rule; what it did to honest members."""
    import torch
    from hydra import compose, initialize_config_dir

    from flock.defence import simulate

    torch.set_num_threads(1)
    attack, eta, seed = job
    overrides = [
        "+experiment=defence",
        f"attack={attack}",
        f"defence.attack_name={attack}",
        "defence.name=flock",
        f"defence.eta={eta}",
        f"seed={seed}",
    ]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    result = simulate(cfg)
    return {
        "attack": attack,
        "eta": eta,
        "seed": seed,
        "honest_slashed": sum(result.honest_slash_reasons.values()),
        "reasons": result.honest_slash_reasons,
        "final_acc": result.accuracy[-1],
        "honest_rejected": result.honest_rejected,
        "honest_proposals": result.honest_proposals,
    }


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the runs as JSON")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [("none", "null", s) for s in seeds]
    jobs += [(a, str(e), s) for e in ETAS for a in ATTACKS for s in seeds]
    with Pool(args.jobs) as pool:
        runs = list(pool.imap(run_one, jobs))
    if args.out:
        args.out.write_text(json.dumps(runs, indent=1) + "\n")
    cells: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        cells.setdefault((run["attack"], run["eta"]), []).append(run)
    for (attack, eta), group in cells.items():
        label = attack if eta == "null" else f"{attack},{eta}"
        print(f"honest_slashed[{label}]: {sum(r['honest_slashed'] for r in group)}")
        print(f"final_acc[{label}]: {100 * statistics.mean(r['final_acc'] for r in group):.1f}")
    slashing = sum(any(r["honest_slashed"] for r in g) for g in cells.values())
    print(f"cells_with_honest_slashed: {slashing}")
    print(f"cells: {len(cells)}")


if __name__ == "__main__":
    main()
