"""The dashboard's numbers, with their defaults in one place (the command's flags override
host, port and poll interval)."""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class DashboardSettings:
    """How `flock dashboard` serves and reads."""

    #: Interface to listen on: loopback unless told otherwise (the page is public data, but
    #: nobody else needs it).
    host: str = "127.0.0.1"
    port: int = 9400
    #: Seconds between two reads of the chain or the event log.
    poll_s: float = 1.0
    #: Seconds between keep-alive comments on an idle event stream.
    heartbeat_s: float = 15.0
    #: How often an open event stream looks for a new snapshot (seconds).
    stream_check_s: float = 0.2
    #: The browser's reconnect delay after a broken event stream (milliseconds).
    stream_retry_ms: int = 2000
    #: Of each JSON-RPC request: timeout (seconds) and retries (transient errors).
    request_timeout_s: float = 10.0
    rpc_retries: int = 1
    #: Largest block range of one eth_getLogs.
    log_chunk_blocks: int = 10_000
    #: Seconds open streams get to close when the server stops.
    shutdown_s: float = 2.0

    @property
    def url(self) -> str:
        """The page's URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def loopback(self) -> bool:
        """Whether the server listens on a loopback interface only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def dashboard_command(
    *, run_dir: str | None = None, alliance_file: str | None = None
) -> tuple[str, str]:
    """The command that watches a run (its directory) or an alliance (its file), and the URL
    it serves with the default settings.

    Raises
    ------
    ValueError
        Unless exactly one of `run_dir` and `alliance_file` is given.
    """
    if (run_dir is None) == (alliance_file is None):
        raise ValueError("give run_dir or alliance_file")
    flag, path = (
        ("--run-dir", run_dir) if run_dir is not None else ("--alliance-file", alliance_file)
    )
    return f"flock dashboard {flag} {shlex.quote(str(path))}", DashboardSettings().url
