"""Process-group lifecycle of the launcher: start, watch, stop and reap child processes."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Processes:
    """Processes this launcher started, each leader of its own process group."""

    stop_timeout: float
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, cmd: list[str], env: dict[str, str], log_file: Path) -> int:
        """Start `cmd` in a new session (its own process group), output to `log_file`."""
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "ab") as out:
            proc = subprocess.Popen(
                cmd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs.append((name, proc))
        log.info("started %s (pid %d)", name, proc.pid)
        return proc.pid

    def check_alive(self) -> None:
        """Raise if a started process already exited (it is left unreaped: see :meth:`stop`)."""
        for name, proc in self.procs:
            if _exited(proc.pid):
                raise RuntimeError(f"{name} (pid {proc.pid}) exited; see its log")

    @property
    def pids(self) -> list[int]:
        """Process (and process group) ids started."""
        return [p.pid for _, p in self.procs]

    def stop(self) -> None:
        """SIGTERM every process group (newest first), SIGKILL each group after the grace time
        (children left behind included), then reap the leaders. A leader is reaped only after
        its group was killed, so its id cannot have been reused by then."""
        for _, proc in reversed(self.procs):
            signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline and not all(_exited(p.pid) for _, p in self.procs):
            time.sleep(0.05)
        for name, proc in reversed(self.procs):
            if not _exited(proc.pid):
                log.warning("%s (pid %d) ignored SIGTERM; killing", name, proc.pid)
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.clear()


def _exited(pid: int) -> bool:
    """Whether child `pid` exited, without reaping it (its id stays reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send `sig` to process group `pgid`; a group that is already gone is fine."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stop_children(names: tuple[str, ...]) -> list[int]:
    """Kill and reap this process's live children whose command line contains one of `names`
    (e.g. the Ray daemons a failed `ray.init` started and no longer tracks); their pids."""
    stopped = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) != os.getpid() or not any(n in cmdline for n in names):
            continue
        pid = int(entry.name)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):  # gone, or reaped by its Popen
            pass
        stopped.append(pid)
    return stopped


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_port(port: int, timeout: float, processes: Processes) -> None:
    """Wait until 127.0.0.1:`port` accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")
