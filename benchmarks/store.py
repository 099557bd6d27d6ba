"""What the networked update store costs, printed as `name: value` lines:
  http_get_over_dir: time to get (fetch, verify, decode) a 50 MB update from flock's blob service
      over loopback HTTP (the service in its own process, the reader's cache empty) divided by
      the time to get it from a local directory store (page cache warm); goal <= 3
  http_added_round_s: mean wall time of a round of the default 10-member `flock run` with
      store=http (the service in a thread of that process, a cache per member, every upload
      signed and checked against the chain) minus the same run with store=dir; goal <= 0.1
with the figures behind them and the load average, since both share this machine with whatever
else runs on it. Both runs play the same rounds (same seed: same roles, training and votes), so
round r costs the same compute in each; the runs alternate (dir, http, dir, http, ...) and each
round's time is its best of --run-repeats, which drops the spikes other processes cause.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from flock.contracts.anvil import free_port
from flock.local.experiment import run
from flock.store import RetryPolicy, UpdateStore
from flock.store.http_client import HttpStore

CONFIG_DIR = str(Path(__file__).resolve().parents[1] / "configs")
#: The service process of the get benchmark: serves a directory, takes no uploads.
SERVE = (
    "import sys; from pathlib import Path; "
    "from flock.storeservice import ServiceSettings, create_app, serve; "
    "app = create_app(ServiceSettings(root=Path(sys.argv[1]), task='0x' + '00' * 20, "
    "max_bytes=int(sys.argv[3])), lambda address: False); "
    "serve(app, sys.argv[2], log_level='warning')"
)


def _timed(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def get_over_dir(megabytes: float, repeats: int) -> dict[str, float]:
    """Median get times of one update from a directory and from the service over loopback."""
    n = int(megabytes * 1e6 / 4)
    with tempfile.TemporaryDirectory(prefix="flock-store-bench-") as tmp:
        root = Path(tmp)
        local = UpdateStore(root / "dir", max_bytes=2**31)
        digest = local.put(torch.randn(n, generator=torch.Generator().manual_seed(0)), {})
        service_dir = UpdateStore(root / "service", max_bytes=2**31)
        service_dir.put_bytes(local.get_bytes(digest))  # the service serves what its dir holds
        port = free_port()
        address = f"127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(service_dir.root), address, str(2**31)],
            stdout=subprocess.DEVNULL,
        )
        try:
            caches = iter(range(10**6))

            def fetch() -> None:  # a reader with an empty cache: every byte over HTTP
                cache = UpdateStore(root / "cache" / str(next(caches)), max_bytes=2**31)
                store = HttpStore(
                    f"http://{address}", cache=cache, task="0x" + "00" * 20,
                    policy=RetryPolicy(timeout_s=30, deadline_s=60),
                )  # fmt: skip
                store.check()
                store.get(digest, expected_numel=n)
                store.close()

            fetch()  # warm: the service's page cache and imports
            http_s = _timed(fetch, repeats)
            dir_s = _timed(lambda: local.get(digest, expected_numel=n), repeats)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        size = local.path(digest).stat().st_size
    return {"blob_mb": size / 1e6, "dir_get_s": dir_s, "http_get_s": http_s}


def round_seconds(store: str, rounds: int, overrides: list[str]) -> list[float]:
    """Per-round wall times of one `flock run` (10 members by default) with `store`."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            config_name="config", overrides=[f"store={store}", f"task.rounds={rounds}", *overrides]
        )
    with tempfile.TemporaryDirectory(prefix=f"flock-store-{store}-") as tmp:
        run(cfg, Path(tmp))
        with open(Path(tmp) / "timings.csv") as f:
            return [float(row["seconds"]) for row in csv.DictReader(f)]


def added_round_s(rounds: int, repeats: int, overrides: list[str]) -> dict[str, float]:
    """Per-round means of the best-of-`repeats` round times with store=dir and store=http."""
    times: dict[str, list[list[float]]] = {"dir": [], "http": []}
    for _ in range(repeats):
        for store in ("dir", "http"):
            times[store].append(round_seconds(store, rounds, overrides))
    best = {store: [min(r) for r in zip(*runs, strict=True)] for store, runs in times.items()}
    return {
        "dir_round_s": statistics.mean(best["dir"]),
        "http_round_s": statistics.mean(best["http"]),
        "dir_round_s_mean_of_runs": statistics.mean(t for run in times["dir"] for t in run),
        "http_round_s_mean_of_runs": statistics.mean(t for run in times["http"] for t in run),
    }


def main() -> None:
    """Parse arguments, measure, print the figures."""
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=5, help="gets per store (median)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--run-repeats", type=int, default=3, help="runs per store (best of)")
    parser.add_argument("--skip-rounds", action="store_true", help="only the get benchmark")
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides of both runs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load_average_1m: {os.getloadavg()[0]:.2f}")
    gets = get_over_dir(args.megabytes, args.repeats)
    for name, value in gets.items():
        print(f"{name}: {value:.3f}")
    print(f"http_get_over_dir: {gets['http_get_s'] / gets['dir_get_s']:.2f}")
    if args.skip_rounds:
        return
    rounds = added_round_s(args.rounds, args.run_repeats, args.overrides)
    for name, value in rounds.items():
        print(f"{name}: {value:.3f}")
    print(f"http_added_round_s: {rounds['http_round_s'] - rounds['dir_round_s']:.3f}")
    print(f"load_average_1m_after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
