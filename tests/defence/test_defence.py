"""The defence benchmark's engine, and its smoke mode end to end (flock's rule on the contract)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from flock.defence import MemoryStore, RunResult, attack_with_fraction, simulate

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = str(ROOT / "configs")
LINE = re.compile(r"^([a-z0-9_]+)(\[[^\]]*\])?: (.+)$")


def _cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=["+experiment=defence", *overrides])


def test_eta_sets_every_named_attacker_count() -> None:
    attack = {
        "proposer": {"behaviour": "label_flip", "count": 2},
        "voter": {"behaviour": "honest", "count": 0},
        "cartel": {"size": 3},
    }
    scaled = attack_with_fraction(attack, 50, 0.3)
    assert scaled["proposer"]["count"] == 15
    assert scaled["voter"]["count"] == 0
    assert scaled["cartel"]["size"] == 15
    assert attack_with_fraction(attack, 50, None)["proposer"]["count"] == 2


def test_memory_store_round_trips_and_addresses_by_content() -> None:
    store = MemoryStore()
    vector = torch.arange(4, dtype=torch.float32)
    digest = store.put(vector, {"round": "1"})
    assert store.get(digest, expected_numel=4).vector.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert store.put(vector.clone(), {"round": "1"}) == digest
    assert store.put(vector, {"round": "2"}) != digest


@pytest.mark.parametrize("defence", ["flock", "flock_v0", "flock_paper", "krum"])
def test_a_small_run_is_reproducible(defence: str) -> None:
    overrides = ["participants=10", "task.rounds=2", "task.proposers_per_round=4"]
    cfg = _cfg(f"defence.name={defence}", "attack=label_flip", "training.epochs=1", *overrides)
    first, second = simulate(cfg), simulate(cfg)
    assert first.accuracy == second.accuracy
    assert first.first_slashed == second.first_slashed
    assert len(first.attackers) == 3  # round(0.3 * 10)
    restored = RunResult.from_json(first.to_json())
    assert restored.accuracy == first.accuracy and restored.first_slashed == first.first_slashed


def test_unknown_defence_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown defence"):
        simulate(_cfg("defence.name=nope"))


@pytest.fixture(scope="module")
def smoke_lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("smoke")
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "defence.py"),
        "--smoke",
        "--out",
        str(out),
    ]
    printed = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    lines = {}
    for line in printed.splitlines():
        match = LINE.match(line)
        if match and not line.startswith("smoke:"):
            lines[match.group(1) + (match.group(2) or "")] = match.group(3)
    return lines


@pytest.mark.slow
def test_smoke_prints_finite_figures_for_every_defence(smoke_lines: dict[str, str]) -> None:
    defences = ["flock", "flock_mirror", "flock_paper", "fedavg", "krum", "multikrum"]
    defences += ["fedmedian", "fedtrimmedavg", "bulyan"]
    for attack in ("label_flip", "colluding_cartel", "aggregate_poster", "weight_inflation"):
        for defence in defences:
            for name in ("final_acc", "acc_drop_pts"):
                assert f"{name}[{defence},{attack},0.3]" in smoke_lines
    assert "honest_slashed[flock,0.3]" in smoke_lines
    for key, value in smoke_lines.items():
        if value == "never":  # a round count: the event did not happen within the run
            assert key.startswith("rounds_to"), key
        elif key.startswith("rounds_to"):
            assert float(value) >= 1, key
        else:
            assert math.isfinite(float(value)), key


@pytest.mark.slow
def test_smoke_flock_rule_on_chain_slashes_label_flippers(smoke_lines: dict[str, str]) -> None:
    assert float(smoke_lines["attackers_slashed_by_r5_pct[flock,label_flip,0.3]"]) > 0
    assert float(smoke_lines["attacker_stake[flock,label_flip,0.3]"]) < 64
    assert float(smoke_lines["smoke_chain_seconds"]) > 0


@pytest.mark.slow
def test_smoke_flock_keeps_the_global_model_under_protocol_attacks(
    smoke_lines: dict[str, str],
) -> None:
    # the attested aggregate and the bounded weights: within 2 points of the clean run
    for attack in ("aggregate_poster", "weight_inflation"):
        assert float(smoke_lines[f"acc_drop_pts[flock,{attack},0.3]"]) <= 2
    # every aggregate poster attests whenever it votes and the closing round seats all
    assert float(smoke_lines["attackers_slashed_by_r5_pct[flock,aggregate_poster,0.3]"]) == 100
