"""RPC faults: transient errors are retried, dropped and replaced transactions are detected."""

from __future__ import annotations

import http.server
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

from flock.contracts import (
    RpcChain,
    Signer,
    TokenClient,
    TransactionDroppedError,
    TransactionReplacedError,
    TxSender,
)
from flock.contracts.anvil import AnvilProcess, anvil_available
from flock.contracts.deploy import deploy_token

pytestmark = [
    pytest.mark.anvil,
    pytest.mark.skipif(not anvil_available(), reason="anvil not installed (scripts/setup.sh)"),
]


class FlakyProxy(http.server.ThreadingHTTPServer):
    """Forwards JSON-RPC POSTs to `upstream`, answering the first `failures` with HTTP 503."""

    def __init__(self, upstream: str, failures: int) -> None:
        self.upstream = upstream
        self.failures = failures
        self.requests = 0
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: FlakyProxy

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests += 1
        if self.server.requests <= self.server.failures:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        request = urllib.request.Request(
            self.server.upstream, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def node() -> Iterator[AnvilProcess]:
    with AnvilProcess() as anvil:
        yield anvil


def test_transient_errors_are_retried_with_backoff(node: AnvilProcess) -> None:
    proxy = FlakyProxy(node.url, failures=3)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        chain = RpcChain(proxy.url, expected_chain_id=31337, retries=5, retry_backoff_s=0.05)
        # three 503s, then the answer: backoff 0.05 + 0.1 + 0.2 s
        assert time.monotonic() - started >= 0.3
        assert proxy.requests > proxy.failures  # the fourth attempt got through
        assert chain.block_number() >= 0
    finally:
        proxy.shutdown()


def test_too_many_failures_surface_as_an_unreachable_chain(node: AnvilProcess) -> None:
    from flock.contracts import ChainUnreachableError

    proxy = FlakyProxy(node.url, failures=100)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ChainUnreachableError, match="cannot reach"):
            RpcChain(proxy.url, retries=3, retry_backoff_s=0.01)
        assert proxy.requests == 3
    finally:
        proxy.shutdown()


def _pending_setup(node: AnvilProcess) -> tuple[RpcChain, TxSender, Signer, TokenClient]:
    chain = RpcChain(node.url, dev=True)
    creator = Signer.create()
    chain.fund(creator.address, 10**20)
    sender = TxSender(chain, receipt_timeout=1.5, receipt_poll_s=0.05)
    token = deploy_token(sender, creator, 10**24)
    chain.w3.provider.make_request(RPCEndpoint("evm_setAutomine"), [False])
    return chain, sender, creator, token


def _later(seconds: float, action: object) -> None:
    def run() -> None:
        time.sleep(seconds)
        action()  # type: ignore[operator]

    threading.Thread(target=run, daemon=True).start()


def test_a_dropped_transaction_is_detected(node: AnvilProcess) -> None:
    chain, _, creator, token = _pending_setup(node)
    _later(
        0.3, lambda: chain.w3.provider.make_request(RPCEndpoint("anvil_dropAllTransactions"), [])
    )
    with pytest.raises(TransactionDroppedError, match="dropped"):
        token.transfer(creator, Signer.create().address, 1)


def test_a_replaced_transaction_is_detected(node: AnvilProcess) -> None:
    chain, _, creator, token = _pending_setup(node)
    w3 = chain.w3
    nonce = int(w3.eth.get_transaction_count(creator.address, "pending"))

    def replace() -> None:  # same nonce, higher fee: a self-transfer of 0 ether, then mine
        tx = {
            "to": creator.address, "value": 0, "gas": 21_000, "nonce": nonce,
            "maxFeePerGas": 10**12, "maxPriorityFeePerGas": 10**11, "chainId": 31337,
        }  # fmt: skip
        signed = Account.sign_transaction(tx, creator.account.key)
        w3.eth.send_raw_transaction(signed.raw_transaction)
        w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    _later(0.3, replace)
    with pytest.raises(TransactionReplacedError, match="replaced"):
        token.transfer(creator, Web3.to_checksum_address("0x" + "11" * 20), 1)
