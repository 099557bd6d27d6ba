"""Benchmark flock's aggregation rules against Flower's on one large random round.

Both sides are timed the same way: one untimed warm-up call on the full round,
then the median wall time of ``--repeats`` calls. Each side gets its native
input: flock's rules take the list of flattened float32 tensors and Flower's
take a ``[([ndarray], num_examples), ...]`` results list, rebuilt (zero-copy)
inside each timed call because ``aggregate_bulyan`` consumes it. Any stacking
or conversion a rule does internally is part of its time. Peak memory is the
RSS high-water mark of one flock call in a fresh subprocess, over the size of
the updates.
"""

import argparse
import gc
import json
import logging
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from flock.aggregation import bulyan, fedavg, krum, median, multikrum, trimmed_mean

LOG = logging.getLogger("benchmarks.aggregation")

NAMES = ["fedavg", "median", "trimmed_mean", "krum", "multikrum", "bulyan"]
GOALS = {
    "speedup_vs_flower_fedavg": (">=", 10.0),
    "speedup_vs_flower_median": (">=", 1.5),
    "speedup_vs_flower_trimmed_mean": (">=", 1.5),
    "speedup_vs_flower_krum": (">=", 30.0),
    "speedup_vs_flower_multikrum": (">=", 30.0),
    "speedup_vs_flower_bulyan": (">=", 30.0),
    "krum_over_fedavg": ("<=", 4.0),
    "krum_peak_mem_over_input": ("<=", 3.0),
}

# Side and repeats of the square float32 product that measures peak flop/s.
PEAK_MATMUL_SIZE = 2048
PEAK_MATMUL_REPEATS = 9

Updates = list[torch.Tensor]


def build_round(count: int, dim: int, seed: int) -> tuple[Updates, list[int]]:
    """Return `count` random float32 updates of length `dim` and their sample counts."""
    generator = torch.Generator().manual_seed(seed)
    updates = [torch.randn(dim, generator=generator) for _ in range(count)]
    counts = [int(c) for c in np.random.default_rng(seed).integers(10, 1000, count)]
    return updates, counts


def flock_rule(name: str, args: argparse.Namespace) -> Callable[[Updates, list[int]], Any]:
    """Return a callable running flock's `name` rule with the benchmark's knobs."""
    f = args.num_malicious
    rules: dict[str, Callable[[Updates, list[int]], Any]] = {
        "fedavg": lambda u, c: fedavg(u, c),
        "median": lambda u, c: median(u),
        "trimmed_mean": lambda u, c: trimmed_mean(u, args.beta),
        "krum": lambda u, c: krum(u, f, weights=c),
        "multikrum": lambda u, c: multikrum(u, f, to_keep=args.to_keep, weights=c),
        "bulyan": lambda u, c: bulyan(u, f, weights=c),
    }
    return rules[name]


def flower_rule(name: str, args: argparse.Namespace) -> Callable[[list], Any]:
    """Return a callable running Flower's `name` rule on a results list."""
    # Imported here so that the memory subprocesses do not load Flower.
    from flwr.server.strategy.aggregate import (
        aggregate,
        aggregate_bulyan,
        aggregate_krum,
        aggregate_median,
        aggregate_trimmed_avg,
    )

    f = args.num_malicious
    rules: dict[str, Callable[[list], Any]] = {
        "fedavg": aggregate,
        "median": aggregate_median,
        "trimmed_mean": lambda r: aggregate_trimmed_avg(r, args.beta),
        "krum": lambda r: aggregate_krum(r, f, 0),
        "multikrum": lambda r: aggregate_krum(r, f, args.to_keep),
        "bulyan": lambda r: aggregate_bulyan(r, f, aggregate_krum, to_keep=0),
    }
    return rules[name]


