"""Model poisoning on the update itself: sign flipping, Gaussian noise, scaling, free riding.

The update is ``trained - global``; each attack publishes ``global + f(update)``.
"""

from __future__ import annotations

import torch

from flock.attacks.base import ProposerBehaviour, TamperContext


class SignFlip(ProposerBehaviour):
    """Publishes the negated update: ``global - (trained - global)``."""

    name = "sign_flip"

    def tamper(
        self, update: torch.Tensor, *, global_params: torch.Tensor, context: TamperContext
    ) -> torch.Tensor:
        return global_params - (update - global_params)


class GaussianNoise(ProposerBehaviour):
    """Publishes Gaussian noise instead of its update, `norm_ratio` times the update's norm
    (in expectation): ``global + eps`` with ``eps ~ N(0, s^2 I)``, ``s = ratio * |u| / sqrt(d)``.
    """

    name = "gaussian_noise"

    def __init__(self, *, norm_ratio: float = 10.0, seed: int = 0) -> None:
        self.norm_ratio = norm_ratio
        self.seed = seed

    def tamper(
        self, update: torch.Tensor, *, global_params: torch.Tensor, context: TamperContext
    ) -> torch.Tensor:
        delta = update - global_params
        sigma = self.norm_ratio * float(delta.norm()) / max(delta.numel(), 1) ** 0.5
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + context.round)
        noise = torch.randn(delta.shape, generator=generator, dtype=delta.dtype)
        return global_params + sigma * noise


class Scaling(ProposerBehaviour):
    """Publishes its update scaled by `factor`: ``global + factor * (trained - global)``."""

    name = "scaling"

    def __init__(self, *, factor: float = 10.0) -> None:
        self.factor = factor

    def tamper(
        self, update: torch.Tensor, *, global_params: torch.Tensor, context: TamperContext
    ) -> torch.Tensor:
        return global_params + self.factor * (update - global_params)


class FreeRider(ProposerBehaviour):
    """Proposes without training: resubmits the global model (`mode="global"`), or copies the
    first proposal already published in the round (`mode="copy"`; the global model when none
    is). Copied weights go out under the free rider's own blob metadata, so they pass the
    voters' blob checks."""

    name = "free_rider"
    trains = False
    MODES = ("global", "copy")

    def __init__(self, *, mode: str = "global") -> None:
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode

    def tamper(
        self, update: torch.Tensor, *, global_params: torch.Tensor, context: TamperContext
    ) -> torch.Tensor:
        if self.mode == "copy" and context.published:
            return context.published[0].clone()
        return global_params.clone()
