"""Specifications of the s3 backend against a local S3-compatible HTTP server (moto's
ThreadedMotoServer on 127.0.0.1: real S3 requests over a socket, botocore on the client)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import torch
from hydra import compose, initialize_config_dir

from flock.contracts.anvil import free_port
from flock.store import (
    FETCH_LOG,
    BlobHashMismatchError,
    BlobNotFoundError,
    BlobTooLargeError,
    BlobUnavailableError,
    RetryPolicy,
    StoreError,
    StoreUnreachableError,
    UpdateStore,
    blob_hash,
    encode_blob,
    open_store,
)
from flock.store.s3 import S3Store

moto_server = pytest.importorskip("moto.server", reason="moto[server] not installed")

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")
FAST = RetryPolicy(timeout_s=1.0, deadline_s=2.0, backoff_s=0.05, max_backoff_s=0.2)
METADATA = {"proposer": "0x" + "00" * 20, "round": "1"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A local S3-compatible server for the module."""
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; credentials from the environment, as in a deployment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "flock-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "flock-test-secret")
    name = f"flock-{uuid.uuid4().hex[:12]}"
    _client(endpoint).create_bucket(Bucket=name)
    return name


def _client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="flock-test",
        aws_secret_access_key="flock-test-secret",
    )


def _store(endpoint: str, bucket: str, cache: Path, *, max_bytes: int = 2**20) -> S3Store:
    return S3Store(
        bucket=bucket,
        cache=UpdateStore(cache, max_bytes=max_bytes),
        endpoint_url=endpoint,
        region="us-east-1",
        policy=FAST,
    )


def _blob(seed: int = 0, n: int = 1000) -> bytes:
    return encode_blob(torch.randn(n, generator=torch.Generator().manual_seed(seed)), METADATA)


def test_a_blob_written_by_one_member_is_read_by_another(
    endpoint: str, bucket: str, tmp_path: Path
) -> None:
    writer = _store(endpoint, bucket, tmp_path / "w")
    reader = _store(endpoint, bucket, tmp_path / "r")
    vector = torch.arange(7, dtype=torch.float32)

    digest = writer.put(vector, METADATA)
    blob = reader.get(digest, expected_numel=7)

    assert blob.vector.equal(vector)
    key = f"{digest.hex()}.safetensors"
    assert writer.uri(digest) == f"s3://{bucket}/{key}"
    stored = _client(endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert blob_hash(stored) == digest
    assert digest.hex() in (tmp_path / "r" / FETCH_LOG).read_text()
    assert reader.exists(digest)


def test_objects_are_written_once(endpoint: str, bucket: str, tmp_path: Path) -> None:
    # Prepare: someone with bucket credentials put other bytes under a digest's key first
    data, other = _blob(1), _blob(2)
    digest = blob_hash(data)
    key = f"{digest.hex()}.safetensors"
    _client(endpoint).put_object(Bucket=bucket, Key=key, Body=other)

    # Execute: a member publishes the real blob, a reader with an empty cache fetches it
    writer = _store(endpoint, bucket, tmp_path / "w")
    assert writer.put_bytes(data) == digest

    # Assert: the first object stays (write-once), and readers see it is not the blob
    assert _client(endpoint).get_object(Bucket=bucket, Key=key)["Body"].read() == other
    with pytest.raises(BlobHashMismatchError):
        _store(endpoint, bucket, tmp_path / "r").get(digest)


def test_a_second_put_of_the_same_blob_leaves_the_object(
    endpoint: str, bucket: str, tmp_path: Path
) -> None:
    first = _store(endpoint, bucket, tmp_path / "a")
    digest = first.put_bytes(_blob())
    key = f"{digest.hex()}.safetensors"
    before = _client(endpoint).head_object(Bucket=bucket, Key=key)["LastModified"]
    assert _store(endpoint, bucket, tmp_path / "b").put_bytes(_blob()) == digest
    assert _client(endpoint).head_object(Bucket=bucket, Key=key)["LastModified"] == before


def test_the_size_cap_holds_both_ways(endpoint: str, bucket: str, tmp_path: Path) -> None:
    big = _blob(n=10_000)  # 40 kB
    small = _store(endpoint, bucket, tmp_path / "s", max_bytes=20_000)
    with pytest.raises(BlobTooLargeError):
        small.put_bytes(big)
    digest = _store(endpoint, bucket, tmp_path / "b").put_bytes(big)  # a writer with a larger cap
    with pytest.raises(BlobTooLargeError):
        small.get(digest)


def test_a_missing_blob_is_not_found(endpoint: str, bucket: str, tmp_path: Path) -> None:
    with pytest.raises(BlobNotFoundError) as caught:
        _store(endpoint, bucket, tmp_path).get(blob_hash(b"never stored"))
    assert not isinstance(caught.value, BlobUnavailableError)


def test_an_unreachable_endpoint_or_missing_bucket_is_named(
    bucket: str, endpoint: str, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnreachableError, match="127.0.0.1"):
        _store(dead, bucket, tmp_path / "a").check()
    with pytest.raises(BlobUnavailableError):
        _store(dead, bucket, tmp_path / "b").get(blob_hash(b"x"))
    with pytest.raises(StoreError, match="no-such-bucket"):
        _store(endpoint, "no-such-bucket", tmp_path / "c").check()


def test_the_s3_config_option_reaches_the_bucket_from_the_environment(
    endpoint: str, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOCK_S3_ENDPOINT", endpoint)
    monkeypatch.setenv("FLOCK_S3_BUCKET", bucket)
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["store=s3"])
    store = open_store(cfg.store, cache_dir=tmp_path)
    store.check()
    digest = store.put_bytes(_blob())
    assert store.uri(digest) == f"s3://{bucket}/{digest.hex()}.safetensors"
