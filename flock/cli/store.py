"""`flock store`: serve an alliance's blob service, push blobs to it, name a blob's CID."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "127.0.0.1:9101"


def _serve(args: argparse.Namespace) -> None:
    from flock.flower.common import AllianceFile
    from flock.storeservice import ServiceSettings, create_app, serve, task_membership

    alliance = AllianceFile.read(args.alliance_file)
    _, task = alliance.connect()
    store_cfg = alliance.cfg.store
    settings = ServiceSettings.from_config(store_cfg, root=Path(args.dir), task=alliance.task)
    app = create_app(settings, task_membership(task))
    log.info(
        "serving blobs of task %s at http://%s from %s (cap %d bytes, %g uploads/s each)",
        alliance.task, args.address, settings.root, settings.max_bytes, settings.rate_per_s,
    )  # fmt: skip
    serve(app, args.address, log_level=args.log_level)


def _push(args: argparse.Namespace) -> None:
    from eth_account import Account

    from flock.flower.common import AllianceFile
    from flock.flower.node_settings import read_key_file
    from flock.store import cid_of

    alliance = AllianceFile.read(args.alliance_file)
    if args.key_env:
        if args.key_env not in os.environ:
            raise SystemExit(f"environment variable {args.key_env} (the key) is not set")
        key = os.environ[args.key_env]
    else:
        key = read_key_file(Path(args.key_file), args.key_password_env)
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(args.cache_dir) if args.cache_dir else Path(scratch)
        store = alliance.store(cache, account=Account.from_key(key))
        store.check()
        for name in args.files:
            digest = store.put_bytes(Path(name).read_bytes())
            print(f"{name}: 0x{digest.hex()} {store.uri(digest)} {cid_of(digest)}")


def _cid(args: argparse.Namespace) -> None:
    from flock.store import cid_of, digest_from_cid, digest_from_hex

    for ref in args.refs:
        if len(ref.removeprefix("0x")) == 64:
            print(f"{ref}: {cid_of(digest_from_hex(ref))}")
        else:
            print(f"{ref}: 0x{digest_from_cid(ref).hex()}")


def store_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `flock store serve | push | cid`."""
    parser = argparse.ArgumentParser(prog="flock store", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="run the blob service of an alliance (store=http)",
        description="Serve the task's update blobs: uploads signed by its members (checked on "
        "chain), write-once by digest; downloads public. Stops on Ctrl-C / SIGTERM.",
    )
    serve.add_argument("--alliance-file", required=True)
    serve.add_argument("--dir", required=True, help="where the blobs live (kept across restarts)")
    serve.add_argument("--address", default=DEFAULT_ADDRESS, help="host:port to listen on")
    serve.set_defaults(run=_serve)

    push = commands.add_parser(
        "push",
        help="upload blob files to the alliance's store, signed by a member or the creator",
    )
    push.add_argument("--alliance-file", required=True)
    key = push.add_mutually_exclusive_group(required=True)
    key.add_argument("--key-file", default="", help="hex private key or encrypted keystore")
    key.add_argument("--key-env", default="", help="environment variable holding the key")
    push.add_argument("--key-password-env", default="FLOCK_KEY_PASSWORD")
    push.add_argument("--cache-dir", default="", help="default: a temporary directory")
    push.add_argument("files", nargs="+", help="<digest>.safetensors blob files")
    push.set_defaults(run=_push)

    cid = commands.add_parser("cid", help="a digest's CIDv1 (raw, sha2-256), or a CID's digest")
    cid.add_argument("refs", nargs="+", help="0x<64 hex> digests or CIDs")
    cid.set_defaults(run=_cid)

    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    args.run(args)
