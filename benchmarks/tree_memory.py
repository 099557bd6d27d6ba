"""Peak memory of this process and every process below it (Ray's head and actors, anvil),
sampled in a background thread from /proc (Linux)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of `pid` in kB (0, 0 once it exited)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0])
    return values.get("Rss", 0), values.get("Pss", 0)


def tree_memory_gb(root: int | None = None) -> tuple[float, float]:
    """(sum of RSS, sum of PSS) of `root` (default: this process) and its descendants, in GB
    (RSS counts pages shared between processes once per process: an upper bound)."""
    tree = _children()
    stack, rss, pss = [root or os.getpid()], 0, 0
    while stack:
        pid = stack.pop()
        r, p = _memory_kb(pid)
        rss, pss = rss + r, pss + p
        stack.extend(tree.get(pid, []))
    return rss / 1e6, pss / 1e6


class PeakMemory:
    """Context manager sampling :func:`tree_memory_gb` every `interval_s`; `peak_rss_gb` and
    `peak_pss_gb` hold the largest sums seen."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self.peak_rss_gb = 0.0
        self.peak_pss_gb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="peak-memory")

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = tree_memory_gb()
            self.peak_rss_gb = max(self.peak_rss_gb, rss)
            self.peak_pss_gb = max(self.peak_pss_gb, pss)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
