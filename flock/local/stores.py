"""The update stores of an in-process alliance: one directory for everyone (`store=dir`), or a
networked store with a cache directory per member, and for `store=http` without a URL the
blob service itself, in a thread of this process, with the task's on-chain membership."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flock.contracts import Signer, TaskClient
from flock.store import BlobStore, UpdateStore, open_store
from flock.storeservice import ServiceSettings, ServiceThread, create_app, task_membership

log = logging.getLogger(__name__)


class LocalStores:
    """The stores of one `flock run`.

    Parameters
    ----------
    cfg : DictConfig
        The `store` config node.
    run_dir : Path
        The run directory: `store/` (the shared store, or the creator's cache),
        `nodes/<i>/store` (each member's cache), `store-service/` (the service's blobs).
    """

    def __init__(self, cfg: Any, run_dir: Path) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.kind = str(cfg.get("kind", "dir"))
        self.service: ServiceThread | None = None
        self.url = str(cfg.get("url") or "")
        self.task = ""
        self.initial = UpdateStore(
            run_dir / "store",
            max_bytes=int(cfg.max_bytes),
            uri_base=cfg.get("uri_base") if self.kind == "dir" else None,
        )

    def connect(self, task: TaskClient, creator: Signer, initial_hash: bytes) -> BlobStore:
        """After the task is deployed: start the service if this run owns it, publish the
        initial model (signed by the creator) and return the alliance's own store (the
        driver's, which recomputes the base model once for all members)."""
        if self.kind == "dir":
            return self.initial
        self.task = task.address
        if self.kind == "http" and not self.url:
            settings = ServiceSettings.from_config(
                self.cfg, root=self.run_dir / "store-service", task=task.address
            )
            self.service = ServiceThread(create_app(settings, task_membership(task)))
            self.url = self.service.start().url
        store = self._open(self.initial.root, creator)
        store.check()
        store.put_bytes(self.initial.get_bytes(initial_hash))
        return store

    def member(self, index: int, signer: Signer) -> BlobStore:
        """Member `index`'s store: the shared directory, or its own cache of the remote."""
        if self.kind == "dir":
            return self.initial
        return self._open(self.run_dir / "nodes" / str(index) / "store", signer)

    def _open(self, cache: Path, signer: Signer) -> BlobStore:
        return open_store(
            self.cfg, cache_dir=cache, url=self.url or None, task=self.task, account=signer.account
        )

    def close(self) -> None:
        """Stop the service this run started, if any."""
        if self.service is not None:
            self.service.stop()
            self.service = None
