"""Contract calls and event reads straight on a JSON-RPC provider, ABI precompiled once.

web3's contract objects look up and validate the ABI entry, and format every argument and
result through generic middleware, on every call: 4-12 ms of CPU per view or event read, which
dominated a 1,000-member round. This module encodes with `eth_abi` from selectors and types
built once per ABI, sends `eth_call` / `eth_getLogs` through the provider, decodes the same
Python values web3 returns (checksummed addresses, bytes, ints, tuples) and turns reverts into
flock's errors with :func:`flock.contracts.errors.decode_revert`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import collapse_if_tuple, function_abi_to_4byte_selector, keccak
from web3 import Web3
from web3.types import RPCEndpoint

from flock.contracts.errors import ChainError, TransactionRevertedError, decode_revert


def _type(entry: dict[str, Any]) -> str:
    return str(collapse_if_tuple(entry))


def normalize(entry: dict[str, Any], value: Any) -> Any:
    """`value` as web3 returns it for ABI `entry`: checksummed addresses, tuples kept."""
    kind = str(entry["type"])
    if kind.endswith("]"):
        item = {**entry, "type": kind[: kind.rindex("[")]}
        return [normalize(item, v) for v in value]
    if kind == "tuple":
        return tuple(normalize(c, v) for c, v in zip(entry["components"], value, strict=True))
    if kind == "address":
        return Web3.to_checksum_address(value)
    return value


@dataclass(frozen=True)
class PreparedCall:
    """An encoded contract call: what :meth:`flock.contracts.tx.TxSender.transact` sends."""

    to: str
    data: bytes
    fn_name: str


@dataclass(frozen=True)
class _Function:
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class _Event:
    topic: bytes
    indexed: tuple[dict[str, Any], ...]
    data: tuple[dict[str, Any], ...]


class RawContract:
    """One deployed contract's functions and events, encoded and decoded without web3's
    per-call machinery.

    Parameters
    ----------
    w3 : Web3
        Its provider answers the requests (an HTTP JSON-RPC node).
    address : str
        The contract's address.
    abi : list[dict]
        Its ABI (function names must be unique; flock's contracts do not overload).
    """

    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]]) -> None:
        self.provider = w3.provider
        self.address = Web3.to_checksum_address(address)
        self.abi = abi

    @cached_property
    def _functions(self) -> dict[str, _Function]:
        return {
            str(e["name"]): _Function(
                function_abi_to_4byte_selector(e),  # type: ignore[arg-type]
                tuple(_type(i) for i in e["inputs"]),
                tuple(e["outputs"]),
            )
            for e in self.abi
            if e["type"] == "function"
        }

    @cached_property
    def _events(self) -> dict[str, _Event]:
        events = {}
        for e in self.abi:
            if e["type"] != "event":
                continue
            signature = f"{e['name']}({','.join(_type(i) for i in e['inputs'])})"
            events[str(e["name"])] = _Event(
                keccak(text=signature),
                tuple(i for i in e["inputs"] if i["indexed"]),
                tuple(i for i in e["inputs"] if not i["indexed"]),
            )
        return events

    def prepare(self, fn: str, *args: Any) -> PreparedCall:
        """The calldata of `fn(*args)`."""
        f = self._functions[fn]
        return PreparedCall(self.address, f.selector + abi_encode(f.inputs, args), fn)

    def _request(self, method: str, params: list[Any]) -> Any:
        response = self.provider.make_request(RPCEndpoint(method), params)
        error = response.get("error")
        if error:
            data = error.get("data") if isinstance(error, dict) else None
            if isinstance(data, dict):
                data = data.get("data")
            if isinstance(data, str) and data.startswith("0x") and len(data) > 2:
                raise decode_revert(bytes.fromhex(data[2:]))
            message = error.get("message") if isinstance(error, dict) else error
            raise TransactionRevertedError(f"{method} failed: {message}")
        return response["result"]

    def call(self, fn: str, *args: Any) -> Any:
        """`eth_call` of view `fn`: its one output, or a list of several, as web3 returns them.

        Raises
        ------
        ChainError
            The contract's custom error (a subclass named after it) or another failure.
        """
        f = self._functions[fn]
        data = f.selector + abi_encode(f.inputs, args)
        result = self._request(
            "eth_call", [{"to": self.address, "data": "0x" + data.hex()}, "latest"]
        )
        raw = bytes.fromhex(str(result).removeprefix("0x"))
        if not raw and f.outputs:
            raise ChainError(f"{fn}: empty return data from {self.address}")
        values = abi_decode([_type(o) for o in f.outputs], raw)
        decoded = [normalize(o, v) for o, v in zip(f.outputs, values, strict=True)]
        return decoded[0] if len(decoded) == 1 else decoded

    def logs(
        self, event: str, from_block: int, indexed: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Decoded `event` logs from `from_block` to the latest block whose indexed arguments
        equal `indexed` (filtered by the node, on topics), in chain order. Each entry has
        `args`, `blockNumber`, `logIndex` and `transactionHash` like web3's."""
        e = self._events[event]
        wanted = indexed or {}
        topics: list[str | None] = ["0x" + e.topic.hex()]
        for i in e.indexed:
            if i["name"] in wanted:
                topics.append("0x" + abi_encode([_type(i)], [wanted[i["name"]]]).hex())
            else:
                topics.append(None)
        while topics and topics[-1] is None:
            topics.pop()
        params = {"address": self.address, "fromBlock": hex(from_block), "toBlock": "latest",
                  "topics": topics}  # fmt: skip
        out = []
        for log in self._request("eth_getLogs", [params]):
            args: dict[str, Any] = {}
            for entry, topic in zip(e.indexed, log["topics"][1:], strict=True):
                (value,) = abi_decode([_type(entry)], bytes.fromhex(topic[2:]))
                args[entry["name"]] = normalize(entry, value)
            values = abi_decode([_type(d) for d in e.data], bytes.fromhex(log["data"][2:]))
            for entry, value in zip(e.data, values, strict=True):
                args[entry["name"]] = normalize(entry, value)
            out.append(
                {
                    "args": args,
                    "event": event,
                    "blockNumber": int(log["blockNumber"], 16),
                    "logIndex": int(log["logIndex"], 16),
                    "transactionHash": bytes.fromhex(log["transactionHash"][2:]),
                }
            )
        return out
