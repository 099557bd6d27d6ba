"""A task's public record as JSON lines: decoded events in chain order, gas, views at a block,
and refusals for an address that is not a task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import AllianceFactory

from flock.contracts import ChainMismatchError
from flock.contracts.eventlog import EventLogExporter, TaskReader, jsonable


def test_jsonable_keeps_ints_exact_and_writes_bytes_as_hex() -> None:
    assert jsonable({"a": b"\x01\xff", "b": [2**200, (True, None)]}) == {
        "a": "0x01ff",
        "b": [2**200, [True, None]],
    }


def test_the_exported_record_is_the_chains_in_order_and_repeats(
    embedded_alliance: AllianceFactory, tmp_path: Path
) -> None:
    # Prepare
    alliance = embedded_alliance(n=3)
    reader = TaskReader(alliance.chain, alliance.task.address)

    # Execute: export twice with nothing new in between
    exporter = EventLogExporter(tmp_path / "events.jsonl", reader, members={"0xab": {"x": "y"}})
    exporter.export()
    first = (tmp_path / "events.jsonl").read_text().splitlines()
    assert exporter.export() == 0  # no new events

    # Assert
    records = [json.loads(line) for line in first]
    header, events = records[0], [r for r in records if r["kind"] == "event"]
    assert header["kind"] == "task" and header["task"] == alliance.task.address
    assert header["params"]["minStake"] == alliance.task.params.min_stake
    assert header["members"] == {"0xab": {"x": "y"}}
    joined = [e["args"]["participant"] for e in events if e["event"] == "Joined"]
    assert joined == [p.address for p in alliance.participants]
    assert events == sorted(events, key=lambda e: (e["block"], e["index"]))
    gas = {r["tx"]: r["gas"] for r in records if r["kind"] == "tx"}
    assert set(gas) == {e["tx"] for e in events} and all(g > 0 for g in gas.values())
    (views,) = [r for r in records if r["kind"] == "views"]
    assert views["roster"] == joined
    assert views["accounts"][joined[0]] == list(alliance.task.account_of(joined[0]))
    assert views["status"] == {"round": 0, "ended": False, "participants": 3}


def test_an_address_that_is_not_a_task_is_refused(embedded_alliance: AllianceFactory) -> None:
    alliance = embedded_alliance(n=1)
    with pytest.raises(ChainMismatchError, match="no contract code"):
        TaskReader(alliance.chain, "0x" + "12" * 20)
    with pytest.raises(ChainMismatchError, match="not an AllianceTask"):
        TaskReader(alliance.chain, alliance.task.token.address)
