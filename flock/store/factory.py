"""Open the backend the `store` config group names: dir, http or s3."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flock.store.backend import BlobStore
from flock.store.directory import UpdateStore
from flock.store.remote import RetryPolicy

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

STORE_KINDS = ("dir", "http", "s3")


def open_store(
    cfg: Any,
    *,
    cache_dir: Path,
    url: str | None = None,
    task: str = "",
    account: LocalAccount | None = None,
) -> BlobStore:
    """The store of a `store` config node, for one process.

    Parameters
    ----------
    cfg : DictConfig or mapping
        The `store` config (kind, max_bytes and the kind's own keys).
    cache_dir : Path
        dir: the store itself (`cfg.dir` when set wins); http, s3: this process's own cache.
    url : str | None
        http: the service's URL (else `cfg.url`).
    task : str
        http: the task address the service serves (uploads are signed for it).
    account : LocalAccount | None
        http: the key that signs uploads; None opens the store read-only.

    Raises
    ------
    ValueError
        For an unknown kind or an http store without a URL.
    """
    kind = str(cfg.get("kind", "dir"))
    max_bytes = int(cfg.get("max_bytes"))
    if kind == "dir":
        root = Path(cfg.get("dir") or cache_dir)
        return UpdateStore(root, max_bytes=max_bytes, uri_base=cfg.get("uri_base"))
    policy = RetryPolicy.from_config(cfg)
    cache = UpdateStore(cache_dir, max_bytes=max_bytes, fsync=False)
    uri_style = str(cfg.get("uri_style") or "native")
    if kind == "http":
        from flock.store.http_client import HttpStore

        service = url or cfg.get("url")
        if not service:
            raise ValueError("store=http needs store.url (the blob service's http://host:port)")
        return HttpStore(
            str(service),
            cache=cache,
            task=task,
            account=account,
            policy=policy,
            uri_style=uri_style,
            signature_ttl_s=float(cfg.get("signature_ttl_s") or 300.0),
        )
    if kind == "s3":
        from flock.store.s3 import S3Store

        return S3Store(
            bucket=str(cfg.get("bucket")),
            cache=cache,
            endpoint_url=cfg.get("endpoint_url") or None,
            prefix=str(cfg.get("prefix") or ""),
            region=cfg.get("region") or None,
            policy=policy,
            uri_style=uri_style,
        )
    raise ValueError(f"store.kind must be one of {STORE_KINDS}, got {kind!r}")
