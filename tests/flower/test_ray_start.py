"""The simulation route starts Ray's head node itself and tries again when it misses Ray's
start-up deadline (a loaded 2-core machine occasionally does)."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from flock.flower import routes

ray = pytest.importorskip("ray")

TIMEOUT = RuntimeError("Timed out waiting for file /tmp/ray/session_x/gcs_server_port_abc")


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
    fake = _FakeRay([TIMEOUT, TIMEOUT])
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setenv("PYTHONPATH", "/extra")  # restored after the test
    routes.start_ray({"num_cpus": 2, "include_dashboard": False}, attempts=3)
    assert len(fake.inits) == 3 and fake.shutdowns == 2
    # as Flower's Ray backend: the actors get the driver's sys.path, then PYTHONPATH
    paths = fake.inits[-1]["runtime_env"]["env_vars"]["PYTHONPATH"].split(os.pathsep)
    assert paths == [*sys.path, "/extra"]
    assert fake.inits[-1]["num_cpus"] == 2


def test_it_gives_up_after_the_configured_attempts_and_on_other_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/extra")
    fake = _FakeRay([TIMEOUT, TIMEOUT])
    monkeypatch.setitem(sys.modules, "ray", fake)
    with pytest.raises(RuntimeError, match="Timed out waiting for file"):
        routes.start_ray({}, attempts=2)
    fake = _FakeRay([RuntimeError("some other Ray failure")])
    monkeypatch.setitem(sys.modules, "ray", fake)
    with pytest.raises(RuntimeError, match="some other"):
        routes.start_ray({}, attempts=3)
    assert len(fake.inits) == 1
