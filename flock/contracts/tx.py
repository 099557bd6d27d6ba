"""The one path that builds, signs, sends and waits for transactions (one nonce and gas policy)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import TimeExhausted
from web3.types import Nonce, TxParams, TxReceipt, Wei

from flock.contracts.chain import Chain
from flock.contracts.errors import (
    ChainError,
    TransactionDroppedError,
    TransactionReplacedError,
    TransactionRevertedError,
    decode_revert,
    revert_data_from_exception,
)
from flock.contracts.rawcalls import PreparedCall

log = logging.getLogger(__name__)


class Signer:
    """One participant's key with a local nonce counter (each participant signs its own txs).

    Parameters
    ----------
    account : LocalAccount
        The key; never logged.
    """

    def __init__(self, account: LocalAccount) -> None:
        self.account = account
        self._nonce: int | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_key(cls, private_key: str | bytes) -> Signer:
        """Build a signer from a hex or raw private key.

        Raises
        ------
        ValueError
            If the key is malformed (the message never contains the key).
        """
        try:
            return cls(Account.from_key(private_key))
        except Exception as exc:
            raise ValueError("invalid private key (expected 32 bytes, hex or raw)") from exc

    @classmethod
    def create(cls) -> Signer:
        """A signer with a fresh random key."""
        return cls(Account.create())

    @property
    def address(self) -> str:
        """Checksummed address."""
        return str(self.account.address)

    def __repr__(self) -> str:
        return f"Signer({self.address})"

    def take_nonce(self, chain: Chain) -> int:
        """Next nonce: read from the chain once ('pending'), then counted locally."""
        with self._lock:
            if self._nonce is None:
                self._nonce = int(
                    chain.w3.eth.get_transaction_count(self.account.address, "pending")
                )
            nonce = self._nonce
            self._nonce += 1
            return nonce

    def reset_nonce(self) -> None:
        """Forget the local counter (after a failed send); the next take re-reads the chain."""
        with self._lock:
            self._nonce = None


class TxSender:
    """Sends contract calls for signers: estimate (decoding reverts), sign, send, wait.

    Parameters
    ----------
    chain : Chain
        Where to send.
    gas_margin : float
        Multiplier on the estimated gas.
    receipt_timeout : float
        Seconds to wait for a receipt.
    receipt_poll_s : float
        Interval between receipt queries while a transaction is pending.
    fee_ttl_s : float
        How long fee parameters read from the chain are reused (0: read for every
        transaction). The max fee is twice the base fee plus the tip, which stays valid over
        several blocks of rising base fee.
    """

    def __init__(
        self,
        chain: Chain,
        *,
        gas_margin: float = 1.25,
        receipt_timeout: float = 120.0,
        fee_ttl_s: float = 1.0,
        receipt_poll_s: float = 0.1,
    ):
        self.chain = chain
        self.gas_margin = gas_margin
        self.receipt_timeout = receipt_timeout
        self.fee_ttl_s = fee_ttl_s
        self.receipt_poll_s = receipt_poll_s
        self._chain_id = chain.chain_id
        self._fees: tuple[float, dict[str, int]] | None = None
        self._fee_lock = threading.Lock()

    def fees(self) -> dict[str, int]:
        """EIP-1559 fee fields (legacy `gasPrice` on chains without a base fee), cached for
        `fee_ttl_s` seconds."""
        with self._fee_lock:
            now = time.monotonic()
            if self._fees is not None and now - self._fees[0] < self.fee_ttl_s:
                return self._fees[1]
            eth = self.chain.w3.eth
            base = eth.get_block("latest").get("baseFeePerGas")
            if base is None:
                fees = {"gasPrice": int(eth.gas_price)}
            else:
                tip = int(eth.max_priority_fee)
                fees = {"maxFeePerGas": 2 * int(base) + tip, "maxPriorityFeePerGas": tip}
            self._fees = (now, fees)
            return fees

    def transact(
        self,
        signer: Signer,
        call: ContractFunction | ContractConstructor | PreparedCall,
        *,
        value: int = 0,
    ) -> TxReceipt:
        """Send `call` from `signer` and return its receipt (a :class:`PreparedCall` is sent
        as encoded, without web3's per-call ABI machinery).

        Raises
        ------
        ContractRevert
            The Solidity custom error the call reverts with (a subclass named after it).
        TransactionRevertedError
            A revert flock cannot decode, or a mined transaction with status 0.
        TransactionDroppedError, TransactionReplacedError, TimeoutError
            No receipt in time (see :meth:`_wait`).
        """
        params: TxParams = {"from": signer.account.address, "value": Wei(value)}
        eth = self.chain.w3.eth
        if isinstance(call, PreparedCall):
            params["to"] = call.to  # type: ignore[typeddict-item]
            params["data"] = HexBytes(call.data)
        try:
            if isinstance(call, PreparedCall):
                gas = eth.estimate_gas(params)
            else:
                gas = call.estimate_gas(params)
        except Exception as exc:
            raise as_chain_error(exc) from exc
        params["gas"] = int(gas * self.gas_margin)
        params["chainId"] = self._chain_id
        params.update(self.fees())  # type: ignore[typeddict-item]
        for attempt in range(2):
            params["nonce"] = Nonce(signer.take_nonce(self.chain))
            if isinstance(call, PreparedCall):  # already encoded: sign the fields as they are
                tx: dict[str, Any] = {k: v for k, v in params.items() if k != "from"}
            else:
                tx = dict(call.build_transaction(params))
            signed = signer.account.sign_transaction(dict(tx))  # type: ignore[arg-type]
            tx_hash = HexBytes(signed.hash)
            try:
                eth.send_raw_transaction(signed.raw_transaction)
                break
            except Exception as exc:
                message = str(exc).lower()
                if "already known" in message or self._known(tx_hash):
                    break  # a retried send whose first try reached the node
                signer.reset_nonce()
                # another process (or a restart) used this key: re-read the nonce, once
                if attempt == 0 and "nonce too low" in message:
                    log.info("%s: nonce %d taken; re-reading", signer.address, params["nonce"])
                    continue
                raise as_chain_error(exc) from exc
        receipt = self._wait(signer, tx_hash, int(params["nonce"]))
        if receipt["status"] != 1:
            raise TransactionRevertedError(f"transaction {tx_hash.hex()} reverted on chain")
        log.debug(
            "%s: %s gas=%d", signer.address, getattr(call, "fn_name", "deploy"), receipt["gasUsed"]
        )
        return receipt

    def transact_many(self, signer: Signer, calls: list[PreparedCall]) -> list[TxReceipt]:
        """Send independent `calls` from `signer` back to back (consecutive nonces, each
        estimated against the state before any of them), then wait for every receipt: one
        round trip per call instead of a send and a wait. For calls that do not depend on
        each other's effects (a creator funding many members).

        Raises
        ------
        TransactionRevertedError
            When one of them reverted on chain (the others may have been mined).
        """
        eth = self.chain.w3.eth
        fees = self.fees()
        sent: list[tuple[HexBytes, int]] = []
        for call in calls:
            params: dict[str, Any] = {"from": signer.account.address, "to": call.to,
                                      "data": HexBytes(call.data), "value": 0}  # fmt: skip
            try:
                gas = eth.estimate_gas(params)  # type: ignore[arg-type]
            except Exception as exc:
                raise as_chain_error(exc) from exc
            tx = {**params, "gas": int(gas * self.gas_margin), "chainId": self._chain_id, **fees}
            del tx["from"]
            tx["nonce"] = signer.take_nonce(self.chain)
            signed = signer.account.sign_transaction(tx)  # type: ignore[arg-type]
            try:
                eth.send_raw_transaction(signed.raw_transaction)
            except Exception as exc:
                signer.reset_nonce()
                raise as_chain_error(exc) from exc
            sent.append((HexBytes(signed.hash), int(tx["nonce"])))
        receipts = [self._wait(signer, tx_hash, nonce) for tx_hash, nonce in sent]
        for (tx_hash, _), receipt in zip(sent, receipts, strict=True):
            if receipt["status"] != 1:
                raise TransactionRevertedError(f"transaction {tx_hash.hex()} reverted on chain")
        return receipts

    def _known(self, tx_hash: HexBytes) -> bool:
        try:
            return self.chain.w3.eth.get_transaction(tx_hash) is not None
        except Exception:  # TransactionNotFound, or the node cannot tell
            return False

    def _wait(self, signer: Signer, tx_hash: HexBytes, nonce: int) -> TxReceipt:
        """The receipt of `tx_hash`; when none comes in time, tell a dropped transaction from
        a replaced one.

        Raises
        ------
        TransactionReplacedError
            Another transaction took the nonce.
        TransactionDroppedError
            The node forgot the transaction (the nonce is free again).
        TimeoutError
            Still pending after `receipt_timeout` seconds.
        """
        eth = self.chain.w3.eth
        try:
            return eth.wait_for_transaction_receipt(
                tx_hash, timeout=self.receipt_timeout, poll_latency=self.receipt_poll_s
            )
        except TimeExhausted:
            signer.reset_nonce()
            mined_nonce = int(eth.get_transaction_count(signer.account.address, "latest"))
            if mined_nonce > nonce:
                raise TransactionReplacedError(
                    f"{signer.address}: transaction {tx_hash.hex()} was replaced by another "
                    f"with nonce {nonce}"
                ) from None
            if not self._known(tx_hash):
                raise TransactionDroppedError(
                    f"{signer.address}: transaction {tx_hash.hex()} (nonce {nonce}) was dropped "
                    "by the node; it can be sent again"
                ) from None
            raise TimeoutError(
                f"transaction {tx_hash.hex()} still pending after {self.receipt_timeout}s"
            ) from None

    def deploy(self, signer: Signer, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> str:
        """Deploy a contract from `signer` and return its address."""
        factory = self.chain.w3.eth.contract(abi=abi, bytecode=bytecode)
        receipt = self.transact(signer, factory.constructor(*args))
        return str(receipt["contractAddress"])


def as_chain_error(exc: Exception) -> ChainError:
    """Map a web3 / eth-tester exception to flock's error (decoding custom errors)."""
    if isinstance(exc, ChainError):
        return exc
    data = revert_data_from_exception(exc)
    if data is not None:
        return decode_revert(data)
    return TransactionRevertedError(str(exc))
