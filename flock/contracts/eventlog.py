"""A task's public record as JSON lines: its event log, the gas of the transactions that wrote
it, and the values of its views at one block (read-only, no key: what a dashboard shows and
what `flock run` exports as events.jsonl as its rounds settle)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from flock.contracts.artifacts import load_artifact
from flock.contracts.chain import Chain
from flock.contracts.errors import ChainMismatchError

log = logging.getLogger(__name__)

#: Bump when a record's fields change meaning.
FORMAT_VERSION = 1

Record = dict[str, Any]


def jsonable(value: Any) -> Any:
    """`value` with bytes as 0x-hex, mappings as dicts and sequences as lists (ints stay exact)."""
    if isinstance(value, bytes | bytearray | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def dump_record(record: Record) -> str:
    """One record as one JSON line (sorted keys: equal records, equal bytes)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


class TaskReader:
    """Reads one AllianceTask's events, transaction gas and views, without a key.

    Parameters
    ----------
    chain : Chain
        Any chain backend (an RPC node or the in-process EVM).
    address : str
        The task's address.
    log_chunk_blocks : int
        Largest block range asked of the node in one `eth_getLogs`.

    Raises
    ------
    ChainMismatchError
        When no contract code is at `address`, or the code is not an AllianceTask.
    """

    def __init__(self, chain: Chain, address: str, *, log_chunk_blocks: int = 10_000) -> None:
        self.chain = chain
        self.address = Web3.to_checksum_address(address)
        chain.require_code(self.address)
        abi = cast(list[dict[str, Any]], load_artifact("AllianceTask").abi)
        self._abi = abi
        self.contract: Contract = chain.w3.eth.contract(address=self.address, abi=abi)
        self._events = {
            "0x" + event_abi_to_log_topic(cast(Any, e)).hex(): str(e["name"])
            for e in abi
            if e["type"] == "event"
        }
        self.log_chunk_blocks = max(1, int(log_chunk_blocks))
        try:
            self.token = str(self.contract.functions.token().call())
        except Exception as exc:  # a contract without the task's views
            raise ChainMismatchError(
                f"{self.address} holds code but not an AllianceTask ({type(exc).__name__})"
            ) from exc
        self._gas: dict[str, Record] = {}
        self._settled: dict[int, Record] = {}
        self._roster: list[str] = []
        self._roster_fixed = False

    def _call(self, fn: str, *args: Any, block: int | str = "latest") -> Any:
        return getattr(self.contract.functions, fn)(*args).call(block_identifier=block)

    def header(self) -> Record:
        """The task's fixed facts: addresses, chain, creator, parameters, the token's units."""
        token = self.chain.w3.eth.contract(
            address=Web3.to_checksum_address(self.token), abi=load_artifact("FlockToken").abi
        )
        try:
            decimals, symbol = (
                int(token.functions.decimals().call()),
                str(token.functions.symbol().call()),
            )
        except Exception:  # any ERC-20 works; decimals and symbol are optional in ERC-20
            decimals, symbol = 18, "token"
        names = [o["name"] for o in self._abi_outputs("config")]
        params = dict(zip(names, self._call("config"), strict=True))
        return {
            "kind": "task",
            "version": FORMAT_VERSION,
            "task": self.address,
            "token": Web3.to_checksum_address(self.token),
            "chain_id": self.chain.chain_id,
            "creator": str(self._call("creator")),
            "params": jsonable(params),
            "token_decimals": decimals,
            "token_symbol": symbol,
        }

    def _abi_outputs(self, fn: str) -> list[dict[str, Any]]:
        (entry,) = [e for e in self._abi if e.get("name") == fn and e["type"] == "function"]
        outputs = entry["outputs"]
        return list(outputs[0]["components"]) if len(outputs) == 1 else list(outputs)

    def events(self, from_block: int, to_block: int) -> list[Record]:
        """The task's events in blocks [`from_block`, `to_block`], in chain order."""
        records: list[Record] = []
        start = max(0, from_block)
        while start <= to_block:
            end = min(to_block, start + self.log_chunk_blocks - 1)
            raw = self.chain.w3.eth.get_logs(
                {"address": self.address, "fromBlock": start, "toBlock": end}
            )
            for entry in raw:
                topic = "0x" + bytes(entry["topics"][0]).hex() if entry["topics"] else ""
                name = self._events.get(topic)
                if name is None:
                    continue  # not an event of this ABI (a newer contract's)
                decoded = getattr(self.contract.events, name)().process_log(entry)
                records.append(
                    {
                        "kind": "event",
                        "event": name,
                        "block": int(entry["blockNumber"]),
                        "index": int(entry["logIndex"]),
                        "tx": "0x" + bytes(entry["transactionHash"]).hex(),
                        "args": jsonable(dict(decoded["args"])),
                    }
                )
            start = end + 1
        records.sort(key=lambda r: (r["block"], r["index"]))
        return records

    def gas(self, tx_hashes: Iterable[str]) -> list[Record]:
        """Gas used and sender of each transaction (read once; receipts never change)."""
        out = []
        for tx in dict.fromkeys(tx_hashes):
            if tx not in self._gas:
                receipt = self.chain.w3.eth.get_transaction_receipt(HexBytes(tx))
                self._gas[tx] = {
                    "kind": "tx",
                    "tx": tx,
                    "block": int(receipt["blockNumber"]),
                    "from": str(receipt["from"]),
                    "gas": int(receipt["gasUsed"]),
                }
            out.append(self._gas[tx])
        return out

    def views(self, block: int) -> Record:
        """The views a dashboard needs, all read at `block`: status, phase and its deadline,
        the pool and totals, the global model, the roster with each member's account, and
        each opened round's info (a settled round's is read once: it no longer changes)."""
        current, ended, count = self._call("status", block=block)
        round_, phase, closes = self._call("phase", block=block)
        if not self._roster_fixed:  # a leave during enrolment may move a member's index
            self._roster = []
        for i in range(len(self._roster), int(count)):  # read once after the start
            self._roster.append(str(self._call("participantAt", i, block=block)))
        self._roster_fixed = bool(int(current))
        roster = self._roster[: int(count)]
        accounts = {a: list(self._call("accountOf", a, block=block)) for a in roster}
        names = [o["name"] for o in self._abi_outputs("roundInfo")]
        rounds: dict[str, Record] = {}
        for r in range(1, int(current) + 1):
            info = self._settled.get(r)
            if info is None:
                info = jsonable(
                    dict(zip(names, self._call("roundInfo", r, block=block), strict=True))
                )
                if info["outcome"]:  # Outcome.PENDING is 0
                    self._settled[r] = info
            rounds[str(r)] = dict(info)
        stamp = self.chain.w3.eth.get_block(block)["timestamp"]
        return {
            "kind": "views",
            "block": int(block),
            "time": int(stamp),
            "status": {"round": int(current), "ended": bool(ended), "participants": int(count)},
            "phase": {"round": int(round_), "phase": int(phase), "closes_at": int(closes)},
            "reward_pool": int(self._call("rewardPool", block=block)),
            "total_staked": int(self._call("totalStaked", block=block)),
            "total_claimable": int(self._call("totalClaimable", block=block)),
            "global_model": {
                "hash": jsonable(bytes(self._call("globalModelHash", block=block))),
                "round": int(self._call("globalModelRound", block=block)),
            },
            "pending_round": int(self._call("pendingAggregateRound", block=block)),
            "roster": roster,
            "accounts": accounts,
            "rounds": rounds,
        }


