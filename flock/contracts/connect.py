"""Open the configured chain: the embedded EVM, a private anvil, or a JSON-RPC endpoint."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flock.contracts.anvil import AnvilProcess
from flock.contracts.chain import Chain, EmbeddedChain, RpcChain

log = logging.getLogger(__name__)

CHAIN_KINDS = ("embedded", "anvil", "rpc")


@contextmanager
def open_chain(cfg: Any) -> Iterator[Chain]:
    """Yield a connected chain for `cfg` (the `chain` config group); stop what it started.

    Raises
    ------
    ValueError
        For an unknown kind or a missing RPC URL.
    """
    kind = cfg.kind
    if kind == "embedded":
        genesis = cfg.get("genesis_timestamp")
        chain: Chain = EmbeddedChain(
            block_gas_limit=int(cfg.block_gas_limit),
            genesis_timestamp=int(genesis) if genesis is not None else None,
        )
        try:
            yield chain
        finally:
            chain.close()
    elif kind == "anvil":
        with AnvilProcess(
            chain_id=int(cfg.chain_id),
            block_gas_limit=int(cfg.block_gas_limit),
            startup_timeout=float(cfg.startup_timeout),
        ) as node:
            yield RpcChain(
                node.url,
                expected_chain_id=int(cfg.chain_id),
                request_timeout=float(cfg.request_timeout),
                dev=True,
                **retry_settings(cfg),
            )
    elif kind == "rpc":
        if not cfg.get("url"):
            raise ValueError("chain=rpc needs chain.url (set FLOCK_RPC_URL)")
        chain_id = cfg.get("chain_id")
        yield RpcChain(
            str(cfg.url),
            expected_chain_id=int(chain_id) if chain_id is not None else None,
            request_timeout=float(cfg.request_timeout),
            dev=bool(cfg.get("dev", False)),
            **retry_settings(cfg),
        )
    else:
        raise ValueError(f"unknown chain kind {kind!r}; valid: {CHAIN_KINDS}")


def retry_settings(cfg: Any) -> dict[str, Any]:
    """RpcChain's retry arguments from a `chain` config node (defaults where absent)."""
    return {
        "retries": int(cfg.get("retries", 5)),
        "retry_backoff_s": float(cfg.get("retry_backoff_s", 0.25)),
    }
