"""Where a dashboard reads a task: a chain by JSON-RPC (an alliance file, or a URL and an
address), or a run directory's event log (events.jsonl, exported as rounds settle)."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from flock.contracts.chain import Chain, RpcChain
from flock.contracts.errors import ChainError, ChainMismatchError, ChainUnreachableError
from flock.contracts.eventlog import TaskReader
from flock.dashboard.records import TaskRecords

log = logging.getLogger(__name__)

#: The event log a run directory holds (flock.local.experiment writes it).
EVENT_LOG = "events.jsonl"
#: What `flock alliance` writes beside the alliance file: who plays which behaviour, and the
#: coordinator's per-round results (accuracy of the global model).
BEHAVIOURS_FILE = "behaviours.json"
RESULT_FILE = "result.json"


class FeedError(Exception):
    """The task cannot be read now; the message says why, for the page and the log."""


class Feed(ABC):
    """A source of one task's public record."""

    #: Where the feed reads from, in words.
    source: str

    @abstractmethod
    def poll(self) -> TaskRecords:
        """Read what is new and return the whole record so far.

        Raises
        ------
        FeedError
            When the task cannot be read (the message says why).
        """


def read_behaviours(path: Path) -> dict[str, dict[str, str]]:
    """`behaviours.json` (address -> {"proposer": ..., "voter": ...}); {} when absent."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return {str(a): {str(k): str(v) for k, v in b.items()} for a, b in data.items()}


def read_result_reports(path: Path) -> dict[int, dict[str, Any]]:
    """The coordinator's per-round model quality from `result.json`, keyed by its
    `quality_metric` (`accuracy`, or `eval_loss` for the language-model task); {} when absent."""
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    metric = str(data.get("quality_metric", "accuracy"))
    return {
        int(r["round"]): {metric: float(r["quality"])}
        for r in data.get("rounds", [])
        if r.get("quality") is not None
    }


class ChainFeed(Feed):
    """Reads the task from a chain: new events since the last poll, their gas, and the views
    at the latest block. Reconnects after the node went away.

    Parameters
    ----------
    task : str
        The task's address.
    rpc_url : str | None
        A JSON-RPC endpoint (None: `chain` is given).
    chain : Chain | None
        An open chain (the in-process EVM in tests).
    chain_id : int | None
        Refuse an endpoint serving another chain.
    side_dir : Path | None
        A directory holding the run's behaviours.json and result.json (the alliance
        file's), read for the attackers and the accuracy per round.
    request_timeout_s, retries : float, int
        Of each RPC request.
    log_chunk_blocks : int
        Largest block range of one `eth_getLogs`.
    """

    def __init__(
        self,
        task: str,
        *,
        rpc_url: str | None = None,
        chain: Chain | None = None,
        chain_id: int | None = None,
        side_dir: Path | None = None,
        request_timeout_s: float = 10.0,
        retries: int = 1,
        log_chunk_blocks: int = 10_000,
    ) -> None:
        if (rpc_url is None) == (chain is None):
            raise ValueError("give a ChainFeed either rpc_url or chain")
        self.task = task
        self.rpc_url = rpc_url
        self.chain_id = chain_id
        self.side_dir = side_dir
        self.request_timeout_s = request_timeout_s
        self.retries = retries
        self.log_chunk_blocks = log_chunk_blocks
        self.source = f"task {task} at {rpc_url or type(chain).__name__}"
        self._chain = chain
        self._reader: TaskReader | None = None
        self._next_block = 0
        self.records = TaskRecords(source=self.source)

    def _connect(self) -> TaskReader:
        if self._chain is None:
            assert self.rpc_url is not None
            self._chain = RpcChain(
                self.rpc_url,
                expected_chain_id=self.chain_id,
                request_timeout=self.request_timeout_s,
                retries=self.retries,
            )
        if self._reader is None:
            self._reader = TaskReader(
                self._chain, self.task, log_chunk_blocks=self.log_chunk_blocks
            )
            self.records.header = self._reader.header()
        return self._reader

    def poll(self) -> TaskRecords:
        try:
            reader = self._connect()
            block = reader.chain.block_number()
            events = reader.events(self._next_block, block)
            for tx in reader.gas(e["tx"] for e in events):
                self.records.txs[tx["tx"]] = tx
            self.records.events += events
            self.records.views = reader.views(block)
            self._next_block = block + 1
        except ChainMismatchError as exc:
            self._reader = None
            raise FeedError(f"{exc} (is the task address right, and the RPC the task's?)") from exc
        except (ChainUnreachableError, ConnectionError, OSError) as exc:
            self._drop()
            raise FeedError(f"cannot reach the JSON-RPC endpoint {self.rpc_url}: {exc}") from exc
        except ChainError as exc:
            raise FeedError(f"reading task {self.task} failed: {exc}") from exc
        except Exception as exc:  # requests' and web3's errors vary by transport and node
            if self.rpc_url is not None and _looks_unreachable(exc):
                self._drop()
                raise FeedError(
                    f"cannot reach the JSON-RPC endpoint {self.rpc_url}: {exc}"
                ) from exc
            raise FeedError(
                f"reading task {self.task} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if self.side_dir is not None:
            self.records.members = read_behaviours(self.side_dir / BEHAVIOURS_FILE)
            self.records.reports = read_result_reports(self.side_dir / RESULT_FILE)
        return self.records

    def _drop(self) -> None:
        """Forget the connection (not what was read): the next poll connects anew."""
        if self.rpc_url is not None:
            self._chain = None
            self._reader = None


def _looks_unreachable(exc: BaseException) -> bool:
    import requests

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.ConnectionError | requests.Timeout | ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def alliance_feed(path: Path, **kwargs: Any) -> ChainFeed:
    """A :class:`ChainFeed` for the task of an alliance file (task, rpc_url, chain_id; the
    file holds no key), reading behaviours.json and result.json beside it.

    Raises
    ------
    FeedError
        When the file is missing or not an alliance file.
    """
    try:
        data = json.loads(Path(path).read_text())
        task, url, chain_id = str(data["task"]), str(data["rpc_url"]), int(data["chain_id"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise FeedError(f"{path} is not a readable alliance file: {exc}") from exc
    return ChainFeed(task, rpc_url=url, chain_id=chain_id, side_dir=Path(path).parent, **kwargs)


class RunDirFeed(Feed):
    """Reads a run directory's events.jsonl as it grows (a finished or a running `flock run`).

    Parameters
    ----------
    run_dir : Path
        The run directory.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / EVENT_LOG
        self.source = f"run directory {self.run_dir}"
        self._offset = 0
        self.records = TaskRecords(source=self.source)

    def poll(self) -> TaskRecords:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError as exc:
            raise FeedError(
                f"no {EVENT_LOG} in {self.run_dir} yet: is it the directory of a flock run? "
                "(a run writes it when its task is deployed)"
            ) from exc
        if size < self._offset:  # the file was started anew: a new run in the same directory
            self._offset = 0
            self.records = TaskRecords(source=self.source)
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
        end = chunk.rfind(b"\n") + 1  # a half-written last line waits for the next poll
        for line in chunk[:end].splitlines(keepends=True):
            if line.strip():
                try:
                    record = json.loads(line)
                    if record.get("kind") == "task" and self.records.header is not None:
                        self.records = TaskRecords(source=self.source)  # a new run started
                    self.records.add(record)
                except (
                    json.JSONDecodeError,
                    AttributeError,
                    KeyError,
                    TypeError,
                    ValueError,
                ) as exc:
                    raise FeedError(
                        f"{self.path}: unreadable record at byte {self._offset}: {exc}"
                    ) from exc
            self._offset += len(line)  # a bad line is reported again, never read twice
        if self.records.views is None:
            raise FeedError(f"{self.path} holds no views yet: the run is starting")
        return self.records
