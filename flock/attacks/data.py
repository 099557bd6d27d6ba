"""Data poisoning: label flipping and a trigger backdoor with model replacement."""

from __future__ import annotations

import torch

from flock.attacks.base import ProposerBehaviour, TamperContext


class LabelFlip(ProposerBehaviour):
    """Trains on flipped labels: class c becomes num_classes - 1 - c."""

    name = "label_flip"

    def __init__(self, *, num_classes: int) -> None:
        self.num_classes = num_classes

    def training_data(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, (self.num_classes - 1) - y


def apply_trigger(x: torch.Tensor, *, size: int = 2, value: float = 1.0) -> torch.Tensor:
    """A copy of `x` with the trigger stamped on every sample.

    Images (samples shaped ``(..., H, W)``, e.g. digits' ``(1, 8, 8)``): a bright
    ``size x size`` patch in the bottom-right corner (digits' pixels lie in [0, 1], so 1.0 is
    the brightest value). Flat features ``(n, d)``: the last ``size * size`` features.
    """
    out = x.clone()
    if out.ndim >= 3:
        out[..., -size:, -size:] = value
    else:
        out[:, -size * size :] = value
    return out


def backdoor_success_rate(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    target: int,
    size: int = 2,
    value: float = 1.0,
) -> float:
    """Fraction of triggered test samples of another class than `target` that `model`
    classifies as `target` (the attack success rate of the backdoor literature).

    Returns
    -------
    float
        In [0, 1]; 0.0 when every sample already belongs to `target`.
    """
    keep = y != target
    if not bool(keep.any()):
        return 0.0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            predicted = model(apply_trigger(x[keep], size=size, value=value)).argmax(dim=-1)
    finally:
        model.train(was_training)
    return float((predicted == target).double().mean())


class Backdoor(ProposerBehaviour):
    """Backdoor by model replacement (Bagdasaryan et al., 2020).

    Trains on its data plus triggered copies of a `poison_fraction` of its non-target
    samples relabelled `target` (clean accuracy stays, the trigger maps to `target`), then
    publishes ``G + gamma * (L - G)`` with ``gamma = n / eta``: when the aggregate is the mean
    of n updates with server learning rate eta, the backdoored model L replaces the global
    model. `boost` fixes gamma instead; n is the round's proposer committee.
    """

    name = "backdoor"

    def __init__(
        self,
        *,
        target: int = 0,
        poison_fraction: float = 0.5,
        size: int = 2,
        value: float = 1.0,
        eta: float = 1.0,
        boost: float | None = None,
        seed: int = 0,
    ) -> None:
        if not 0.0 <= poison_fraction <= 1.0:
            raise ValueError(f"poison_fraction must be in [0, 1], got {poison_fraction}")
        if eta <= 0:
            raise ValueError(f"eta must be > 0, got {eta}")
        self.target = target
        self.poison_fraction = poison_fraction
        self.size = size
        self.value = value
        self.eta = eta
        self.boost = boost
        self.seed = seed

    def training_data(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        candidates = torch.nonzero(y != self.target).flatten()
        count = int(len(candidates) * self.poison_fraction)
        generator = torch.Generator().manual_seed(self.seed)
        chosen = candidates[torch.randperm(len(candidates), generator=generator)[:count]]
        poisoned = apply_trigger(x[chosen], size=self.size, value=self.value)
        labels = torch.full((count,), self.target, dtype=y.dtype)
        return torch.cat([x, poisoned]), torch.cat([y, labels])

    def scale(self, context: TamperContext) -> float:
        """gamma: `boost` when set, else n / eta."""
        return self.boost if self.boost is not None else context.num_proposers / self.eta

    def tamper(
        self, update: torch.Tensor, *, global_params: torch.Tensor, context: TamperContext
    ) -> torch.Tensor:
        return global_params + self.scale(context) * (update - global_params)


class GarbageText(ProposerBehaviour):
    """Trains a language model's adapter on garbage: its private text's tokens shuffled
    (`mode="shuffle"`: the byte frequencies kept, every word and sentence destroyed) or
    uniformly random tokens (`mode="random"`)."""

    name = "garbage_text"

    def __init__(self, *, mode: str = "shuffle", seed: int = 0, num_classes: int = 259) -> None:
        if mode not in ("shuffle", "random"):
            raise ValueError(f"mode must be 'shuffle' or 'random', got {mode!r}")
        self.mode, self.seed, self.vocab = mode, seed, num_classes

    def training_data(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(self.seed)
        if self.mode == "random":
            garbage = torch.randint(3, self.vocab, x.shape, generator=generator, dtype=x.dtype)
        else:
            flat = x.reshape(-1)
            garbage = flat[torch.randperm(flat.numel(), generator=generator)].reshape(x.shape)
        return garbage, garbage