def median_time(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Return the median wall time of `repeats` calls after one warm-up call, and a result."""
    result = run()
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def floors(updates: Updates, args: argparse.Namespace) -> dict[str, float]:
    """Return lower bounds on any rule's time on this machine, timed like the rules.

    ``read_floor_s``: one multi-threaded sum over the updates (stacked
    beforehand), the memory-bandwidth cost of reading them once, which every
    rule pays. ``krum_floor_s``: that read plus the ``n (n + 1) d`` flops of
    the lower triangle of the updates' Gram matrix at the rate of a large
    square float32 matrix product, this machine's practical peak.
    """
    stacked = torch.stack(updates)
    read_s, _ = median_time(stacked.sum, args.repeats)
    del stacked
    square = torch.randn(PEAK_MATMUL_SIZE, PEAK_MATMUL_SIZE)
    matmul_s, _ = median_time(lambda: torch.mm(square, square), PEAK_MATMUL_REPEATS)
    peak = 2 * PEAK_MATMUL_SIZE**3 / matmul_s
    return {
        "read_floor_s": read_s,
        "read_bandwidth_gb_s": args.n * args.dim * 4 / read_s / 1e9,
        "matmul_peak_gflop_s": peak / 1e9,
        "krum_floor_s": read_s + args.n * (args.n + 1) * args.dim / peak,
    }


def _status_bytes(field: str) -> int | None:
    """Return a ``kB`` field of /proc/self/status in bytes, or None if unavailable."""
    try:
        with open("/proc/self/status") as status:
            match = re.search(rf"^{field}:\s+(\d+) kB", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) for this process; False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def measure_memory_child(args: argparse.Namespace) -> None:
    """In a fresh process: print the peak RSS growth of one flock rule, as JSON.

    The peak is the kernel's high-water mark, reset just before the call when
    Linux allows it (otherwise ``ru_maxrss``, an upper bound), minus the
    resident size with the input already built.
    """
    rule = flock_rule(args.child_memory, args)
    small, small_counts = build_round(args.n, 64, args.seed)
    rule(small, small_counts)  # load libraries and BLAS buffers before the baseline
    updates, counts = build_round(args.n, args.dim, args.seed)
    gc.collect()
    exact = _reset_peak_rss()
    baseline = _status_bytes("VmRSS")
    if not exact or baseline is None:
        exact, baseline = False, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rule(updates, counts)
    peak = _status_bytes("VmHWM") if exact else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"extra_bytes": peak - baseline, "exact": exact}))


def peak_memory_over_input(name: str, args: argparse.Namespace) -> float:
    """Run `name` in a subprocess; return its peak RSS growth over the input size."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        f"--n={args.n}",
        f"--dim={args.dim}",
        f"--seed={args.seed}",
        f"--num-malicious={args.num_malicious}",
        f"--to-keep={args.to_keep}",
        f"--beta={args.beta}",
        f"--threads={args.threads}",
        f"--child-memory={name}",
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    report = json.loads(output.strip().splitlines()[-1])
    if not report["exact"]:
        LOG.warning("peak RSS could not be reset; %s memory is an upper bound", name)
    return report["extra_bytes"] / (args.n * args.dim * 4)


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50, help="number of client updates")
    parser.add_argument("--dim", type=int, default=1_000_000, help="parameters per update")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed calls per rule and side (median kept)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-malicious", type=int, default=10, help="f for Krum and Bulyan")
    parser.add_argument("--to-keep", type=int, default=None, help="Multi-Krum keep (n - f)")
    parser.add_argument("--beta", type=float, default=0.1, help="trimmed-mean cut per end")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--child-memory", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.to_keep is None:
        args.to_keep = args.n - args.num_malicious
    return args


def main() -> None:
    """Time each rule against Flower and print the figures."""
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child_memory:
        measure_memory_child(args)
        return
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    LOG.info(
        "n=%d dim=%d repeats=%d seed=%d f=%d to_keep=%d beta=%g torch_threads=%d",
        args.n,
        args.dim,
        args.repeats,
        args.seed,
        args.num_malicious,
        args.to_keep,
        args.beta,
        torch.get_num_threads(),
    )
    names = [n for n in NAMES if n != "bulyan" or args.n >= 4 * args.num_malicious + 3]
    updates, counts = build_round(args.n, args.dim, args.seed)

    figures: dict[str, float] = {
        "torch_threads": torch.get_num_threads(),
        "loadavg_1min_at_start": os.getloadavg()[0],
    }
    for name in names:
        flock_run = flock_rule(name, args)
        flock_s, ours = median_time(lambda run=flock_run: run(updates, counts), args.repeats)
        LOG.info("flock %s: %.4f s", name, flock_s)

        flower_run = flower_rule(name, args)

        def flower_call(run: Callable[[list], Any] = flower_run) -> Any:
            # A fresh results list per call: aggregate_bulyan pops from it.
            return run([([u.numpy()], c) for u, c in zip(updates, counts, strict=True)])

        flower_s, theirs = median_time(flower_call, args.repeats)
        LOG.info("flower %s: %.4f s", name, flower_s)

        figures[f"flock_{name}_s"] = flock_s
        figures[f"flower_{name}_s"] = flower_s
        figures[f"speedup_vs_flower_{name}"] = flower_s / flock_s
        figures[f"max_abs_diff_{name}"] = float(np.max(np.abs(ours.numpy() - theirs[0])))

    figures["krum_over_fedavg"] = figures["flock_krum_s"] / figures["flock_fedavg_s"]
    figures.update(floors(updates, args))
    if "fedavg" in names:
        figures["flower_fedavg_over_read_floor"] = (
            figures["flower_fedavg_s"] / figures["read_floor_s"]
        )
    figures["flower_krum_over_krum_floor"] = figures["flower_krum_s"] / figures["krum_floor_s"]
    figures["loadavg_1min_after_timing"] = os.getloadavg()[0]
    for name in names:
        LOG.info("peak memory of flock %s (subprocess)", name)
        figures[f"{name}_peak_mem_over_input"] = peak_memory_over_input(name, args)

    for key, value in figures.items():
        print(f"{key}: {value:.4g}")
    for key, (op, target) in GOALS.items():
        if key in figures:
            met = figures[key] >= target if op == ">=" else figures[key] <= target
            print(f"goal_{key}: {op}{target:g} {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
