"""`flock run store=http`: the in-process alliance over flock's blob service (in a thread),
each member with its own cache directory, plays the same rounds as over one directory."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from hydra import compose, initialize_config_dir

from flock.local.experiment import run
from flock.store import FETCH_LOG

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")
PARTICIPANTS = 4
OVERRIDES = [
    f"participants={PARTICIPANTS}",
    "task.rounds=2",
    "task.proposers_per_round=1",
    "training.epochs=1",
]


def _cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=[*OVERRIDES, *overrides])


def test_a_run_over_the_blob_service_plays_the_rounds_of_a_directory_run(tmp_path: Path) -> None:
    # Execute
    over_dir = run(_cfg(), tmp_path / "dir")
    over_http = run(_cfg("store=http"), tmp_path / "http")

    # Assert: the store changes where blobs travel, not what the alliance decides
    for key in ("final_accuracy", "final_model_round", "slashed", "adopted_aggregate_mismatches"):
        assert over_http[key] == over_dir[key], key
    caches = [tmp_path / "http" / "nodes" / str(i) / "store" for i in range(PARTICIPANTS)]
    fetched = [
        [json.loads(line) for line in (c / FETCH_LOG).read_text().splitlines()]
        for c in caches
        if (c / FETCH_LOG).exists()
    ]
    assert fetched and all(r["source"].startswith("http://127.0.0.1:") for f in fetched for r in f)
    assert sorted((tmp_path / "http" / "store-service").glob("*.safetensors"))
    assert not [t for t in threading.enumerate() if t.name == "flock-store"]  # stopped
