"""Plain Flower FedAvg on flock's task: the yardstick of `benchmarks/round_overhead.py`.

The same work as a flock round, without the chain: each round Flower's own `FedAvg` strategy
samples `train-nodes` nodes that train flock's model on their private train split (flock's
training spec) and `evaluate-nodes` nodes that evaluate the average on their private test
split. It runs on Flower's deployment runtime (SuperLink, a SuperNode per member, `flwr run`:
components `flock.flower.reference:server_app` and `flock.flower.reference:client_app`) or in
Flower's simulation engine, and writes each round's wall time to `result-file`. It imports
only flwr, torch, omegaconf and flock's learning package, so it also runs in a venv of another
Flower release.
"""

from __future__ import annotations

import json
import logging
import os
import time
from functools import cache
from pathlib import Path
from typing import Any

import torch
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


@cache
def _config(path: str) -> DictConfig:
    return OmegaConf.load(path)  # type: ignore[return-value]


@cache
def _partitions(path: str) -> list[Any]:
    from flock.learning.alliance_data import alliance_data

    return list(alliance_data(_config(path)).participants)


def _model(cfg: DictConfig) -> torch.nn.Module:
    from hydra.utils import instantiate

    return instantiate(cfg.model)  # type: ignore[no-any-return]


def round_times(marks: list[float]) -> list[float]:
    """Seconds of each round from the strategy's marks (start, then the end of each round)."""
    return [b - a for a, b in zip(marks, marks[1:], strict=False)]


def make_server_app(run_config: dict[str, Any] | None = None) -> ServerApp:
    """A ServerApp running FedAvg for `num-rounds` rounds over `num-nodes` nodes.

    Parameters
    ----------
    run_config : dict | None
        Stands in for the run config (Flower's Python simulation API passes an empty one):
        `config-file` (the flock config as YAML), `num-nodes`, `num-rounds`, `train-nodes`,
        `evaluate-nodes`, `result-file`. None reads the run config.
    """
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        rc = dict(run_config if run_config is not None else context.run_config)
        cfg = _config(str(rc["config-file"]))
        torch.manual_seed(int(cfg.seed))
        nodes = int(str(rc["num-nodes"]))
        train_nodes, evaluate_nodes = int(str(rc["train-nodes"])), int(str(rc["evaluate-nodes"]))
        strategy = FedAvg(
            fraction_train=train_nodes / nodes,
            fraction_evaluate=evaluate_nodes / nodes,
            min_train_nodes=train_nodes,
            min_evaluate_nodes=evaluate_nodes,
            min_available_nodes=nodes,
        )
        marks: list[float] = []

        def mark(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
            marks.append(time.perf_counter())  # round 0 (before the first round), then each
            return None

        strategy.start(
            grid,
            ArrayRecord(_model(cfg).state_dict()),
            num_rounds=int(str(rc["num-rounds"])),
            evaluate_fn=mark,
        )
        rounds = round_times(marks)
        Path(str(rc["result-file"])).write_text(json.dumps({"round_s": rounds}))
        log.info("plain FedAvg: %d rounds, %s s", len(rounds), [round(r, 2) for r in rounds])

    return app


def make_client_app(config_file: str | None = None) -> ClientApp:
    """A ClientApp that trains (flock's training spec) and evaluates flock's model on the
    node's partition (`partition-id` of its node config); `config_file` stands in for the run
    config's `config-file`."""
    app = ClientApp()

    def member(context: Context) -> tuple[DictConfig, Any]:
        path = config_file or str(context.run_config["config-file"])
        pid_dir = context.run_config.get("pid-dir")
        if pid_dir:  # which processes answered (the deployment runtime's process per message)
            Path(str(pid_dir), str(os.getpid())).touch()
        cfg = _config(path)
        torch.set_num_threads(int(cfg.torch_threads))
        return cfg, _partitions(path)[int(str(context.node_config["partition-id"]))]

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        from flock.learning.training import train_local

        cfg, part = member(context)
        model = _model(cfg)
        model.load_state_dict(msg.content["arrays"].to_torch_state_dict())  # type: ignore[union-attr]
        spec = OmegaConf.to_container(cfg.training, resolve=True)
        train_local(model, part.x_train, part.y_train, **spec, seed=int(cfg.seed))  # type: ignore[arg-type]
        content = RecordDict(
            {
                "arrays": ArrayRecord(model.state_dict()),
                "metrics": MetricRecord({"num-examples": len(part.y_train)}),
            }
        )
        return Message(content=content, reply_to=msg)

    @app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        from flock.learning.training import evaluate as accuracy

        cfg, part = member(context)
        model = _model(cfg)
        model.load_state_dict(msg.content["arrays"].to_torch_state_dict())  # type: ignore[union-attr]
        acc = accuracy(model, part.x_test, part.y_test)
        metrics = MetricRecord({"accuracy": acc, "num-examples": len(part.y_test)})
        return Message(content=RecordDict({"metrics": metrics}), reply_to=msg)

    return app


#: Components of the deployment runtime's app (`flwr run`).
server_app = make_server_app()
client_app = make_client_app()

__all__ = ["client_app", "make_client_app", "make_server_app", "round_times", "server_app"]
