"""`flock dashboard`: a read-only web page that watches one task live (no key)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flock.dashboard import (
    ChainFeed,
    Dashboard,
    DashboardServer,
    DashboardServerError,
    DashboardSettings,
    Feed,
    FeedError,
    RunDirFeed,
    alliance_feed,
)

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    defaults = DashboardSettings()
    parser = argparse.ArgumentParser(
        prog="flock dashboard",
        description="Serve a read-only page that watches one task live: from its chain (an "
        "alliance file, or --rpc-url and --task) or from a flock run's directory.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--alliance-file", type=Path, help="an alliance's alliance.json")
    source.add_argument("--run-dir", type=Path, help="a flock run's directory (events.jsonl)")
    source.add_argument("--rpc-url", help="a JSON-RPC endpoint (with --task)")
    parser.add_argument("--task", help="the task's address (with --rpc-url)")
    parser.add_argument("--chain-id", type=int, default=None, help="refuse another chain")
    parser.add_argument(
        "--host", default=defaults.host, help=f"interface to listen on (default {defaults.host})"
    )
    parser.add_argument("--port", type=int, default=defaults.port, help="default %(default)s")
    parser.add_argument(
        "--poll-s", type=float, default=defaults.poll_s, help="seconds between reads"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def make_feed(args: argparse.Namespace, settings: DashboardSettings) -> Feed:
    """The feed the command's arguments name.

    Raises
    ------
    FeedError
        For an unreadable alliance file, or --rpc-url without --task.
    """
    rpc: dict[str, Any] = {
        "request_timeout_s": settings.request_timeout_s,
        "retries": settings.rpc_retries,
        "log_chunk_blocks": settings.log_chunk_blocks,
    }
    if args.run_dir is not None:
        return RunDirFeed(args.run_dir)
    if args.alliance_file is not None:
        return alliance_feed(args.alliance_file, **rpc)
    if not args.task:
        raise FeedError("--rpc-url needs --task (the task's address)")
    return ChainFeed(args.task, rpc_url=args.rpc_url, chain_id=args.chain_id, **rpc)


def dashboard_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `flock dashboard`."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    settings = DashboardSettings(host=args.host, port=args.port, poll_s=args.poll_s)
    try:
        feed = make_feed(args, settings)
        server = DashboardServer(Dashboard(feed, poll_s=settings.poll_s), settings)
        print(f"dashboard of {feed.source} at {settings.url}", flush=True)
        server.serve()
    except (FeedError, DashboardServerError) as exc:
        log.error("%s", exc)
        sys.exit(2)
    except KeyboardInterrupt:
        pass
