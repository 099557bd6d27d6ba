"""Proposer: trains the global model on its private train split and proposes the result."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import torch

from flock.attacks import ProposerBehaviour, TamperContext
from flock.learning.models import flatten_params, load_flat_params
from flock.learning.training import train_model
from flock.roles.base import RoleContext
from flock.store import blob_hash, encode_blob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSpec:
    """The off-chain training logic every proposer follows (its hash is on chain)."""

    epochs: int
    lr: float
    batch_size: int
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    #: optimizer steps per round (the language-model task trains by steps; 0: by epochs)
    steps: int = 0


@dataclass(frozen=True)
class Update:
    """A proposer's trained weights, flattened, with the sample count behind them."""

    vector: torch.Tensor
    num_samples: int


class Proposer:
    """Trains and stores the update blob (content-addressed); its hash is what goes on chain."""

    def __init__(
        self, ctx: RoleContext, spec: TrainingSpec, behaviour: ProposerBehaviour, *, seed: int
    ) -> None:
        self.ctx = ctx
        self.spec = spec
        self.behaviour = behaviour
        self.seed = seed

    def train(self, global_params: torch.Tensor, round_: int) -> Update:
        """Train the global model for the task's epochs on the local train split."""
        model = self.ctx.make_model()
        load_flat_params(model, global_params)
        x, y = self.behaviour.training_data(self.ctx.data.x_train, self.ctx.data.y_train)
        train_model(model, x, y, **asdict(self.spec), seed=self.seed * 100_003 + round_)
        return Update(vector=flatten_params(model), num_samples=int(len(y)))

    def honest_vector(self, global_params: torch.Tensor, round_: int) -> torch.Tensor:
        """What honest training would give this round (a cartel of attackers pools these)."""
        honest = Proposer(self.ctx, self.spec, ProposerBehaviour(), seed=self.seed)
        return honest.train(global_params, round_).vector

    def prepare(
        self,
        global_params: torch.Tensor,
        round_: int,
        context: TamperContext | None = None,
        *,
        base_hash: bytes = bytes(32),
        initial: tuple[torch.Tensor, bytes] | None = None,
        max_samples: int | None = None,
    ) -> tuple[bytes, int, str, bytes]:
        """Train from the round's base model (`global_params`, hashing to `base_hash`), let the
        behaviour decide what to publish (`context`: what it may know of the round; by default
        nothing beyond its own update), and store the blob; return (hash, claimed sample
        count, uri, base hash) to submit for `round_`. A stale behaviour trains from, and
        names, `initial` (the initial model and its hash); `max_samples` is the chain's cap on
        the claim (default: the true count)."""
        if self.behaviour.stale and initial is not None:
            global_params, base_hash = initial
        if self.behaviour.trains:
            update = self.train(global_params, round_)
        else:
            update = Update(vector=global_params.clone(), num_samples=self.ctx.data.num_train)
        cap = update.num_samples if max_samples is None else max_samples
        claimed = self.behaviour.claimed_samples(update.num_samples, cap)
        published = self.behaviour.tamper(
            update.vector,
            global_params=global_params,
            context=context if context is not None else TamperContext(round=round_),
        )
        metadata = {
            "proposer": self.ctx.address,
            "round": str(round_),
            "task": self.ctx.participant.task.address,
            "num_samples": str(claimed),
            "base": base_hash.hex(),
        }
        vector = published.to(torch.float32).contiguous()
        layout = self.ctx.layout  # a LoRA adapter's blob stores each tensor under its name
        if not self.behaviour.publishes:  # withholding: the hash of the blob it would serve
            digest = blob_hash(encode_blob(vector, metadata, layout=layout))
        elif layout is not None:
            digest = self.ctx.store.put_bytes(encode_blob(vector, metadata, layout=layout))
        else:
            digest = self.ctx.store.put(vector, metadata)
        uri = self.ctx.store.uri(digest)
        log.debug("%s stored update %s for round %d", self.ctx.address, digest.hex()[:12], round_)
        return digest, claimed, uri, base_hash
