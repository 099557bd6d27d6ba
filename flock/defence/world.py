"""A simulated run's fixed parts: data, model, participants with their behaviours, in memory."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from eth_utils import keccak
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from flock.attacks import AttackPlan, Cartel, plan_attacks
from flock.contracts.participant import ChainParticipant
from flock.defence.config import ROLE_SEED_DOMAIN
from flock.learning.alliance_data import alliance_data
from flock.learning.models import flatten_params, num_params
from flock.learning.scoring import Scoring
from flock.roles import Proposer, RoleContext, ScreeningRules, TrainingSpec, Voter
from flock.store import BlobFormatError, BlobNotFoundError, UpdateBlob, UpdateStore


class MemoryStore(UpdateStore):
    """An :class:`~flock.store.UpdateStore` that keeps blobs in memory, content-addressed by the
    SHA-256 of vector and metadata (a sweep writes tens of thousands of blobs)."""

    def __init__(self) -> None:  # no directory, unlike the parent
        self.root = Path("/memory")
        self.max_bytes = 2**31
        self.fsync = False
        self._blobs: dict[bytes, UpdateBlob] = {}

    def put(self, vector: torch.Tensor, metadata: dict[str, str], *, publish: bool = True) -> bytes:
        data = vector.detach().to(torch.float32).contiguous().clone()
        meta = json.dumps(metadata, sort_keys=True).encode()
        digest = hashlib.sha256(data.numpy().tobytes() + meta).digest()
        self._blobs[digest] = UpdateBlob(vector=data, metadata=dict(metadata))
        return digest

    def get(self, digest: bytes, *, expected_numel: int | None = None) -> UpdateBlob:
        blob = self._blobs.get(bytes(digest))
        if blob is None:
            raise BlobNotFoundError(f"no blob {bytes(digest).hex()} in memory")
        if expected_numel is not None and blob.vector.numel() != expected_numel:
            raise BlobFormatError(f"blob has {blob.vector.numel()} values, not {expected_numel}")
        return blob

    def exists(self, digest: bytes) -> bool:
        return bytes(digest) in self._blobs

    def uri(self, digest: bytes) -> str:
        return f"memory://{bytes(digest).hex()}"

    def clear(self) -> None:
        """Forget every blob (a finished round's updates are not read again)."""
        self._blobs.clear()


@dataclass(frozen=True)
class _SimTask:
    address: str = "0x" + "00" * 20


@dataclass(frozen=True)
class _SimParticipant:
    """What the roles read of a participant off chain: its address and its task's."""

    address: str
    task: _SimTask = field(default_factory=_SimTask)


def attacker_indices(plan: AttackPlan) -> list[int]:
    """Participants with any non-honest behaviour, plus the cartel's members."""
    bad = {
        i for i, a in enumerate(plan.assignments) if a.proposer != "honest" or a.voter != "honest"
    }
    return sorted(bad | set(plan.colluders))


@dataclass
class Member:
    address: str
    proposer: Proposer
    voter: Voter
    malicious_proposer: bool


@dataclass
class World:
    """A run's fixed parts: data, members, attack plan, holdout and the initial model."""

    members: list[Member]
    plan: AttackPlan
    cartel: Cartel
    store: MemoryStore
    model: torch.nn.Module
    initial: torch.Tensor
    x_holdout: torch.Tensor
    y_holdout: torch.Tensor
    backdoor: dict[str, Any] | None
    smallest_test_split: int


def build_world(cfg: DictConfig) -> World:
    """Data, model and participants exactly as `flock run` builds them for this seed."""
    from flock.spec import participant_signer  # the run's reproducible keys

    seed = int(cfg.seed)
    torch.manual_seed(seed)
    drawn = alliance_data(cfg)
    dataset, holdout, data = drawn.dataset, drawn.holdout, drawn.participants
    n = int(cfg.participants)

    model = cast(torch.nn.Module, instantiate(cfg.model))  # initialised as `flock run` does
    initial = flatten_params(model)
    # the architecture without Hydra's per-call config walk (thousands of calls a run; the
    # weights are loaded from a flat vector afterwards, training forks its own random state)
    make_model = cast(Callable[[], torch.nn.Module], instantiate(cfg.model, _partial_=True))

    plan = plan_attacks(cast(dict[str, Any], OmegaConf.to_container(cfg.attack)), n=n, seed=seed)
    addresses = [participant_signer(cfg, i).address for i in range(n)]
    colluders = [addresses[i] for i in sorted(plan.colluders)]
    spec = TrainingSpec(**cast(dict[str, Any], OmegaConf.to_container(cfg.training)))
    store = MemoryStore()
    screening = ScreeningRules.from_config(cfg.get("voting"))
    scoring = Scoring.from_config(cfg.get("scoring"))
    members = []
    for i, address in enumerate(addresses):
        participant = cast(ChainParticipant, _SimParticipant(address))
        ctx = RoleContext(participant, data[i], store, make_model, num_params(model))
        member_seed = seed * 1000 + i
        behaviour = plan.proposer_behaviour(i, num_classes=dataset.num_classes, seed=member_seed)
        members.append(
            Member(
                address=address,
                proposer=Proposer(ctx, spec, behaviour, seed=member_seed),
                voter=Voter(
                    ctx,
                    plan.voter_behaviour(i, colluders=colluders),
                    seed=member_seed,
                    screening=screening,
                    scoring=scoring,
                ),
                malicious_proposer=plan.assignments[i].proposer != "honest",
            )
        )
    cartel = Cartel({members[i].address: members[i].proposer.honest_vector for i in plan.colluders})
    x_holdout = torch.as_tensor(holdout.features).reshape(-1, *holdout.feature_shape)
    return World(
        members=members,
        plan=plan,
        cartel=cartel,
        store=store,
        model=model,
        initial=initial,
        x_holdout=x_holdout,
        y_holdout=torch.as_tensor(holdout.labels),
        backdoor=_backdoor_params(plan),
        smallest_test_split=drawn.smallest_test_split,
    )


def _backdoor_params(plan: AttackPlan) -> dict[str, Any] | None:
    """Trigger and target of the plan's backdoor attack (the first one's), if it plants one."""
    for a in plan.assignments:
        if a.proposer == "backdoor":
            p = dict(a.proposer_params)
            return {
                "target": int(p.get("target", 0)),
                "size": int(p.get("size", 2)),
                "value": float(p.get("value", 1.0)),
            }
    return None


def role_seed(seed: int, round_: int) -> bytes:
    """The role seed of `round_` in a simulated run (the contract draws its own on chain)."""
    return keccak(ROLE_SEED_DOMAIN + seed.to_bytes(32, "big") + round_.to_bytes(32, "big"))