class EventLogExporter:
    """Appends a task's public record to a JSON-lines file as it grows (`flock run` calls
    :meth:`export` as its rounds settle, so a running run can be watched).

    Every line comes from the chain, or from `members` and the reports the run passes, so
    two runs of one config on the deterministic embedded chain write the same bytes.

    Parameters
    ----------
    path : Path
        The file (events.jsonl); it is started anew.
    reader : TaskReader
        The task's reader.
    members : Mapping[str, Mapping[str, str]] | None
        What the run knows of each member, by address (its behaviours, say), written once
        in the header.
    """

    def __init__(
        self,
        path: Path,
        reader: TaskReader,
        *,
        members: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.path = path
        self.reader = reader
        self._next_block = 0
        header = reader.header()
        if members is not None:
            header["members"] = {a: dict(v) for a, v in members.items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_record(header) + "\n")

    def export(self, reports: Iterable[Record] = ()) -> int:
        """Append the events since the last export, their transactions' gas, the views at the
        latest block and `reports` (the run's own per-round figures, e.g. accuracy); return
        the number of events appended."""
        block = self.reader.chain.block_number()
        events = self.reader.events(self._next_block, block)
        lines = [*events, *self.reader.gas(e["tx"] for e in events)]
        lines.append(self.reader.views(block))
        lines += [{"kind": "report", **r} for r in reports]
        with self.path.open("a") as fh:
            fh.writelines(dump_record(r) + "\n" for r in lines)
        self._next_block = block + 1
        log.debug("exported %d events up to block %d to %s", len(events), block, self.path)
        return len(events)
