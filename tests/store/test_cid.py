"""Specifications of the IPFS-compatible names of blobs and of the `store` config group."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from flock.spec import ConfigError, validate_config
from flock.store import (
    BlobStore,
    UpdateStore,
    cid_of,
    digest_from_cid,
    ipfs_uri,
    open_store,
)
from flock.store.http_client import HttpStore

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def test_cid_of_a_blob_is_the_raw_sha256_cidv1_ipfs_gives_it() -> None:
    # `ipfs add --cid-version 1 --raw-leaves` of the 5 bytes "hello"
    digest = hashlib.sha256(b"hello").digest()
    assert cid_of(digest) == "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
    assert ipfs_uri(digest) == "ipfs://" + cid_of(digest)


def test_digest_from_cid_inverts_cid_of_in_any_multibase() -> None:
    from multiformats import CID

    digest = hashlib.sha256(b"an update").digest()
    cid = cid_of(digest)
    assert digest_from_cid(cid) == digest
    assert digest_from_cid("ipfs://" + cid) == digest
    assert digest_from_cid(str(CID.decode(cid).set(base="base58btc"))) == digest


@pytest.mark.parametrize(
    "bad",
    [
        "not a cid",
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",  # CIDv0: dag-pb, not raw bytes
        "bafyreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",  # dag-cbor codec
    ],
)
def test_digest_from_cid_refuses_other_codecs_and_garbage(bad: str) -> None:
    with pytest.raises(ValueError):
        digest_from_cid(bad)


def test_store_group_defaults_to_dir_and_keeps_its_old_keys() -> None:
    cfg = _compose("store.max_bytes=1024", "store.uri_base=null")
    assert cfg.store.kind == "dir"
    assert cfg.store.max_bytes == 1024 and cfg.store.uri_base is None
    validate_config(cfg)


def test_each_store_option_opens_its_backend(tmp_path: Path) -> None:
    task = "0x" + "ab" * 20
    stores = {
        kind: open_store(
            _compose(f"store={kind}").store,
            cache_dir=tmp_path / kind,
            url="http://127.0.0.1:9",
            task=task,
        )
        for kind in ("dir", "http", "s3")
    }
    assert isinstance(stores["dir"], UpdateStore)
    assert isinstance(stores["http"], HttpStore)
    assert type(stores["s3"]).__name__ == "S3Store"
    assert all(isinstance(s, BlobStore) for s in stores.values())
    digest = hashlib.sha256(b"x").digest()
    assert stores["http"].uri(digest) == f"http://127.0.0.1:9/blobs/0x{digest.hex()}"
    assert stores["s3"].uri(digest).startswith("s3://flock-blobs/")


def test_ipfs_uri_style_names_the_cid_in_proposals(tmp_path: Path) -> None:
    cfg = _compose("store=http", "store.uri_style=ipfs").store
    store = open_store(cfg, cache_dir=tmp_path, url="http://127.0.0.1:9", task="0x" + "00" * 20)
    digest = hashlib.sha256(b"x").digest()
    assert store.uri(digest) == "ipfs://" + cid_of(digest)


def test_a_fetch_deadline_past_the_commit_period_is_rejected() -> None:
    cfg = _compose("store=http", "store.fetch_deadline_s=300", "task.proposers_per_round=3")
    with pytest.raises(ConfigError, match="fetch_deadline_s"):
        validate_config(cfg)
