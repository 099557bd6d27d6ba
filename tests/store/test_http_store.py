"""Specifications of the http store: flock's blob service on 127.0.0.1 (uvicorn in a thread)
with the membership of a task deployed on the in-process chain, and its client."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hydra import compose, initialize_config_dir

from flock.contracts import EmbeddedChain
from flock.contracts.anvil import free_port
from flock.contracts.units import to_wei
from flock.local.devnet import LocalAlliance, deploy_local_alliance
from flock.spec import task_params
from flock.store import (
    FETCH_LOG,
    BlobNotFoundError,
    BlobTooLargeError,
    BlobUnavailableError,
    NotAMemberError,
    RateLimitedError,
    ReadOnlyStoreError,
    RetryPolicy,
    StoreUnreachableError,
    UpdateStore,
    blob_hash,
    cid_of,
    encode_blob,
)
from flock.store.http_client import HttpStore
from flock.store.signing import sign_upload, upload_message
from flock.storeservice import ServiceSettings, ServiceThread, create_app, task_membership

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "configs")
FAST = RetryPolicy(timeout_s=0.5, deadline_s=3.0, backoff_s=0.05, max_backoff_s=0.2)
METADATA = {"proposer": "0x" + "00" * 20, "round": "1"}


@pytest.fixture(scope="module")
def alliance() -> LocalAlliance:
    """A task on the in-process chain that 3 fresh members joined (of up to 4)."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            config_name="config", overrides=["participants=4", "task.proposers_per_round=1"]
        )
    params = task_params(cfg, spec_hash=bytes(32), initial_model_hash=bytes(32))
    return deploy_local_alliance(
        EmbeddedChain(),
        params,
        participants=3,
        stake=to_wei(50),
        reward_pool=to_wei(1000),
        token_supply=to_wei(10**6),
        tokens_each=to_wei(100),
    )


def _account(alliance: LocalAlliance, i: int) -> LocalAccount:
    return alliance.participants[i].signer.account


@dataclass
class Service:
    """A running service and what the tests need of it."""

    thread: ServiceThread
    root: Path
    task: str

    @property
    def url(self) -> str:
        return self.thread.url

    def client(self, cache: Path, account: LocalAccount | None = None, **kw: Any) -> HttpStore:
        return HttpStore(
            self.url,
            cache=UpdateStore(cache),
            task=self.task,
            account=account,
            policy=kw.pop("policy", FAST),
            **kw,
        )


def _start(alliance: LocalAlliance, root: Path, *, wrap: Any = None, port: int = 0, **kw: Any):
    settings = ServiceSettings(root=root, task=alliance.task.address, **kw)
    app = create_app(settings, task_membership(alliance.task))
    thread = ServiceThread(wrap(app) if wrap else app, port=port).start()
    return Service(thread, root, alliance.task.address)


@pytest.fixture
def service(alliance: LocalAlliance, tmp_path: Path) -> Iterator[Service]:
    running = _start(alliance, tmp_path / "service", max_bytes=200_000)
    yield running
    running.thread.stop()


def _blob(seed: int = 0, n: int = 1000) -> bytes:
    return encode_blob(torch.randn(n, generator=torch.Generator().manual_seed(seed)), METADATA)


def _put(service: Service, data: bytes, headers: dict[str, str], digest: bytes | None = None):
    digest = digest if digest is not None else blob_hash(data)
    return httpx.put(f"{service.url}/blobs/0x{digest.hex()}", content=data, headers=headers)


def _signed(account: LocalAccount, task: str, data: bytes, *, expiry: int | None = None):
    expiry = expiry if expiry is not None else int(time.time()) + 60
    return sign_upload(account, task, blob_hash(data), len(data), expiry).headers()


