"""Flower ServerApp of the coordinator (SuperLink deployment and simulation routes)."""

from __future__ import annotations

import logging

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from flock.flower.coordinator import CoordinatorSettings, run_coordinator
from flock.flower.relay import GridRelay


def settings_from(run_config: dict[str, object]) -> CoordinatorSettings:
    """Coordinator settings from the run config (alliance-file, coordinator-key-file,
    result-file, num-nodes, node-wait-s)."""
    return CoordinatorSettings(
        alliance_file=str(run_config["alliance-file"]),
        coordinator_key_file=str(run_config["coordinator-key-file"]),
        result_file=str(run_config["result-file"]),
        num_nodes=int(str(run_config["num-nodes"])),
        node_wait_s=float(str(run_config["node-wait-s"])),
        cache_dir=str(run_config.get("cache-dir", "") or ""),
    )


def make_server_app(
    settings: CoordinatorSettings | None = None,
    *,
    message_timeout: float | None = None,
    poll_s: float | None = None,
) -> ServerApp:
    """A ServerApp running the coordinator through the Grid.

    Parameters
    ----------
    settings : CoordinatorSettings | None
        Stand-in for the run config (Flower's Python simulation API passes an empty one); None
        reads `alliance-file`, `coordinator-key-file`, `result-file`, `num-nodes`,
        `node-wait-s`, `message-timeout-s` and `grid-poll-s` from the run config.
    message_timeout, poll_s : float | None
        Reply timeout of one batch and pull interval, when `settings` is given.
    """
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        logging.basicConfig(level=logging.INFO)
        cfg = context.run_config
        relay = GridRelay(
            grid,
            timeout=float(str(cfg.get("message-timeout-s", message_timeout))),
            poll_s=float(str(cfg.get("grid-poll-s", poll_s or 0.1))),
        )
        run_coordinator(relay, settings or settings_from(dict(cfg)))

    return app


#: The ServerApp of the SuperLink deployment (`serverapp` component of the Flower app).
app = make_server_app()
