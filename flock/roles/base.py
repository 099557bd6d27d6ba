"""What every role shares: a participant's chain identity, its private data and the model shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from flock.contracts.participant import ChainParticipant
from flock.learning.data import ParticipantData
from flock.protocol.layout import TensorLayout
from flock.store import BlobStore


@dataclass
class RoleContext:
    """Everything one participant's roles use. `make_model` builds an untrained model of the
    task's architecture (from the training spec); weights are then loaded from flat vectors."""

    participant: ChainParticipant
    data: ParticipantData
    store: BlobStore
    make_model: Callable[[], torch.nn.Module]
    num_params: int
    #: The model's named-tensor layout when it has one (a LoRA adapter): proposals store each
    #: tensor under its name and name the layout's digest; voters refuse a blob naming
    #: another. None: a flat update.
    layout: TensorLayout | None = None

    @property
    def address(self) -> str:
        """The participant's address."""
        return self.participant.address
