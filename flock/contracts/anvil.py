"""Start and stop a local anvil dev chain (installed under node_modules/ by the setup)."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from flock.contracts.errors import ChainUnreachableError

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]


def anvil_available() -> bool:
    """Whether an anvil binary is installed (tests skip anvil runs without it)."""
    try:
        anvil_binary()
    except FileNotFoundError:
        return False
    return True


def anvil_binary() -> str:
    """Path of the native anvil binary from the npm package, else anvil on PATH.

    The native binary is used rather than node_modules/.bin/anvil: that is a node wrapper,
    and stopping the wrapper must not leave the real node running.
    """
    native = sorted((REPO_ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))
    if native:
        return str(native[0])
    found = shutil.which("anvil")
    if found is None:
        raise FileNotFoundError(
            "anvil not found: run scripts/setup.sh (installs @foundry-rs/anvil)"
        )
    return found


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AnvilProcess:
    """A private anvil on 127.0.0.1, stopped on exit (use as a context manager).

    Parameters
    ----------
    port : int | None
        Port to listen on (a free one when None).
    chain_id : int
        Chain id to serve.
    block_gas_limit : int
        Gas limit per block.
    startup_timeout : float
        Seconds to wait for the node to answer ``eth_chainId``.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        chain_id: int = 31337,
        block_gas_limit: int = 30_000_000,
        startup_timeout: float = 20.0,
    ) -> None:
        self.port = port or free_port()
        self.chain_id = chain_id
        self.block_gas_limit = block_gas_limit
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the running node (None before start)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def url(self) -> str:
        """HTTP endpoint of the node."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AnvilProcess:
        """Launch anvil and wait until it answers."""
        cmd = [
            anvil_binary(),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(self.chain_id),
            "--gas-limit", str(self.block_gas_limit),
            "--silent",
        ]  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                raise ChainUnreachableError(f"anvil exited with {self._proc.returncode}: {err}")
            if self._answers():
                log.info("anvil ready at %s (pid %d)", self.url, self._proc.pid)
                return self
            time.sleep(0.05)
        self.stop()
        raise ChainUnreachableError(
            f"anvil did not answer on {self.url} in {self.startup_timeout}s"
        )

    def _answers(self) -> bool:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
        request = urllib.request.Request(
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                return "result" in json.loads(response.read())
        except OSError:
            return False

    def stop(self) -> None:
        """Terminate anvil (kill after 5 s)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stderr:
            self._proc.stderr.close()
        self._proc = None

    def __enter__(self) -> AnvilProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
