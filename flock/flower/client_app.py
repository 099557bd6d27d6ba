"""Flower ClientApp of one participant: a thin adapter from Flower messages to its worker.

The same ClientApp serves the SuperLink deployment (a SuperNode per participant, node config
naming the alliance file, state directory and key) and Flower's simulation engine (node config
with only `partition-id`; the rest comes from the run config). All participant logic lives in
:class:`flock.flower.worker.ParticipantWorker`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp

from flock.flower.common import (
    MSG_IDENTIFY,
    MSG_JOIN,
    MSG_REVEAL_SEED,
    MSG_REVEAL_VOTE,
    MSG_SETTLE_ACCOUNT,
    MSG_TRAIN,
    MSG_VOTE,
    RECORD,
)
from flock.flower.worker import NodeSettings, worker_for

#: Message types a participant answers (see flock.flower.common).
MESSAGE_TYPES = (
    MSG_IDENTIFY,
    MSG_JOIN,
    MSG_REVEAL_SEED,
    MSG_TRAIN,
    MSG_VOTE,
    MSG_REVEAL_VOTE,
    MSG_SETTLE_ACCOUNT,
)


def make_client_app(run_config: Mapping[str, Any] | None = None) -> ClientApp:
    """A ClientApp answering every flock message type through the node's worker.

    Parameters
    ----------
    run_config : Mapping | None
        Settings that stand in for the run config (Flower's Python simulation API passes an
        empty one); None reads the run config of each message's context.
    """
    app = ClientApp()

    def answer(message: Message, context: Context) -> Message:
        config = context.run_config if run_config is None else run_config
        worker = worker_for(NodeSettings.from_config(context.node_config, config))
        values = dict(message.content[RECORD]) if RECORD in message.content else {}
        result = worker.handle(message.metadata.message_type, values)
        return Message(RecordDict({RECORD: ConfigRecord(result)}), reply_to=message)

    for message_type in MESSAGE_TYPES:
        kind, _, action = message_type.partition(".")
        if kind == "train":
            app.train()(answer)
        elif kind == "evaluate":
            app.evaluate(action)(answer)
        else:
            app.query(action)(answer)
    return app


#: The ClientApp of the SuperLink deployment (`clientapp` component of the Flower app).
app = make_client_app()
