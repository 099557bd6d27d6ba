"""What the coordinator and the participants share: the public alliance file, chain and store."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from omegaconf import DictConfig, OmegaConf

from flock.contracts import RpcChain, TaskClient, TxSender
from flock.contracts.connect import retry_settings
from flock.roles.global_model import aggregate_from_chain  # noqa: F401 (re-exported)

if TYPE_CHECKING:  # torch, hydra and the store load lazily: ClientApp processes start per message
    import torch
    from eth_account.signers.local import LocalAccount

    from flock.store import BlobStore

log = logging.getLogger(__name__)

V = TypeVar("V")

#: Message types the coordinator sends and the ClientApp handles.
MSG_IDENTIFY = "query.identify"
MSG_JOIN = "query.join"
MSG_REVEAL_SEED = "query.reveal_seed"
MSG_TRAIN = "train"
MSG_VOTE = "evaluate.vote"
MSG_REVEAL_VOTE = "evaluate.reveal"
MSG_SETTLE_ACCOUNT = "query.settle_account"
#: Name of the ConfigRecord carried by every message and reply.
RECORD = "flock"


@dataclass(frozen=True)
class AllianceFile:
    """The public description of one alliance, written by the launcher and read by every process.

    It holds no secret: task address, RPC endpoint, where the update store is (the shared
    directory of `store=dir`, the service URL of `store=http`; the bucket of `store=s3` is in
    the config) and the resolved experiment config (dataset, model, training spec,
    aggregation, store), whose training-spec hash is on chain.
    """

    cfg: DictConfig
    task: str
    rpc_url: str
    chain_id: int
    store_dir: Path
    stake_wei: int
    dev_chain: bool
    #: The blob service of `store=http` ("" for the other kinds).
    store_url: str = ""

    @property
    def store_kind(self) -> str:
        """The alliance's store backend: dir, http or s3."""
        return str(self.cfg.get("store", {}).get("kind", "dir"))

    def write(self, path: Path) -> None:
        """Write as JSON to `path`."""
        payload = {
            "cfg": OmegaConf.to_container(self.cfg, resolve=True),
            "task": self.task,
            "rpc_url": self.rpc_url,
            "chain_id": self.chain_id,
            "store_dir": str(self.store_dir),
            "store": {"kind": self.store_kind, "url": self.store_url},
            "stake_wei": str(self.stake_wei),
            "dev_chain": self.dev_chain,
        }
        atomic_write(path, json.dumps(payload, indent=2, sort_keys=True))

    @classmethod
    def read(cls, path: str | Path) -> AllianceFile:
        """Read an alliance file written by :meth:`write`."""
        data = json.loads(Path(path).read_text())
        return cls(
            cfg=OmegaConf.create(data["cfg"]),
            task=str(data["task"]),
            rpc_url=str(data["rpc_url"]),
            chain_id=int(data["chain_id"]),
            store_dir=Path(data["store_dir"]),
            stake_wei=int(data["stake_wei"]),
            dev_chain=bool(data["dev_chain"]),
            store_url=str(data.get("store", {}).get("url") or ""),
        )

    def connect(self) -> tuple[RpcChain, TaskClient]:
        """Open the chain (refusing another chain id) and the task client."""
        chain = RpcChain(
            self.rpc_url,
            expected_chain_id=self.chain_id,
            request_timeout=float(self.cfg.chain.get("request_timeout", 30)),
            dev=self.dev_chain,
            **retry_settings(self.cfg.chain),
        )
        sender = TxSender(
            chain,
            gas_margin=float(self.cfg.chain.gas_margin),
            receipt_poll_s=float(self.cfg.chain.get("receipt_poll_s", 0.1)),
        )
        return chain, TaskClient(sender, self.task)

    def store(
        self, cache_dir: Path | None = None, account: LocalAccount | None = None
    ) -> BlobStore:
        """This process's update store: the shared directory (`store=dir`), or the alliance's
        networked store behind this process's own cache directory `cache_dir`, uploading with
        `account` (None: read-only).

        Raises
        ------
        ValueError
            For a networked store without a cache directory.
        """
        from flock.store import UpdateStore, open_store

        if self.store_kind == "dir":
            return UpdateStore(self.store_dir, max_bytes=int(self.cfg.store.max_bytes))
        if cache_dir is None:
            raise ValueError(f"store={self.store_kind} needs this process's own cache directory")
        return open_store(
            self.cfg.store,
            cache_dir=cache_dir,
            url=self.store_url or None,
            task=self.task,
            account=account,
        )

    def make_model(self) -> torch.nn.Module:
        """An untrained model of the task's architecture."""
        from hydra.utils import instantiate

        return instantiate(self.cfg.model)


@cache
def shared_alliance(alliance_file: str) -> tuple[AllianceFile, TaskClient]:
    """The alliance file at `alliance_file` and one task client on its chain, read and opened
    once per process: members simulated in one process (Flower's simulation engine) share
    the connection and its caches of immutable chain data as they share the CPU, while each
    still signs with its own key and counts its own nonce."""
    alliance = AllianceFile.read(alliance_file)
    return alliance, alliance.connect()[1]


def atomic_write(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write `text` to `path` atomically (temp file + rename) with permissions `mode`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class JsonFileMap(MutableMapping[int, V], Generic[V]):
    """A round-keyed mapping persisted as one JSON file (rewritten atomically on every change).

    Parameters
    ----------
    path : Path
        The JSON file (created on first write; mode 0600 since it holds secrets).
    encode, decode : callables
        Convert a value to and from a JSON-serialisable object.
    """

    def __init__(self, path: Path, encode: Callable[[V], Any], decode: Callable[[Any], V]) -> None:
        self.path = path
        self._encode = encode
        self._decode = decode

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        return dict(json.loads(self.path.read_text()))

    def _save(self, data: dict[str, Any]) -> None:
        atomic_write(self.path, json.dumps(data, sort_keys=True), mode=0o600)

    def __getitem__(self, key: int) -> V:
        return self._decode(self._load()[str(key)])

    def __setitem__(self, key: int, value: V) -> None:
        data = self._load()
        data[str(key)] = self._encode(value)
        self._save(data)

    def __delitem__(self, key: int) -> None:
        data = self._load()
        del data[str(key)]
        self._save(data)

    def __iter__(self) -> Iterator[int]:
        return iter(int(k) for k in self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, key: object) -> bool:
        return str(key) in self._load()
