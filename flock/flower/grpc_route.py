"""The long-lived route: Flower's gRPC client (`flwr.client.start_client`) per participant and
Flower's gRPC server (`flwr.server.start_server`) for the coordinator.

Each participant process loads its key, data and torch once and keeps one bidirectional gRPC
stream open, so a request costs milliseconds instead of a new process and a 3 s poll. Flower
marks this API deprecated but ships it (flwr 1.41); the coordinator and the participant logic
are the same as on the SuperLink route (:mod:`flock.flower.coordinator`,
:mod:`flock.flower.worker`), only the transport differs.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from flwr.client import Client, start_client
from flwr.common import Code, GetPropertiesIns, GetPropertiesRes, Status
from flwr.server import Server, ServerConfig, start_server
from flwr.server.client_manager import SimpleClientManager
from flwr.server.history import History
from flwr.server.strategy import FedAvg

from flock.flower.coordinator import Coordinator, CoordinatorSettings, run_coordinator
from flock.flower.relay import ERROR_KEY, TYPE_KEY, ProxyRelay
from flock.flower.worker import NodeSettings, ParticipantWorker

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


def _add_key_arguments(parser: argparse.ArgumentParser) -> None:
    """--key-file | --key-env, and the keystore password variable (never the key itself)."""
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--key-file", default="", help="hex private key or encrypted keystore")
    key.add_argument("--key-env", default="", help="environment variable holding the key")
    parser.add_argument(
        "--key-password-env",
        default="FLOCK_KEY_PASSWORD",
        help="environment variable with the password when --key-file is an encrypted keystore",
    )


def participant_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `flock participant`: one participant process on the long-lived route."""
    parser = argparse.ArgumentParser(
        prog="flock participant",
        description="Run one flock participant as a long-lived Flower gRPC client.",
    )
    parser.add_argument("--server", required=True, help="coordinator address, host:port")
    parser.add_argument("--alliance-file", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--partition-id", type=int, required=True)
    _add_key_arguments(parser)
    parser.add_argument("--proposer-behaviour", default="")
    parser.add_argument("--voter-behaviour", default="")
    parser.add_argument("--max-wait-s", type=float, default=60.0, help="connection retries")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    settings = NodeSettings(
        alliance_file=args.alliance_file,
        state_dir=args.state_dir,
        partition_id=args.partition_id,
        key_env=args.key_env,
        key_file=args.key_file,
        key_password_env=args.key_password_env,
        proposer_behaviour=args.proposer_behaviour,
        voter_behaviour=args.voter_behaviour,
    )
    worker = ParticipantWorker(settings)
    worker.check_spec()
    worker.role_context()  # load data, model and torch before the first request
    log.info("participant %s ready; connecting to %s", worker.address, args.server)
    run_client(args.server, WorkerClient(worker), reconnect_s=args.max_wait_s)


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


def coordinator_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `flock coordinator`: serve the coordinator on the long-lived route for an
    alliance deployed with `flock deploy` (participants connect with `flock participant`)."""
    parser = argparse.ArgumentParser(
        prog="flock coordinator",
        description="Relay an alliance's rounds to participants connected over Flower gRPC.",
    )
    parser.add_argument("--alliance-file", required=True)
    parser.add_argument("--address", default="0.0.0.0:9092", help="host:port to serve on")
    parser.add_argument("--participants", type=int, required=True, help="nodes to wait for")
    _add_key_arguments(parser)
    parser.add_argument("--result-file", default="result.json")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a task a previous coordinator left (state from the chain and the store)",
    )
    parser.add_argument("--node-wait-s", type=float, default=3600.0)
    parser.add_argument("--message-timeout-s", type=float, default=600.0)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    settings = CoordinatorSettings(
        alliance_file=args.alliance_file,
        coordinator_key_file=args.key_file,
        coordinator_key_password_env=args.key_password_env,
        coordinator_key_env=args.key_env,
        result_file=args.result_file,
        num_nodes=args.participants,
        node_wait_s=args.node_wait_s,
        resume=args.resume,
    )
    result = serve(args.address, settings, message_timeout=args.message_timeout_s)
    if result.get("error"):
        sys.exit(1)
