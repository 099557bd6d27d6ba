"""`flock participant` and `flock coordinator`: the node processes of the long-lived route."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from flock.flower.coordinator import CoordinatorSettings
from flock.flower.grpc_route import WorkerClient, run_client, serve
from flock.flower.worker import NodeSettings, ParticipantWorker

log = logging.getLogger(__name__)


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
    parser.add_argument(
        "--cache-dir",
        default="",
        help="this member's own cache of a networked store (default: <state-dir>/store)",
    )
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
        cache_dir=args.cache_dir,
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
        "--cache-dir",
        default="",
        help="its own cache of a networked store (default: coordinator-store/ by the result)",
    )
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
        cache_dir=args.cache_dir,
        num_nodes=args.participants,
        node_wait_s=args.node_wait_s,
        resume=args.resume,
    )
    result = serve(args.address, settings, message_timeout=args.message_timeout_s)
    if result.get("error"):
        sys.exit(1)
