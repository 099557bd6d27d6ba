"""The suite's xdist groups reach the scheduler: under `-n 2 --dist loadgroup`
(`scripts/test.sh`) every process-starting test runs on one worker, one after another."""

from __future__ import annotations

import pytest


def test_process_starting_tests_are_scheduled_in_one_group(request: pytest.FixtureRequest) -> None:
    config = request.config
    if not getattr(config.option, "loadgroup", False):
        pytest.skip("not under pytest-xdist's --dist loadgroup")
    # xdist schedules by the "@<group>" suffix its worker gives a grouped test's node id
    assert request.node.nodeid.endswith("@processes"), request.node.nodeid
