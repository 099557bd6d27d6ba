"""The simulation route starts Ray's head node itself and tries again when it misses Ray's
start-up deadline (a loaded 2-core machine occasionally does)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from flock.flower import routes
from flock.flower.processes import process_alive

ray = pytest.importorskip("ray")

TIMEOUT = RuntimeError("Timed out waiting for file /tmp/ray/session_x/gcs_server_port_abc")
#: Ray's own words when the raylet does not register with the GCS within its 30 s
RAYLET_TIMEOUT = Exception(
    "The current node timed out during startup. This could happen because some of the raylet "
    "failed to startup or the GCS has become overloaded."
)


def _no_children(names: tuple[str, ...]) -> list[int]:
    return []


class _FakeRay:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.inits: list[dict[str, Any]] = []
        self.shutdowns = 0

    def init(self, **kwargs: Any) -> None:
        self.inits.append(kwargs)
        if self.failures:
            raise self.failures.pop(0)

    def shutdown(self) -> None:
        self.shutdowns += 1


def test_a_head_that_misses_the_deadline_is_started_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _FakeRay([TIMEOUT, RAYLET_TIMEOUT])
    stopped: list[tuple[str, ...]] = []
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setattr(routes, "stop_children", lambda names: stopped.append(names) or [])
    monkeypatch.setenv("PYTHONPATH", "/extra")  # restored after the test
    routes.start_ray({"num_cpus": 2, "include_dashboard": False}, attempts=3)
    # either deadline: shut down, the failed start's daemons stopped, started again
    assert len(fake.inits) == 3 and fake.shutdowns == 2
    assert stopped == [("gcs_server", "raylet")] * 2
    # as Flower's Ray backend: the actors get the driver's sys.path, then PYTHONPATH
    paths = fake.inits[-1]["runtime_env"]["env_vars"]["PYTHONPATH"].split(os.pathsep)
    assert paths == [*sys.path, "/extra"]
    assert fake.inits[-1]["num_cpus"] == 2


def test_it_gives_up_after_the_configured_attempts_and_on_other_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/extra")
    monkeypatch.setattr(routes, "stop_children", _no_children)
    fake = _FakeRay([TIMEOUT, TIMEOUT])
    monkeypatch.setitem(sys.modules, "ray", fake)
    with pytest.raises(RuntimeError, match="Timed out waiting for file"):
        routes.start_ray({}, attempts=2)
    fake = _FakeRay([RuntimeError("some other Ray failure")])
    monkeypatch.setitem(sys.modules, "ray", fake)
    with pytest.raises(RuntimeError, match="some other"):
        routes.start_ray({}, attempts=3)
    assert len(fake.inits) == 1


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_stop_children_kills_only_this_processes_named_children() -> None:
    # Prepare: two children of this process, one whose command line names a Ray daemon
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    daemon = subprocess.Popen([*sleeper, "raylet"])
    bystander = subprocess.Popen([*sleeper, "not-ray"])
    try:
        # Execute
        stopped = routes.stop_children(("gcs_server", "raylet"))
        # Assert: the named one is gone (killed and reaped), the other still runs
        assert stopped == [daemon.pid]
        assert not process_alive(daemon.pid) and process_alive(bystander.pid)
    finally:
        for p in (daemon, bystander):
            p.kill()
            p.wait()
