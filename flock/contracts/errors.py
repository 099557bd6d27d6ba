"""Python exceptions for the contracts' custom errors, decoded from revert data."""

from __future__ import annotations

import ast
import re
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

from flock.contracts.artifacts import all_abis


class ChainError(Exception):
    """Base of every error raised by flock's contract client."""


class ChainUnreachableError(ChainError):
    """The JSON-RPC endpoint did not answer."""


class ChainMismatchError(ChainError):
    """The endpoint serves another chain than configured, or an address holds no contract."""


class UntrustedBeaconError(ChainError):
    """A task mixes a randomness beacon into its seeds that the member's config does not name."""


class TransactionRevertedError(ChainError):
    """A transaction reverted without data flock can decode."""


class TransactionDroppedError(ChainError):
    """A sent transaction left the node's pool without being mined (its nonce is free again)."""


class TransactionReplacedError(ChainError):
    """Another transaction with the same sender and nonce was mined instead of the one sent."""


class ContractRevert(ChainError):
    """A revert carrying one of the contracts' custom errors.

    Attributes
    ----------
    error_name : str
        The Solidity error's name (also the Python class name).
    values : dict[str, Any]
        The error's arguments by name.
    """

    error_name = "ContractRevert"

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values = values or {}
        details = ", ".join(f"{k}={_fmt(v)}" for k, v in self.values.items())
        super().__init__(f"{self.error_name}({details})")


def _fmt(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value)


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return str(param["type"])


_BY_SELECTOR: dict[bytes, tuple[type[ContractRevert], list[str], list[str]]] = {}
ERRORS: dict[str, type[ContractRevert]] = {}


def _register_errors() -> None:
    for abi in all_abis():
        for item in abi:
            if item.get("type") != "error":
                continue
            types = [_abi_type(i) for i in item["inputs"]]
            names = [i["name"] or f"arg{k}" for k, i in enumerate(item["inputs"])]
            selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
            if selector in _BY_SELECTOR:
                continue
            cls = ERRORS.get(item["name"]) or type(
                item["name"],
                (ContractRevert,),
                {"error_name": item["name"], "__doc__": f"Solidity custom error {item['name']}."},
            )
            ERRORS[item["name"]] = cls
            _BY_SELECTOR[selector] = (cls, types, names)


_register_errors()
globals().update(ERRORS)


def decode_revert(data: bytes) -> ChainError:
    """Turn raw revert data into the matching exception (or a generic one)."""
    if len(data) >= 4 and data[:4] in _BY_SELECTOR:
        cls, types, names = _BY_SELECTOR[data[:4]]
        values = abi_decode(types, data[4:]) if types else ()
        return cls(dict(zip(names, values, strict=True)))
    if data[:4] == bytes.fromhex("08c379a0"):
        (reason,) = abi_decode(["string"], data[4:])
        return TransactionRevertedError(f"reverted: {reason}")
    if data[:4] == bytes.fromhex("4e487b71"):
        (code,) = abi_decode(["uint256"], data[4:])
        return TransactionRevertedError(f"reverted with panic code {code:#x}")
    return TransactionRevertedError(f"reverted with data 0x{data.hex()}")


_BYTES_LITERAL = re.compile(r"b(['\"]).*\1", re.DOTALL)


def revert_data_from_exception(exc: BaseException) -> bytes | None:
    """Extract revert bytes from a web3 (RPC) or eth-tester (in-process EVM) exception."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, bytes):
        return data
    if isinstance(data, dict) and isinstance(data.get("data"), str):
        return bytes.fromhex(data["data"].removeprefix("0x"))
    # eth-tester raises TransactionFailed("execution reverted: b'...'") with the raw bytes.
    message = str(exc.args[0]) if exc.args else ""
    match = _BYTES_LITERAL.search(message)
    if match:
        try:
            literal = ast.literal_eval(match.group(0))
        except (SyntaxError, ValueError):
            return None
        return literal if isinstance(literal, bytes) else None
    return None


def error_selector(name: str) -> bytes:
    """4-byte selector of the custom error called `name`."""
    for selector, (cls, _, _) in _BY_SELECTOR.items():
        if cls.error_name == name:
            return selector
    raise KeyError(name)
