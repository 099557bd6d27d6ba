"""How the coordinator reaches the participants: one interface, one class per Flower route.

A relay sends one request type with the same values to a set of nodes and returns their
replies. The coordinator only ever talks through a :class:`Relay`, so the route (a SuperLink's
Grid, the long-lived gRPC clients, Flower's simulation) is a launcher setting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from flwr.app import ConfigRecord, Message, RecordDict
from flwr.common import GetPropertiesIns
from flwr.server.client_manager import ClientManager
from flwr.serverapp import Grid

from flock.flower.common import RECORD

log = logging.getLogger(__name__)

#: Key of the request type in a legacy `get_properties` config.
TYPE_KEY = "flock-type"
#: Key of a worker's refusal in a legacy reply (the legacy API has no error channel).
ERROR_KEY = "flock-error"


@dataclass(frozen=True)
class Reply:
    """One node's answer: its values, or the reason it failed."""

    node: Hashable
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the node answered without error."""
        return self.error is None


class Relay(Protocol):
    """A transport from the coordinator to the participants' nodes."""

    def node_ids(self) -> list[Hashable]:
        """The nodes connected now."""
        ...

    def send(
        self, message_type: str, nodes: Sequence[Hashable], group: str, values: dict[str, Any]
    ) -> list[Reply]:
        """Send `values` as `message_type` to `nodes`; return the replies that arrived in time
        (missing nodes have no entry)."""
        ...


def wait_for_nodes(relay: Relay, count: int, timeout: float, poll_s: float = 0.1) -> list[Any]:
    """Node ids once at least `count` nodes are connected.

    Raises
    ------
    TimeoutError
        When fewer than `count` nodes connected within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        nodes = relay.node_ids()
        if len(nodes) >= count:
            return nodes
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(nodes)} of {count} nodes connected after {timeout}s")
        time.sleep(poll_s)


class GridRelay:
    """Flower's Grid (a SuperLink deployment or the simulation engine), pulling replies at
    its own interval (`Grid.send_and_receive` waits a fixed 3 s between pulls).

    Parameters
    ----------
    grid : Grid
        The ServerApp's grid.
    timeout : float
        Seconds to wait for the replies of one batch.
    poll_s : float
        Interval between pulls.
    """

    def __init__(self, grid: Grid, *, timeout: float, poll_s: float) -> None:
        self.grid = grid
        self.timeout = timeout
        self.poll_s = poll_s

    def node_ids(self) -> list[Hashable]:
        return list(self.grid.get_node_ids())

    def send(
        self, message_type: str, nodes: Sequence[Hashable], group: str, values: dict[str, Any]
    ) -> list[Reply]:
        messages = [
            self.grid.create_message(
                RecordDict({RECORD: ConfigRecord(dict(values))}),
                message_type,
                int(node),  # type: ignore[call-overload]
                group,
            )
            for node in nodes
        ]
        if not messages:
            return []
        pending = set(self.grid.push_messages(messages))
        replies: list[Reply] = []
        deadline = time.monotonic() + self.timeout
        while pending and time.monotonic() < deadline:
            for message in self.grid.pull_messages(list(pending)):
                pending.discard(message.metadata.reply_to_message_id)
                replies.append(_from_message(message))
            if pending:
                time.sleep(self.poll_s)
        return replies


def _from_message(message: Message) -> Reply:
    node = message.metadata.src_node_id
    if message.has_error():
        return Reply(node, error=message.error.reason)
    if not message.has_content() or RECORD not in message.content:
        return Reply(node, error="reply without a flock record")
    return Reply(node, values=dict(message.content[RECORD]))


class ProxyRelay:
    """Flower's long-lived gRPC clients (`flwr.client.start_client` against
    `flwr.server.start_server`): each request is a `get_properties` call on the node's
    ClientProxy, sent to all nodes of a batch in parallel.

    Parameters
    ----------
    client_manager : ClientManager
        The server's client manager.
    timeout : float
        Seconds to wait for one node's reply.
    max_workers : int
        Requests in flight at once.
    """

    def __init__(self, client_manager: ClientManager, *, timeout: float, max_workers: int) -> None:
        self.client_manager = client_manager
        self.timeout = timeout
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="flock-relay")

    def node_ids(self) -> list[Hashable]:
        return list(self.client_manager.all())

    def _call(self, node: Hashable, config: dict[str, Any]) -> Reply:
        proxy = self.client_manager.all().get(str(node))
        if proxy is None:
            return Reply(node, error="node disconnected")
        try:
            res = proxy.get_properties(
                GetPropertiesIns(config=config), timeout=self.timeout, group_id=None
            )
        except Exception as exc:  # a lost connection or a timeout is this node's failure only
            return Reply(node, error=f"{type(exc).__name__}: {exc}")
        values = dict(res.properties)
        if ERROR_KEY in values:
            return Reply(node, error=str(values[ERROR_KEY]))
        return Reply(node, values=values)

    def send(
        self, message_type: str, nodes: Sequence[Hashable], group: str, values: dict[str, Any]
    ) -> list[Reply]:
        config = {**values, TYPE_KEY: message_type}
        return list(self.pool.map(lambda node: self._call(node, config), nodes))

    def close(self) -> None:
        """Stop the request threads."""
        self.pool.shutdown(wait=False, cancel_futures=True)
