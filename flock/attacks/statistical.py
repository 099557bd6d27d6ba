"""Attacks that hide inside the benign statistics: "a little is enough" (ALIE) and the
min-max / min-sum attacks.

References: Baruch, Baruch and Goldberg, "A Little Is Enough: Circumventing Defenses For
Distributed Learning", NeurIPS 2019; Shejwalkar and Houmansadr, "Manipulating the Byzantine:
Optimizing Model Poisoning Attacks and Defenses for Federated Learning", NDSS 2021 (their
AGR-agnostic attacks).

Threat model (see :class:`~flock.attacks.base.TamperContext`): the benign statistics are
estimated from the cartel's own honest updates (each member trains honestly, the cartel pools
the results), optionally together with the round's already published proposals
(`use_published`). A lone attacker with nothing else to go on has one sample: ALIE then
publishes its honest update and min-max / min-sum find no room (gamma = 0).
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist

import torch

from flock.attacks.base import ProposerBehaviour, TamperContext


def alie_z(num_workers: int, num_attackers: int, *, max_z: float = 3.0) -> float:
    """Baruch et al.'s z_max: s = floor(n/2 + 1) - m workers must be won over, and
    z = Phi^-1((n - s) / n); capped at `max_z` (the formula is unbounded once the attackers
    are a majority) and at 0 from below."""
    if num_workers < 1 or not 0 <= num_attackers <= num_workers:
        raise ValueError(f"need 0 <= attackers <= workers >= 1, got {num_attackers}/{num_workers}")
    s = num_workers // 2 + 1 - num_attackers
    p = (num_workers - s) / num_workers
    if p >= 1.0:
        return max_z
    return min(max(NormalDist().inv_cdf(p), 0.0), max_z) if p > 0 else 0.0


def _benign_deltas(
    update: torch.Tensor, global_params: torch.Tensor, context: TamperContext, use_published: bool
) -> torch.Tensor:
    """The benign updates (k x d) the attacker knows: its cartel's, else only its own."""
    reference = list(context.cartel_updates) or [update]
    if use_published:
        reference += context.published
    return torch.stack([v - global_params for v in reference]).to(torch.float64)


def _std(deltas: torch.Tensor) -> torch.Tensor:
    """Per-coordinate sample standard deviation (0 for a single sample)."""
    if deltas.shape[0] < 2:
        return torch.zeros_like(deltas[0])
    return deltas.std(dim=0)


class ALIE(ProposerBehaviour):
    """ "A little is enough": publishes ``global + mean - z * std`` of the benign updates, per
    coordinate; z from :func:`alie_z` with n the proposer committee and m the cartel's
    proposers (or fixed by `z`)."""

    name = "alie"

    def __init__(
        self, *, z: float | None = None, max_z: float = 3.0, use_published: bool = False
    ) -> None:
        self.z = z
        self.max_z = max_z
        self.use_published = use_published

    def z_for(self, context: TamperContext) -> float:
        """The z of this round."""
        if self.z is not None:
            return self.z
        n = max(context.num_proposers, 1)
        m = min(max(context.num_attackers, 0), n)
        return alie_z(n, m, max_z=self.max_z)

    def tamper(
        self, update: torch.Tensor, *, global_params: torch.Tensor, context: TamperContext
    ) -> torch.Tensor:
        deltas = _benign_deltas(update, global_params, context, self.use_published)
        malicious = deltas.mean(dim=0) - self.z_for(context) * _std(deltas)
        return global_params + malicious.to(update.dtype)


def gamma_search(
    fits: Callable[[float], bool], *, gamma_init: float = 10.0, tolerance: float = 1e-5
) -> float:
    """Shejwalkar and Houmansadr's search for the largest gamma that still `fits`: halve the
    step each iteration, stepping up after a success and down after a failure; 0.0 when no
    tried gamma fits."""
    gamma, step, best = gamma_init, gamma_init, 0.0
    while abs(best - gamma) > tolerance:
        if fits(gamma):
            best = gamma
            gamma += step / 2
        else:
            gamma -= step / 2
        step /= 2
    return best


class _OptimizedDeviation(ProposerBehaviour):
    """Shared part of min-max and min-sum: ``mean + gamma * p`` with a perturbation p."""

    PERTURBATIONS = ("unit", "std", "sign")

    def __init__(
        self,
        *,
        perturbation: str = "unit",
        gamma_init: float = 10.0,
        tolerance: float = 1e-5,
        use_published: bool = False,
    ) -> None:
        if perturbation not in self.PERTURBATIONS:
            raise ValueError(f"perturbation must be one of {self.PERTURBATIONS}")
        self.perturbation = perturbation
        self.gamma_init = gamma_init
        self.tolerance = tolerance
        self.use_published = use_published

    def direction(self, deltas: torch.Tensor) -> torch.Tensor:
        """p: the inverse unit vector of the benign mean, its inverse sign, or minus the std."""
        mean = deltas.mean(dim=0)
        if self.perturbation == "unit":
            norm = mean.norm()
            return -mean / norm if norm > 0 else torch.zeros_like(mean)
        if self.perturbation == "sign":
            return -torch.sign(mean)
        return -_std(deltas)

    def spread(self, candidate: torch.Tensor, deltas: torch.Tensor) -> float:
        """How far `candidate` lies from the benign updates (the attack's measure)."""
        raise NotImplementedError

    def bound(self, deltas: torch.Tensor) -> float:
        """The largest spread the attack allows itself (from the benign updates alone)."""
        raise NotImplementedError

    def malicious_delta(self, deltas: torch.Tensor) -> torch.Tensor:
        """The published update for benign updates `deltas` (k x d)."""
        mean, p = deltas.mean(dim=0), self.direction(deltas)
        bound = self.bound(deltas)
        gamma = gamma_search(
            lambda g: self.spread(mean + g * p, deltas) <= bound,
            gamma_init=self.gamma_init,
            tolerance=self.tolerance,
        )
        return mean + gamma * p

    def tamper(
        self, update: torch.Tensor, *, global_params: torch.Tensor, context: TamperContext
    ) -> torch.Tensor:
        deltas = _benign_deltas(update, global_params, context, self.use_published)
        return global_params + self.malicious_delta(deltas).to(update.dtype)


def _distances(point: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Euclidean distance of `point` to each row of `deltas`."""
    return (deltas - point).norm(dim=1)


class MinMax(_OptimizedDeviation):
    """Min-max: the largest deviation whose distance to every benign update is at most the
    largest distance between two benign updates."""

    name = "min_max"

    def spread(self, candidate: torch.Tensor, deltas: torch.Tensor) -> float:
        return float(_distances(candidate, deltas).max())

    def bound(self, deltas: torch.Tensor) -> float:
        return max(float(_distances(d, deltas).max()) for d in deltas)


class MinSum(_OptimizedDeviation):
    """Min-sum: the largest deviation whose sum of squared distances to the benign updates is
    at most the smallest such sum of a benign update (as the authors' code bounds it)."""

    name = "min_sum"

    def spread(self, candidate: torch.Tensor, deltas: torch.Tensor) -> float:
        return float((_distances(candidate, deltas) ** 2).sum())

    def bound(self, deltas: torch.Tensor) -> float:
        return min(float((_distances(d, deltas) ** 2).sum()) for d in deltas)
