"""The long-lived route: Flower's gRPC client (`flwr.client.start_client`) per participant and
Flower's gRPC server (`flwr.server.start_server`) for the coordinator.

Each participant process loads its key, data and torch once and keeps one bidirectional gRPC
stream open, so a request costs milliseconds instead of a new process and a 3 s poll. Flower
marks this API deprecated but ships it (flwr 1.41); the coordinator and the participant logic
are the same as on the SuperLink route (:mod:`flock.flower.coordinator`,
:mod:`flock.flower.worker`), only the transport differs.
"""

from __future__ import annotations

import logging
import time

from flwr.client import Client, start_client
from flwr.common import Code, GetPropertiesIns, GetPropertiesRes, Status
from flwr.server import Server, ServerConfig, start_server
from flwr.server.client_manager import SimpleClientManager
from flwr.server.history import History
from flwr.server.strategy import FedAvg

from flock.flower.coordinator import Coordinator, CoordinatorSettings, run_coordinator
from flock.flower.relay import ERROR_KEY, TYPE_KEY, ProxyRelay
from flock.flower.worker import ParticipantWorker

log = logging.getLogger(__name__)


class WorkerClient(Client):
    """A Flower client that forwards every `get_properties` request to a participant worker.

    A refused or failed request is answered with its reason under ``flock-error`` (the legacy
    API has no error reply), so one bad request never stops the participant.
    """

    def __init__(self, worker: ParticipantWorker) -> None:
        self.worker = worker

    def get_properties(self, ins: GetPropertiesIns) -> GetPropertiesRes:
        config = dict(ins.config)
        message_type = str(config.pop(TYPE_KEY, ""))
        try:
            values = self.worker.handle(message_type, config)
        except Exception as exc:
            log.exception("%s failed", message_type)
            values = {ERROR_KEY: f"{type(exc).__name__}: {exc}"}
        return GetPropertiesRes(status=Status(code=Code.OK, message=""), properties=values)


class CoordinatorServer(Server):
    """A Flower server whose `fit` runs the flock coordinator over the connected clients."""

    def __init__(
        self,
        settings: CoordinatorSettings,
        *,
        message_timeout: float,
        coordinator_cls: type[Coordinator] = Coordinator,
    ) -> None:
        super().__init__(client_manager=SimpleClientManager(), strategy=FedAvg())
        self.settings = settings
        self.message_timeout = message_timeout
        self.coordinator_cls = coordinator_cls
        self.result: dict[str, object] = {}

    def fit(self, num_rounds: int, timeout: float | None) -> tuple[History, float]:
        relay = ProxyRelay(
            self.client_manager(),
            timeout=self.message_timeout,
            max_workers=max(1, self.settings.num_nodes),
        )
        try:
            self.result = run_coordinator(
                relay, self.settings, coordinator_cls=self.coordinator_cls
            )
        finally:
            relay.close()
        return History(), float(self.result.get("wall_s", 0.0))  # type: ignore[arg-type]


def serve(
    address: str,
    settings: CoordinatorSettings,
    *,
    message_timeout: float,
    coordinator_cls: type[Coordinator] = Coordinator,
) -> dict[str, object]:
    """Serve the coordinator on `address` until the task ends; return its result."""
    server = CoordinatorServer(
        settings, message_timeout=message_timeout, coordinator_cls=coordinator_cls
    )
    start_server(server_address=address, server=server, config=ServerConfig(num_rounds=1))
    return server.result


def run_client(server: str, client: Client, *, reconnect_s: float, retry_s: float = 1.0) -> None:
    """Serve `client` to the coordinator at `server` until the coordinator ends the session.

    Flower's gRPC client gives up when its connection breaks (a coordinator crash or restart);
    this reconnects for up to `reconnect_s` seconds after each loss, so a restarted coordinator
    (`flock coordinator --resume`) finds its participants again.

    Raises
    ------
    grpc.RpcError
        When no coordinator answered within `reconnect_s` seconds of a loss.
    """
    import grpc

    lost_since: float | None = None
    while True:
        connected_at = time.monotonic()
        try:
            start_client(
                server_address=server, client=client, insecure=True, max_wait_time=reconnect_s
            )
            return  # the coordinator closed the session
        except grpc.RpcError as exc:
            now = time.monotonic()
            if lost_since is None or now - connected_at > 2 * retry_s:
                lost_since = now  # a new loss, not a failed reconnect
            if now - lost_since > reconnect_s:
                raise
            log.warning("lost the coordinator (%s); reconnecting", exc.code())
            time.sleep(retry_s)
