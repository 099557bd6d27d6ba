"""Where one participant process finds its alliance, key, state and cache, and how it reads
its key (a hex key or an encrypted keystore): never the key itself in a config."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class NodeSettings:
    """Where one participant finds its alliance, key, state and cache (never the key itself)."""

    alliance_file: str
    state_dir: str
    partition_id: int
    #: Its own cache directory of a networked store ("": <state_dir>/store).
    cache_dir: str = ""
    key_env: str = ""
    key_file: str = ""
    #: Environment variable with the password of an encrypted keystore `key_file`.
    key_password_env: str = "FLOCK_KEY_PASSWORD"
    #: Behaviour names; empty means "as the alliance config's `attack` group assigns".
    proposer_behaviour: str = ""
    voter_behaviour: str = ""

    @classmethod
    def from_config(
        cls, node_config: Mapping[str, Any], run_config: Mapping[str, Any] | None = None
    ) -> NodeSettings:
        """Settings from a Flower node config (`alliance-file`, `state-dir`, `partition-id`,
        `key-file` or `key-env`, optional `proposer-behaviour`/`voter-behaviour`).

        In Flower's simulation the node config only has `partition-id`: the alliance file and
        the per-node directory root (`nodes-dir`, holding `<id>/key`, `<id>/state` and
        `<id>/store`) then come from the run config.

        Raises
        ------
        KeyError
            When neither config names the alliance file or the partition.
        """
        run_config = run_config or {}
        partition = int(node_config["partition-id"])
        alliance_file = str(node_config.get("alliance-file") or run_config["alliance-file"])
        nodes_dir = Path(str(run_config.get("nodes-dir", "")))
        state_dir = str(node_config.get("state-dir") or nodes_dir / str(partition) / "state")
        cache_dir = str(node_config.get("cache-dir", "") or "")
        if not cache_dir and "nodes-dir" in run_config:
            cache_dir = str(nodes_dir / str(partition) / "store")
        key_env = str(node_config.get("key-env", "") or "")
        key_file = str(node_config.get("key-file", "") or "")
        if not key_env and not key_file and "nodes-dir" in run_config:
            key_file = str(nodes_dir / str(partition) / "key")
        return cls(
            alliance_file=alliance_file,
            state_dir=state_dir,
            partition_id=partition,
            cache_dir=cache_dir,
            key_env=key_env,
            key_file=key_file,
            key_password_env=str(node_config.get("key-password-env", "") or "FLOCK_KEY_PASSWORD"),
            proposer_behaviour=str(node_config.get("proposer-behaviour", "") or ""),
            voter_behaviour=str(node_config.get("voter-behaviour", "") or ""),
        )

    def read_key(self) -> str:
        """The participant's private key, from the env var `key_env`, else from `key_file`
        (hex, or an encrypted keystore: see :func:`read_key_file`).

        Raises
        ------
        KeyError
            When neither source is configured or the env var is unset.
        FileNotFoundError
            When the key file does not exist.
        """
        if self.key_env:
            if self.key_env not in os.environ:
                raise KeyError(f"environment variable {self.key_env} (the key) is not set")
            return os.environ[self.key_env]
        if not self.key_file:
            raise KeyError("node config needs key-env or key-file")
        return read_key_file(Path(self.key_file), self.key_password_env)


def read_key_file(path: Path, password_env: str = "FLOCK_KEY_PASSWORD") -> str:
    """A private key from `path`: a hex key, or an encrypted Ethereum keystore (V3 JSON, as
    geth, clef or `eth_account.Account.encrypt` write it) whose password is in the environment
    variable `password_env`.

    Raises
    ------
    KeyError
        When the file is a keystore and the password variable is unset.
    ValueError
        When the password does not decrypt the keystore.
    """
    text = path.read_text().strip()
    if not text.startswith("{"):
        return text
    from eth_account import Account

    if password_env not in os.environ:
        raise KeyError(f"{path} is an encrypted keystore: set its password in ${password_env}")
    try:
        key = Account.decrypt(json.loads(text), os.environ[password_env])
    except ValueError as exc:
        raise ValueError(f"cannot decrypt keystore {path}: {exc}") from exc
    return "0x" + bytes(key).hex()
