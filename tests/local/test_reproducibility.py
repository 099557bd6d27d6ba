"""`flock run` repeats: one config on the embedded chain writes the same reports and the same
chain, whatever directory the run writes into."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir

import flock.local.experiment
from flock.local.experiment import run

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")

#: A short alliance: two rounds, so round 2's draw depends on everything sent in round 1.
OVERRIDES = ("participants=6", "task.rounds=2", "training.epochs=2")


def _cfg(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, list[Any]]]:
    """The same config run twice into two directories; each run's directory and chain logs."""
    runs = []
    with pytest.MonkeyPatch.context() as mp:
        logs: list[Any] = []
        opened = flock.local.experiment.open_chain

        @contextmanager
        def recording_chain(cfg: Any) -> Iterator[Any]:
            # Reads every event log before the run closes its in-process chain; experiment.run
            # does not expose the chain, and reading it is all this wrapper does.
            with opened(cfg) as chain:
                yield chain
                logs.extend(chain.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest"}))

        mp.setattr(flock.local.experiment, "open_chain", recording_chain)
        for name in ("a", "bb"):  # directory names of different lengths, as timestamps can be
            run_dir = tmp_path_factory.mktemp(name)
            logs = []
            run(_cfg(*OVERRIDES), run_dir)
            runs.append((run_dir, logs))
    return runs


@pytest.mark.parametrize("name", ["metrics.csv", "participants.csv", "events.jsonl"])
def test_reports_repeat_byte_for_byte(two_runs: list[tuple[Path, list[Any]]], name: str) -> None:
    (first, _), (second, _) = two_runs
    assert (first / name).read_bytes() == (second / name).read_bytes()


def test_update_blobs_repeat(two_runs: list[tuple[Path, list[Any]]]) -> None:
    (first, _), (second, _) = two_runs
    blobs = sorted(p.name for p in (first / "store").glob("*.safetensors"))
    assert blobs  # initial model, proposals and aggregates
    assert blobs == sorted(p.name for p in (second / "store").glob("*.safetensors"))


def test_every_event_log_repeats(two_runs: list[tuple[Path, list[Any]]]) -> None:
    # two sources had to go for this: the sender's wall-clock fee cache (`chain.fee_ttl_s: 0`
    # on the embedded chain) changed signed transactions, hence transaction and block hashes;
    # a proposal's URI named the run directory (`store.uri_base`)
    (_, first), (_, second) = two_runs
    assert first  # the run emitted events
    assert first == second


def test_wall_clock_times_stay_out_of_the_compared_reports(
    two_runs: list[tuple[Path, list[Any]]],
) -> None:
    run_dir, _ = two_runs[0]
    metrics_header, *rounds = (run_dir / "metrics.csv").read_text().splitlines()
    header, *rows = (run_dir / "timings.csv").read_text().splitlines()
    assert "seconds" not in metrics_header
    assert header == "round,seconds"
    assert [row.split(",")[0] for row in rows] == [r.split(",")[0] for r in rounds]