# ------------------------------------------------------------------------- the good path
def test_a_member_uploads_and_another_member_fetches_over_http(
    service: Service, alliance: LocalAlliance, tmp_path: Path
) -> None:
    # Prepare: two members with their own cache directories
    writer = service.client(tmp_path / "m0", _account(alliance, 0))
    reader = service.client(tmp_path / "m1")
    vector = torch.arange(10, dtype=torch.float32)

    # Execute
    digest = writer.put(vector, METADATA)
    blob = reader.get(digest, expected_numel=10)

    # Assert: bit-exact, served by digest and by CID, journaled in the reader's cache
    assert blob.vector.equal(vector) and blob.metadata == METADATA
    assert (service.root / f"{digest.hex()}.safetensors").read_bytes() == writer.get_bytes(digest)
    by_cid = httpx.get(f"{service.url}/ipfs/{cid_of(digest)}")
    assert blob_hash(by_cid.content) == digest
    assert by_cid.headers["x-flock-cid"] == cid_of(digest)
    journal = (tmp_path / "m1" / FETCH_LOG).read_text().splitlines()
    assert len(journal) == 1 and digest.hex() in journal[0] and service.url in journal[0]
    assert writer.uri(digest) == f"{service.url}/blobs/0x{digest.hex()}"
    assert reader.exists(digest) and not reader.exists(blob_hash(b"other"))


def test_the_signed_message_is_the_documented_text() -> None:
    digest = bytes(range(32))
    message = upload_message("0x" + "AB" * 20, digest, 1234, 1700000000)
    assert message == (
        b"flock-store upload v1\n"
        b"task: 0x" + b"ab" * 20 + b"\n"
        b"digest: 0x" + digest.hex().encode() + b"\n"
        b"size: 1234\n"
        b"expiry: 1700000000"
    )


# ------------------------------------------------------------------------- signatures
def test_an_unsigned_upload_is_refused_and_nothing_is_stored(service: Service) -> None:
    data = _blob()
    response = _put(service, data, {})
    assert response.status_code == 401
    assert response.json()["error"] == "signature_missing"
    assert not (service.root / f"{blob_hash(data).hex()}.safetensors").exists()


def test_a_store_without_a_key_refuses_to_upload(service: Service, tmp_path: Path) -> None:
    with pytest.raises(ReadOnlyStoreError):
        service.client(tmp_path / "c").put_bytes(_blob())


def test_an_expired_or_far_future_signature_is_refused(
    service: Service, alliance: LocalAlliance
) -> None:
    data, member = _blob(), _account(alliance, 0)
    past = _put(service, data, _signed(member, service.task, data, expiry=int(time.time()) - 5))
    future = _put(service, data, _signed(member, service.task, data, expiry=2**40))
    assert (past.status_code, past.json()["error"]) == (401, "signature_expired")
    assert (future.status_code, future.json()["error"]) == (401, "signature_expired")


def test_a_replayed_signature_is_refused_even_after_a_restart(
    service: Service, alliance: LocalAlliance
) -> None:
    data = _blob()
    headers = _signed(_account(alliance, 0), service.task, data)
    assert _put(service, data, headers).status_code == 201
    again = _put(service, data, headers)
    assert (again.status_code, again.json()["error"]) == (409, "signature_replayed")

    service.thread.stop()
    restarted = _start(alliance, service.root, max_bytes=200_000)
    try:
        after = _put(restarted, data, headers)
        assert (after.status_code, after.json()["error"]) == (409, "signature_replayed")
    finally:
        restarted.thread.stop()


def test_a_non_member_is_refused_whatever_signer_it_claims(
    service: Service, alliance: LocalAlliance, tmp_path: Path
) -> None:
    data, outsider = _blob(), Account.create()
    member = _account(alliance, 0).address

    with pytest.raises(NotAMemberError):
        service.client(tmp_path / "c", outsider).put_bytes(data)
    # the outsider names a member as signer: the signature recovers the outsider, not it
    claimed = {**_signed(outsider, service.task, data), "X-Flock-Signer": member}
    response = _put(service, data, claimed)

    assert (response.status_code, response.json()["error"]) == (401, "signature_invalid")
    assert not (service.root / f"{blob_hash(data).hex()}.safetensors").exists()


def test_a_signature_for_another_task_is_refused(service: Service, alliance: LocalAlliance):
    data = _blob()
    response = _put(service, data, _signed(_account(alliance, 0), "0x" + "99" * 20, data))
    assert (response.status_code, response.json()["error"]) == (401, "signature_invalid")


def test_the_task_creator_may_upload_the_initial_model(
    service: Service, alliance: LocalAlliance, tmp_path: Path
) -> None:
    creator = service.client(tmp_path / "c", alliance.creator.account)
    digest = creator.put_bytes(_blob(7))
    assert (service.root / f"{digest.hex()}.safetensors").exists()


