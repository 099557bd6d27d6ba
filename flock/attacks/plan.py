"""Who misbehaves how: the `attack` config group turned into per-participant behaviours, and
the cartel whose members pool their honest updates each round (in-process simulations)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from flock.attacks.base import ProposerBehaviour, TamperContext, VoterBehaviour
from flock.attacks.registry import (
    PROPOSER_BEHAVIOURS,
    VOTER_BEHAVIOURS,
    accepts,
    make_proposer_behaviour,
    make_voter_behaviour,
)

#: Random streams of the draws (the seed is the run's): proposer and voter attackers keep the
#: streams they always had, so existing configs pick the same participants.
_STREAMS = {"proposer": 1, "voter": 2, "cartel": 3}


def draw_attackers(seed: int, n: int, count: int, group: str) -> frozenset[int]:
    """Indices of the `count` of `n` participants drawn for `group` ("proposer", "voter" or
    "cartel") from the run's seed (every orchestration draws the same)."""
    if not 0 <= count <= n:
        raise ValueError(f"attack.{group} count must be in [0, {n}], got {count}")
    if not count:
        return frozenset()
    rng = np.random.default_rng([seed, _STREAMS[group]])
    return frozenset(int(i) for i in rng.choice(n, size=count, replace=False))


@dataclass(frozen=True)
class Assignment:
    """One participant's behaviours (registry names and constructor params)."""

    proposer: str = "honest"
    voter: str = "honest"
    proposer_params: Mapping[str, Any] = field(default_factory=dict)
    voter_params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AttackPlan:
    """Every participant's behaviours, and the colluders (cartel members and proposer
    attackers: they share honest updates, and colluding voters favour their proposals)."""

    assignments: tuple[Assignment, ...]
    colluders: frozenset[int]

    def proposer_behaviour(self, index: int, *, num_classes: int, seed: int) -> ProposerBehaviour:
        """Participant `index`'s proposer behaviour; `seed` seeds the randomised attacks."""
        a = self.assignments[index]
        params = dict(a.proposer_params)
        if accepts(PROPOSER_BEHAVIOURS[a.proposer], "seed"):
            params.setdefault("seed", seed)
        return make_proposer_behaviour(a.proposer, num_classes=num_classes, **params)

    def voter_behaviour(self, index: int, *, colluders: Iterable[str]) -> VoterBehaviour:
        """Participant `index`'s voter behaviour; a colluding voter's cartel defaults to the
        addresses of the plan's colluders."""
        a = self.assignments[index]
        params = dict(a.voter_params)
        if accepts(VOTER_BEHAVIOURS[a.voter], "cartel") and not params.get("cartel"):
            params["cartel"] = list(colluders)
        return make_voter_behaviour(a.voter, **params)


def plan_attacks(attack: Mapping[str, Any], *, n: int, seed: int) -> AttackPlan:
    """Turn the `attack` config group into an :class:`AttackPlan` for `n` participants.

    `attack.proposer` / `attack.voter` (behaviour, count, params) pick their attackers
    independently; `attack.cartel` (size, proposer, voter, each behaviour and params) picks
    colluders who play both roles, overriding the other two for its members.
    """
    roles: dict[str, Mapping[str, Any]] = {}
    for role in ("proposer", "voter"):
        spec = attack.get(role) or {}
        roles[role] = {
            "behaviour": str(spec.get("behaviour", "honest")),
            "params": dict(spec.get("params") or {}),
            "who": draw_attackers(seed, n, int(spec.get("count", 0)), role),
        }
    cartel = attack.get("cartel") or {}
    members = draw_attackers(seed, n, int(cartel.get("size", 0)), "cartel")
    cartel_roles = {role: cartel.get(role) or {} for role in ("proposer", "voter")}
    assignments = []
    for i in range(n):
        chosen: dict[str, tuple[str, dict[str, Any]]] = {}
        for role in ("proposer", "voter"):
            if i in members:
                spec = cartel_roles[role]
                chosen[role] = (
                    str(spec.get("behaviour", "honest")),
                    dict(spec.get("params") or {}),
                )
            elif i in roles[role]["who"]:
                chosen[role] = (roles[role]["behaviour"], roles[role]["params"])
            else:
                chosen[role] = ("honest", {})
        assignments.append(
            Assignment(
                proposer=chosen["proposer"][0],
                voter=chosen["voter"][0],
                proposer_params=chosen["proposer"][1],
                voter_params=chosen["voter"][1],
            )
        )
    for a in assignments:
        for name, registry in ((a.proposer, PROPOSER_BEHAVIOURS), (a.voter, VOTER_BEHAVIOURS)):
            if name not in registry:
                raise ValueError(f"unknown behaviour {name!r}; valid: {sorted(registry)}")
    colluders = members | {i for i, a in enumerate(assignments) if a.proposer != "honest"}
    return AttackPlan(tuple(assignments), frozenset(colluders))


#: Trains honestly for (global parameters, round) and returns the trained vector.
HonestTrainer = Callable[[torch.Tensor, int], torch.Tensor]


class Cartel:
    """Colluders who pool their honest updates: in each round every member trains honestly
    (once; cached for the round) and each member's attack sees all of them.

    Parameters
    ----------
    trainers : mapping of str to callable
        Per member address, its honest training on its own private data.
    """

    def __init__(self, trainers: Mapping[str, HonestTrainer]) -> None:
        self.trainers = dict(trainers)
        self._round: int | None = None
        self._updates: list[torch.Tensor] = []

    @property
    def members(self) -> frozenset[str]:
        """The members' addresses."""
        return frozenset(self.trainers)

    def honest_updates(self, global_params: torch.Tensor, round_: int) -> list[torch.Tensor]:
        """Every member's honest trained vector for `round_` (computed once per round)."""
        if self._round != round_:
            self._updates = [train(global_params, round_) for train in self.trainers.values()]
            self._round = round_
        return self._updates

    def context(
        self,
        round_: int,
        global_params: torch.Tensor,
        *,
        proposers: Iterable[str],
        published: Callable[[], list[torch.Tensor]],
    ) -> TamperContext:
        """The :class:`TamperContext` of a member proposing in `round_`, given the round's
        proposer committee and a source of its already published proposals."""
        committee = set(proposers)
        return TamperContext(
            round=round_,
            num_proposers=len(committee),
            num_attackers=len(committee & self.members),
            cartel_source=lambda: self.honest_updates(global_params, round_),
            published_source=published,
        )
