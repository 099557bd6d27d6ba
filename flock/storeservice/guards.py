"""The service's limits on uploaders: a token bucket per signer, and single-use signatures."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from flock.store import RateLimitedError, SignatureReplayedError

log = logging.getLogger(__name__)


class TokenBuckets:
    """One token bucket per uploader: `burst` uploads at once, refilled at `per_s` a second.

    Parameters
    ----------
    burst : float
        Bucket size (at least 1).
    per_s : float
        Tokens added per second.
    """

    def __init__(self, burst: float, per_s: float) -> None:
        if burst < 1 or per_s <= 0:
            raise ValueError(f"a bucket needs burst >= 1 and per_s > 0, got {burst}, {per_s}")
        self.burst = float(burst)
        self.per_s = float(per_s)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str) -> None:
        """Spend one token of `who`'s bucket.

        Raises
        ------
        RateLimitedError
            When the bucket is empty (`retry_after`: seconds until a token is back).
        """
        now = time.monotonic()
        with self._lock:
            tokens, since = self._buckets.get(who, (self.burst, now))
            tokens = min(self.burst, tokens + (now - since) * self.per_s)
            if tokens < 1:
                wait = (1 - tokens) / self.per_s
                self._buckets[who] = (tokens, now)
                raise RateLimitedError(
                    f"{who} uploads faster than {self.per_s:g}/s (burst {self.burst:g}); "
                    f"retry in {wait:.2f}s",
                    retry_after=wait,
                )
            self._buckets[who] = (tokens - 1, now)


class ReplayGuard:
    """Remembers every upload authorisation used until it expires, on disk (a restarted service
    still refuses a replay).

    Parameters
    ----------
    path : Path | None
        An append-only file of ``<hex key> <expiry>`` lines; None keeps them in memory.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._seen: dict[bytes, float] = {}
        self._lock = threading.Lock()
        self._next_prune = 0.0
        if path is not None and path.exists():
            now = time.time()
            for line in path.read_text().splitlines():
                key, _, expiry = line.partition(" ")
                try:
                    if float(expiry) >= now:
                        self._seen[bytes.fromhex(key)] = float(expiry)
                except ValueError:
                    log.warning("skipping a damaged line of %s", path)
            self._rewrite()

    def _rewrite(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{k.hex()} {e:.0f}\n" for k, e in self._seen.items()))
        tmp.replace(self.path)

    def use(self, key: bytes, expiry: float) -> None:
        """Mark `key` used (until `expiry`, unix seconds).

        Raises
        ------
        SignatureReplayedError
            When it was used before.
        """
        now = time.time()
        with self._lock:
            if key in self._seen:
                raise SignatureReplayedError(
                    "this upload signature was used before: sign every upload afresh"
                )
            self._seen[key] = expiry
            if self.path is not None:
                with open(self.path, "a") as out:
                    out.write(f"{key.hex()} {expiry:.0f}\n")
            if now >= self._next_prune:  # forget expired keys once a minute
                self._seen = {k: e for k, e in self._seen.items() if e >= now}
                self._rewrite()
                self._next_prune = now + 60.0

    def __len__(self) -> int:
        return len(self._seen)