# ------------------------------------------------------------------------- the bytes
def test_bytes_that_do_not_hash_to_the_digest_are_refused(
    service: Service, alliance: LocalAlliance
) -> None:
    data, claimed = _blob(1), blob_hash(_blob(2))
    headers = sign_upload(
        _account(alliance, 0), service.task, claimed, len(data), int(time.time()) + 60
    ).headers()
    response = _put(service, data, headers, digest=claimed)
    assert (response.status_code, response.json()["error"]) == (422, "digest_mismatch")
    assert not list(service.root.glob("*.safetensors"))


def test_bytes_that_are_no_update_blob_are_refused(service: Service, alliance: LocalAlliance):
    data = b"\x80\x04pickle or anything else" * 10
    response = _put(service, data, _signed(_account(alliance, 0), service.task, data))
    assert (response.status_code, response.json()["error"]) == (422, "not_a_blob")
    assert not list(service.root.glob("*.safetensors"))


def test_a_blob_over_the_size_cap_is_refused(
    service: Service, alliance: LocalAlliance, tmp_path: Path
) -> None:
    big = _blob(n=60_000)  # 240 kB, over the service's 200 kB
    response = _put(service, big, _signed(_account(alliance, 0), service.task, big))
    assert (response.status_code, response.json()["error"]) == (413, "too_large")
    with pytest.raises(BlobTooLargeError):
        service.client(tmp_path / "c", _account(alliance, 0)).put_bytes(big)


def test_an_upload_without_a_length_is_refused(service: Service, alliance: LocalAlliance):
    data = _blob()
    headers = _signed(_account(alliance, 0), service.task, data)
    response = _put(service, iter([data]), headers, digest=blob_hash(data))  # chunked
    assert (response.status_code, response.json()["error"]) == (411, "length_required")


def test_a_bad_digest_is_a_bad_request(service: Service) -> None:
    response = httpx.get(f"{service.url}/blobs/not-a-digest")
    assert (response.status_code, response.json()["error"]) == (400, "bad_digest")
    missing = httpx.get(f"{service.url}/blobs/0x{'00' * 32}")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")


def test_a_second_upload_is_write_once(service: Service, alliance: LocalAlliance) -> None:
    data, member = _blob(), _account(alliance, 1)
    assert _put(service, data, _signed(member, service.task, data)).status_code == 201
    path = service.root / f"{blob_hash(data).hex()}.safetensors"
    stored = path.stat()

    same = _put(service, data, _signed(_account(alliance, 2), service.task, data))
    other = _blob(3)
    headers = sign_upload(
        member, service.task, blob_hash(data), len(other), int(time.time()) + 61
    ).headers()  # another expiry than the first upload's: a fresh authorisation
    different = _put(service, other, headers, digest=blob_hash(data))

    assert (same.status_code, same.json()["status"]) == (200, "exists")
    assert (different.status_code, different.json()["error"]) == (422, "digest_mismatch")
    assert path.read_bytes() == data and path.stat().st_ino == stored.st_ino


def test_an_uploader_over_its_rate_waits_or_is_refused(
    alliance: LocalAlliance, tmp_path: Path
) -> None:
    # a token refills every 5 s, far longer than three signed puts take on a loaded machine (at
    # 2 per s, one refilled between the second and third put when CI shared its cores)
    running = _start(alliance, tmp_path / "svc", rate_burst=2, rate_per_s=0.2)
    try:
        member = _account(alliance, 0)
        for seed in range(2):
            data = _blob(seed)
            assert _put(running, data, _signed(member, running.task, data)).status_code == 201
        data = _blob(2)
        limited = _put(running, data, _signed(member, running.task, data))
        assert (limited.status_code, limited.json()["error"]) == (429, "rate_limited")
        assert 0 < float(limited.headers["retry-after"]) <= 5.0

        patient = running.client(  # waits Retry-After (up to 5 s), then uploads
            tmp_path / "c", member, policy=RetryPolicy(timeout_s=2.0, deadline_s=15.0)
        )
        assert patient.put_bytes(_blob(2)) == blob_hash(_blob(2))
        hasty = running.client(
            tmp_path / "d", _account(alliance, 1), policy=RetryPolicy(deadline_s=0.1)
        )  # a full bucket of its own: two uploads, then refused before its deadline
        hasty.put_bytes(_blob(3))
        hasty.put_bytes(_blob(4))
        with pytest.raises(RateLimitedError):
            hasty.put_bytes(_blob(5))
    finally:
        running.thread.stop()


