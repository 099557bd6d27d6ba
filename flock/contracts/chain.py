"""Chain backends behind one interface: the in-process EVM (default) and any JSON-RPC node."""

from __future__ import annotations

import logging
import os
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod

import requests
from eth.vm.forks import PragueVM
from eth.vm.forks.cancun import get_total_blob_gas
from eth_tester import EthereumTester, PyEVMBackend
from eth_utils import keccak
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import RPCEndpoint, TxParams, Wei

from flock.contracts.errors import ChainMismatchError, ChainUnreachableError

log = logging.getLogger(__name__)


class Chain(ABC):
    """A connection to an EVM chain plus the dev-chain controls tests and simulations need."""

    w3: Web3

    @property
    def chain_id(self) -> int:
        """The chain id the node reports."""
        return int(self.w3.eth.chain_id)

    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        """Number of the latest block."""
        return int(self.w3.eth.block_number)

    def require_code(self, address: str) -> None:
        """Raise ChainMismatchError unless a contract is deployed at `address`."""
        if not self.w3.eth.get_code(Web3.to_checksum_address(address)):
            raise ChainMismatchError(f"no contract code at {address} on chain {self.chain_id}")

    @abstractmethod
    def advance_time(self, seconds: int) -> None:
        """Move chain time forward by `seconds` and mine a block (dev chains only)."""

    @abstractmethod
    def mine(self, blocks: int = 1) -> None:
        """Mine `blocks` empty blocks (dev chains only)."""

    @abstractmethod
    def fund(self, address: str, wei: int) -> None:
        """Give `address` `wei` of native currency for gas (dev chains only)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources held by the backend."""


class _SeededPyEVMBackend(PyEVMBackend):
    """py-evm backend whose post-merge `mix_hash` (prevrandao) is derived from the parent block
    instead of drawn from os.urandom, so a run's block hashes repeat exactly."""

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = bytes(20)) -> tuple[bytes, ...]:
        hashes = []
        for _ in range(num_blocks):
            parent = self.chain.get_canonical_head().hash
            kwargs: dict[str, object] = {
                "coinbase": coinbase,
                "mix_hash": keccak(b"flock.mix_hash" + parent),
            }
            if isinstance(self.chain.get_vm(), PragueVM):
                pending = self.chain.get_block().transactions
                kwargs["blob_gas_used"] = sum(get_total_blob_gas(tx) for tx in pending)
            hashes.append(self.chain.mine_block(**kwargs).hash)
        return tuple(hashes)


class EmbeddedChain(Chain):
    """In-process EVM (eth-tester on py-evm): one command runs everything, no node needed.

    Parameters
    ----------
    block_gas_limit : int
        Gas limit of each block (mainnet-like 30M by default).
    genesis_timestamp : int | None
        A fixed genesis time makes the chain deterministic: when it lies in the future, every
        block is stamped parent + 1 (or by time travel) instead of by the wall clock, and the
        per-block prevrandao is derived from the parent, so block hashes, and the role draws
        that use them, repeat from run to run.
    """

    def __init__(
        self, *, block_gas_limit: int = 30_000_000, genesis_timestamp: int | None = None
    ) -> None:
        overrides: dict[str, int] = {"gas_limit": block_gas_limit}
        if genesis_timestamp is not None:
            overrides["timestamp"] = genesis_timestamp
        params = PyEVMBackend.generate_genesis_params(overrides=overrides)
        backend_cls = PyEVMBackend if genesis_timestamp is None else _SeededPyEVMBackend
        self.tester = EthereumTester(backend_cls(genesis_parameters=params))
        self.w3 = Web3(EthereumTesterProvider(self.tester))
        self._faucet = self.w3.eth.accounts[0]

    def advance_time(self, seconds: int) -> None:
        self.tester.time_travel(self.now() + int(seconds))

    def mine(self, blocks: int = 1) -> None:
        self.tester.mine_blocks(blocks)

    def fund(self, address: str, wei: int) -> None:
        tx: TxParams = {
            "from": self._faucet,
            "to": Web3.to_checksum_address(address),
            "value": Wei(wei),
        }
        self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_transaction(tx))


def _session_for(url: str) -> requests.Session:
    """An HTTP session whose proxy settings are read from the environment once (requests
    re-reads the whole environment on every request: 0.6 ms of a ~1 ms local RPC call)."""
    session = requests.Session()
    session.trust_env = False
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    session.verify = ca_bundle or True
    host = urllib.parse.urlsplit(url).hostname or ""
    if not urllib.request.proxy_bypass(host):
        session.proxies = {
            k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")
        }
    return session


class RpcChain(Chain):
    """Any JSON-RPC node: a local anvil in tests, a real network in production.

    Parameters
    ----------
    url : str
        HTTP(S) endpoint.
    expected_chain_id : int | None
        Refuse to start when the node serves another chain.
    request_timeout : float
        Seconds before an RPC request is abandoned.
    dev : bool
        Whether dev-node methods (anvil_*, evm_*) may be used for time travel and funding.
    retries, retry_backoff_s : int, float
        Attempts per request on transient errors, and the first backoff (doubling).
    """

    def __init__(
        self,
        url: str,
        *,
        expected_chain_id: int | None = None,
        request_timeout: float = 30.0,
        dev: bool = False,
        retries: int = 5,
        retry_backoff_s: float = 0.25,
    ) -> None:
        self.url = url
        self.dev = dev
        provider = Web3.HTTPProvider(
            url,
            request_kwargs={"timeout": request_timeout},
            session=_session_for(url),
            # transient failures (connection reset, 5xx, timeout) are retried with exponential
            # backoff: retry_backoff_s * 2**i; resending a signed transaction is harmless
            exception_retry_configuration=ExceptionRetryConfiguration(
                errors=(
                    ConnectionError,
                    requests.ConnectionError,
                    requests.HTTPError,
                    requests.Timeout,
                ),
                retries=retries,
                backoff_factor=retry_backoff_s,
            ),
            # web3 validates every call and transaction against eth_chainId (45% of all
            # requests in an alliance round); the id is checked once below, then cached
            cache_allowed_requests=True,
            cacheable_requests={RPCEndpoint("eth_chainId")},
        )
        self.w3 = Web3(provider)
        try:
            chain_id = int(self.w3.eth.chain_id)
        except Exception as exc:  # requests/connection errors vary by transport
            raise ChainUnreachableError(f"cannot reach JSON-RPC endpoint {url}: {exc}") from exc
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise ChainMismatchError(
                f"endpoint {url} serves chain {chain_id}, expected {expected_chain_id}"
            )

    def _require_dev(self, what: str) -> None:
        if not self.dev:
            raise ChainMismatchError(f"{what} needs a dev chain; {self.url} is not marked dev")

    def advance_time(self, seconds: int) -> None:
        self._require_dev("advance_time")
        self.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [int(seconds)])
        self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    def mine(self, blocks: int = 1) -> None:
        self._require_dev("mine")
        self.w3.provider.make_request(RPCEndpoint("anvil_mine"), [hex(blocks)])

    def fund(self, address: str, wei: int) -> None:
        self._require_dev("fund")
        self.w3.provider.make_request(
            RPCEndpoint("anvil_setBalance"), [Web3.to_checksum_address(address), hex(wei)]
        )
