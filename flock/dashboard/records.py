"""What a dashboard reads of one task, from wherever it comes: the header, the event log, the
gas of its transactions, the latest views, and what the run reports of itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]


@dataclass
class TaskRecords:
    """The raw, public record of one task, as a feed has read it so far.

    Attributes
    ----------
    source : str
        Where it comes from, in words (an RPC URL or a run directory).
    header : Record | None
        The task's fixed facts (`kind: task` of :mod:`flock.contracts.eventlog`).
    events : list[Record]
        Every event of the task so far, in chain order.
    txs : dict[str, Record]
        Gas and sender of each transaction that emitted an event, by hash.
    views : Record | None
        The latest views (`kind: views`), read at one block.
    reports : dict[int, Record]
        The run's own figures per round (accuracy), where it reports them.
    members : dict[str, dict[str, str]]
        What the run knows of each member (its behaviours), by address.
    """

    source: str
    header: Record | None = None
    events: list[Record] = field(default_factory=list)
    txs: dict[str, Record] = field(default_factory=dict)
    views: Record | None = None
    reports: dict[int, Record] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, record: Record) -> None:
        """Take one JSON-lines record (task, event, tx, views or report)."""
        kind = record.get("kind")
        if kind == "task":
            self.header = record
            self.members.update(record.get("members") or {})
        elif kind == "event":
            self.events.append(record)
        elif kind == "tx":
            self.txs[str(record["tx"])] = record
        elif kind == "views":
            self.views = record
        elif kind == "report":
            self.reports[int(record["round"])] = {
                k: v for k, v in record.items() if k not in ("kind", "round")
            }