# ------------------------------------------------------------------------- faults
class Faulty:
    """Wraps the service: its next `times` blob downloads are cut short or stall."""

    def __init__(self, app: Any, mode: str, times: int, stall_s: float = 2.0) -> None:
        self.app, self.mode, self.times, self.stall_s = app, mode, times, stall_s

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        faulty = scope["type"] == "http" and scope["method"] == "GET" and self.times > 0
        if not faulty or not scope["path"].startswith("/blobs/"):
            return await self.app(scope, receive, send)
        self.times -= 1
        if self.mode == "stall":
            await asyncio.sleep(self.stall_s)
            return await self.app(scope, receive, send)

        async def cut(message: Any) -> None:
            if message["type"] == "http.response.body":
                await send({**message, "body": message.get("body", b"")[:100], "more_body": True})
                raise ConnectionAbortedError("cut")
            await send(message)

        try:
            await self.app(scope, receive, cut)
        except ConnectionAbortedError:
            pass


@pytest.mark.parametrize("mode", ["truncate", "stall"])
def test_a_bad_download_is_retried_then_named_unavailable(
    alliance: LocalAlliance, tmp_path: Path, mode: str
) -> None:
    faulty: list[Faulty] = []
    running = _start(
        alliance,
        tmp_path / "svc",
        wrap=lambda app: faulty.append(Faulty(app, mode, 2)) or faulty[0],
    )
    try:
        digest = running.client(tmp_path / "w", _account(alliance, 0)).put_bytes(_blob())
        # two bad answers, then a good one: the reader retries and gets the blob
        assert running.client(tmp_path / "r1").get_bytes(digest) == _blob()
        assert faulty[0].times == 0
        # bad until the deadline: the named error, which a voter scores UNAVAILABLE
        faulty[0].times = 10**6
        reader = running.client(tmp_path / "r2", policy=RetryPolicy(timeout_s=0.3, deadline_s=1.5))
        started = time.monotonic()
        with pytest.raises(BlobUnavailableError) as caught:
            reader.get(digest)
        assert isinstance(caught.value, BlobNotFoundError)
        assert running.url in str(caught.value)
        assert time.monotonic() - started < 5
    finally:
        running.thread.stop()


def test_a_service_restarted_mid_round_serves_its_blobs_again(
    alliance: LocalAlliance, tmp_path: Path
) -> None:
    running = _start(alliance, tmp_path / "svc")
    port = running.thread.port
    digest = running.client(tmp_path / "w", _account(alliance, 0)).put_bytes(_blob())
    running.thread.stop()  # the service goes down with the blob on its disk

    def restart() -> None:
        time.sleep(0.8)
        restarted.append(_start(alliance, tmp_path / "svc", port=port))

    restarted: list[Service] = []
    helper = threading.Thread(target=restart)
    helper.start()
    try:
        reader = running.client(tmp_path / "r", policy=RetryPolicy(timeout_s=0.5, deadline_s=10))
        assert reader.get_bytes(digest) == _blob()  # retried until the service was back
    finally:
        helper.join()
        for s in restarted:
            s.thread.stop()


def test_an_unreachable_service_is_named_at_start(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    policy = RetryPolicy(timeout_s=0.2, deadline_s=1.0, backoff_s=0.05)
    store = HttpStore(url, cache=UpdateStore(tmp_path), task="0x" + "00" * 20, policy=policy)
    with pytest.raises(StoreUnreachableError, match=url):
        store.check()
    with pytest.raises(BlobUnavailableError, match=url):
        store.get(blob_hash(b"x"))


def test_a_check_with_its_own_deadline_gives_up_by_then(tmp_path: Path) -> None:
    # `flock deploy` tries the store briefly: the service usually starts after the deploy
    url = f"http://127.0.0.1:{free_port()}"
    policy = RetryPolicy(timeout_s=0.2, deadline_s=60.0, backoff_s=0.05)
    store = HttpStore(url, cache=UpdateStore(tmp_path), task="0x" + "00" * 20, policy=policy)
    started = time.monotonic()
    with pytest.raises(StoreUnreachableError, match=url):
        store.check(deadline_s=0.5)
    assert time.monotonic() - started < 5  # not the policy's 60 s


def test_a_client_refuses_a_service_of_another_task(service: Service, tmp_path: Path) -> None:
    store = HttpStore(service.url, cache=UpdateStore(tmp_path), task="0x" + "99" * 20)
    with pytest.raises(Exception, match="serves task"):
        store.check()
