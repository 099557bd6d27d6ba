"""Local training and (batched) evaluation of classification models (and the dispatch to a
model that trains and evaluates itself, such as the LoRA language model)."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from flock.learning.models import num_params, unflatten_params

logger = logging.getLogger(__name__)

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
METRICS: tuple[str, ...] = ("accuracy", "loss")


def _check_data(x: torch.Tensor, y: torch.Tensor) -> None:
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {tuple(y.shape)}")
    if len(x) != len(y):
        raise ValueError(f"features and labels disagree on sample count: {len(x)} != {len(y)}")
    if len(y) == 0:
        raise ValueError("need at least one sample")


def _make_optimizer(
    name: str, params: list[nn.Parameter], *, lr: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        if momentum != 0.0:
            raise ValueError("momentum applies to optimizer='sgd' only")
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")


def train_local(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    optimizer: str = "sgd",
    momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> float:
    """Train ``model`` in place with cross-entropy on mini-batches.

    Deterministic for a given ``seed``: batches are shuffled with a dedicated
    ``torch.Generator``, and any stochastic layers draw from a forked global RNG
    seeded with ``seed`` (the caller's RNG state is restored afterwards).

    Parameters
    ----------
    model : torch.nn.Module
        Classifier producing logits; its train/eval mode is restored on return.
    x : torch.Tensor
        Features, first dimension = samples.
    y : torch.Tensor
        Int64 class labels of shape ``(n,)``.
    epochs : int
        Passes over the data (>= 1).
    lr : float
        Learning rate (> 0).
    batch_size : int
        Mini-batch size (>= 1); the last batch of an epoch may be smaller.
    seed : int
        Seed for shuffling and stochastic layers.
    optimizer : {"sgd", "adam"}
        Optimizer; a fresh one is created for every call.
    momentum : float
        SGD momentum (must be 0 for adam).
    weight_decay : float
        L2 penalty passed to the optimizer.

    Returns
    -------
    float
        Mean per-sample training loss over the last epoch.
    """
    _check_data(x, y)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    opt = _make_optimizer(
        optimizer, list(model.parameters()), lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    n = len(y)
    was_training = model.training
    model.train()
    epoch_loss = float("nan")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for epoch in range(epochs):
                order = torch.randperm(n, generator=generator).to(x.device)
                total = 0.0
                for start in range(0, n, batch_size):
                    batch = order[start : start + batch_size]
                    opt.zero_grad(set_to_none=True)
                    loss = loss_fn(model(x[batch]), y[batch])
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(batch)
                epoch_loss = total / n
                logger.debug("epoch %d/%d: mean loss %.4f", epoch + 1, epochs, epoch_loss)
    finally:
        model.train(was_training)
    return epoch_loss


def train_model(model: nn.Module, x: torch.Tensor, y: torch.Tensor, **spec: Any) -> float:
    """Train `model` in place by the training spec's keyword arguments: with its own
    ``fit_local`` when it has one (the LoRA language model: steps, not epochs), else with
    :func:`train_local` (``steps`` is then ignored: classification trains by epochs)."""
    fit = getattr(model, "fit_local", None)
    if fit is not None:
        return float(fit(x, y, **spec))
    spec.pop("steps", None)
    return train_local(model, x, y, **spec)


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1024
) -> float:
    """Return the classification accuracy of ``model`` on ``(x, y)``.

    Parameters
    ----------
    model : torch.nn.Module
        Classifier producing logits; evaluated in eval mode, mode restored after.
    x : torch.Tensor
        Features, first dimension = samples.
    y : torch.Tensor
        Int64 labels of shape ``(n,)``.
    batch_size : int
        Samples per forward pass (bounds memory only; the result does not depend on it).

    Returns
    -------
    float
        Fraction of correctly classified samples, in ``[0, 1]``.
    """
    _check_data(x, y)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    was_training = model.training
    model.eval()
    correct = 0
    try:
        with torch.no_grad():
            for start in range(0, len(y), batch_size):
                logits = model(x[start : start + batch_size])
                correct += int((logits.argmax(dim=-1) == y[start : start + batch_size]).sum())
    finally:
        model.train(was_training)
    return correct / len(y)


def evaluate_many(
    model: nn.Module,
    flat_params: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 1024,
    metric: str = "accuracy",
) -> torch.Tensor:
    """Accuracies (or mean cross-entropy losses) of ``k`` parameter vectors on the same data in
    one vectorised pass.

    The ``k`` vectors are unflattened into stacked parameter tensors and evaluated
    with ``torch.vmap`` over ``torch.func.functional_call`` on ``model``'s
    architecture; ``model``'s own parameters are neither used nor modified.

    Parameters
    ----------
    model : torch.nn.Module
        Defines the architecture and the flat layout (see ``flock.learning.models.flatten_params``).
    flat_params : torch.Tensor
        Float32 tensor of shape ``(k, num_params(model))``.
    x : torch.Tensor
        Features, first dimension = samples.
    y : torch.Tensor
        Int64 labels of shape ``(n,)``.
    batch_size : int
        Samples per vectorised pass (bounds memory; all ``k`` models share each pass).
    metric : {"accuracy", "loss"}
        What to measure: accuracy, or the mean per-sample cross-entropy (nats). A model with
        its own ``evaluate_many`` (the LoRA language model) is asked instead.

    Returns
    -------
    torch.Tensor
        Float64 tensor of shape ``(k,)``; for accuracy, entry ``i`` equals
        ``evaluate(model_with(flat_params[i]), x, y)``.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(METRICS)}")
    own = getattr(model, "evaluate_many", None)
    if own is not None:
        return own(flat_params, x, y, metric=metric)
    _check_data(x, y)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    expected = num_params(model)
    if flat_params.ndim != 2 or flat_params.shape[1] != expected:
        raise ValueError(
            f"flat_params must have shape (k, {expected}), got {tuple(flat_params.shape)}"
        )
    if flat_params.dtype != torch.float32:
        raise ValueError(f"flat_params must be float32, got {flat_params.dtype}")
    k = flat_params.shape[0]
    if k == 0:
        return torch.zeros(0, dtype=torch.float64)
    stacked = unflatten_params(model, flat_params.to(x.device))
    buffers = dict(model.named_buffers())

    def logits_of(params: dict[str, torch.Tensor], xb: torch.Tensor) -> torch.Tensor:
        return functional_call(model, (params, buffers), (xb,))

    batched = torch.vmap(logits_of, in_dims=(0, None))
    was_training = model.training
    model.eval()
    correct = torch.zeros(k, dtype=torch.int64, device=x.device)
    loss_sum = torch.zeros(k, dtype=torch.float64, device=x.device)
    try:
        with torch.no_grad():
            for start in range(0, len(y), batch_size):
                logits = batched(stacked, x[start : start + batch_size])  # (k, b, classes)
                yb = y[start : start + batch_size]
                if metric == "loss":
                    log_p = torch.log_softmax(logits.to(torch.float64), dim=-1)
                    picked = log_p.gather(-1, yb.expand(k, -1).unsqueeze(-1)).squeeze(-1)
                    loss_sum -= picked.sum(dim=1)
                else:
                    correct += (logits.argmax(dim=-1) == yb).sum(dim=1)
    finally:
        model.train(was_training)
    if metric == "loss":
        return loss_sum.cpu() / len(y)
    return correct.cpu().to(torch.float64) / len(y)
