"""Faults on a real multi-process alliance: participants killed every round, and a coordinator
killed with SIGKILL and resumed from the chain."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from flock.contracts.anvil import anvil_available
from flock.flower.drills import dropout_drill, resume_drill
from flock.flower.launch import load_config

pytestmark = [
    pytest.mark.anvil,
    pytest.mark.slow,
    pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)"),
    pytest.mark.skipif(sys.platform != "linux", reason="the drills read /proc"),
]

#: A round of this small alliance takes well under a second; the bound allows for a loaded CI.
ROUND_TIMEOUT_S = 60.0


def test_rounds_finish_when_a_fifth_of_the_participants_die_each_round(tmp_path: Path) -> None:
    cfg = load_config(
        ["participants=5", "task.rounds=3", "task.proposers_per_round=1", "task.min_voters=2",
         "training.epochs=1", "flower.message_timeout_s=30"]
    )  # fmt: skip
    report = dropout_drill(cfg, tmp_path / "run", fraction=0.2, round_timeout_s=ROUND_TIMEOUT_S)
    # 3 rounds, and the closing round when round 3 accepted an update (it depends on the
    # draw: a killed proposer leaves a round empty): one process killed in each
    assert report["rounds"] in (3, 4)
    assert len(report["killed"]) == report["rounds"]
    assert report["rounds_finished"] == report["rounds"], report["outcomes"]
    assert report["summary"]["result"]["error"] is None


def test_a_killed_coordinator_resumes_without_settling_or_paying_twice(tmp_path: Path) -> None:
    cfg = load_config(
        ["participants=4", "task.rounds=3", "task.proposers_per_round=1", "task.min_voters=2",
         "training.epochs=1"]
    )  # fmt: skip
    report = resume_drill(cfg, tmp_path / "run", crash_after_rounds=1, timeout_s=300)
    assert report["error"] is None
    assert report["restarts"] == 1 and report["result"]["restarts"] == 1
    # the 3 rounds (and the closing round when round 3 accepted an update), each settled once
    played = [r["round"] for r in report["result"]["rounds"]]
    assert played in ([1, 2, 3], [1, 2, 3, 4])
    assert report["settled_per_round"] == dict.fromkeys(played, 1)
    assert report["double_settlements"] == 0 and report["double_payments"] == 0
    assert len(report["result"]["final_accounts"]) == 4
