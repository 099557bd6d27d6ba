"""Small torch models for the federated tasks and flat-parameter-vector helpers."""

from __future__ import annotations

import torch
from torch import nn


def _require_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


class MLP(nn.Module):
    """One-hidden-layer perceptron; flattens its input, so image tensors work too.

    Parameters
    ----------
    in_features : int
        Number of input features after flattening (e.g. 64 for 1x8x8 digits).
    hidden : int
        Width of the hidden layer.
    num_classes : int
        Number of output logits.
    """

    def __init__(self, *, in_features: int, hidden: int = 64, num_classes: int) -> None:
        super().__init__()
        _require_positive(in_features=in_features, hidden=hidden, num_classes=num_classes)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits of shape ``(batch, num_classes)``."""
        return self.net(x)


class SmallCNN(nn.Module):
    """Two 'same'-padded conv layers, a max-pool and a linear classifier for tiny images.

    Defaults fit the 1x8x8 sklearn digits (about 5k parameters).

    Parameters
    ----------
    num_classes : int
        Number of output logits.
    channels : int
        Channels of both convolutional layers.
    in_channels : int
        Channels of the input image.
    image_size : int
        Height and width of the (square) input image.
    kernel_size : int
        Odd convolution kernel size (padding keeps the spatial size).
    pool : int
        Max-pool window and stride applied after the convolutions.
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        channels: int = 16,
        in_channels: int = 1,
        image_size: int = 8,
        kernel_size: int = 3,
        pool: int = 2,
    ) -> None:
        super().__init__()
        _require_positive(
            num_classes=num_classes,
            channels=channels,
            in_channels=in_channels,
            image_size=image_size,
            kernel_size=kernel_size,
            pool=pool,
        )
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if pool > image_size:
            raise ValueError(f"pool ({pool}) must not exceed image_size ({image_size})")
        padding = kernel_size // 2
        pooled = image_size // pool
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, channels, kernel_size, padding=padding),
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size, padding=padding),
            nn.ReLU(),
            nn.MaxPool2d(pool),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * pooled * pooled, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits of shape ``(batch, num_classes)`` for input ``(batch, C, H, W)``."""
        return self.classifier(self.features(x))


def num_params(model: nn.Module) -> int:
    """Return the total number of scalar parameters of ``model`` (buffers excluded).

    Parameters
    ----------
    model : torch.nn.Module
        Any module.

    Returns
    -------
    int
        Length of the vector produced by :func:`flatten_params`.
    """
    return sum(p.numel() for p in model.parameters())


def flatten_params(model: nn.Module) -> torch.Tensor:
    """Concatenate all parameters into one detached 1-D float32 copy.

    The layout is the order of ``model.named_parameters()`` (registration order),
    each tensor flattened row-major. Buffers (e.g. batch-norm statistics) are not
    included. :func:`load_flat_params` and :func:`unflatten_params` use the same
    layout, so two models of the same architecture share it.

    Parameters
    ----------
    model : torch.nn.Module
        Model whose parameters are read.

    Returns
    -------
    torch.Tensor
        Float32 tensor of shape ``(num_params(model),)`` on the model's device,
        independent of the model's storage.
    """
    params = [p.detach().reshape(-1).to(torch.float32) for p in model.parameters()]
    if not params:
        return torch.empty(0, dtype=torch.float32)
    return torch.cat(params)


def unflatten_params(model: nn.Module, flat: torch.Tensor) -> dict[str, torch.Tensor]:
    """Split flat vector(s) into named tensors shaped like ``model``'s parameters.

    Parameters
    ----------
    model : torch.nn.Module
        Model that defines names, shapes and layout (see :func:`flatten_params`).
    flat : torch.Tensor
        Shape ``(..., num_params(model))``; leading dimensions are kept, so a stack
        ``(k, d)`` yields tensors of shape ``(k, *param.shape)``.

    Returns
    -------
    dict of str to torch.Tensor
        Views into ``flat`` keyed by parameter name.

    Raises
    ------
    ValueError
        If the last dimension does not equal ``num_params(model)``.
    """
    named = list(model.named_parameters())
    expected = sum(p.numel() for _, p in named)
    if flat.ndim < 1 or flat.shape[-1] != expected:
        raise ValueError(
            f"flat parameters must end in a dimension of {expected}, got shape {tuple(flat.shape)}"
        )
    lead = flat.shape[:-1]
    pieces = torch.split(flat, [p.numel() for _, p in named], dim=-1)
    return {
        name: piece.reshape(*lead, *p.shape) for (name, p), piece in zip(named, pieces, strict=True)
    }


def load_flat_params(model: nn.Module, flat: torch.Tensor) -> None:
    """Overwrite ``model``'s parameters in place from a flat vector.

    Parameters
    ----------
    model : torch.nn.Module
        Model to update.
    flat : torch.Tensor
        1-D float32 tensor in the :func:`flatten_params` layout.

    Raises
    ------
    ValueError
        If ``flat`` is not a 1-D float32 tensor of length ``num_params(model)``, or
        contains NaN/inf. The model is left untouched in that case.
    """
    if not isinstance(flat, torch.Tensor):
        raise ValueError(f"expected a torch.Tensor, got {type(flat).__name__}")
    if flat.dtype != torch.float32:
        raise ValueError(f"expected float32 parameters, got {flat.dtype}")
    if flat.ndim != 1:
        raise ValueError(f"expected a 1-D vector, got shape {tuple(flat.shape)}")
    expected = num_params(model)
    if flat.numel() != expected:
        raise ValueError(f"expected {expected} parameters, got {flat.numel()}")
    if not bool(torch.isfinite(flat).all()):
        raise ValueError("parameter vector contains NaN/inf")
    with torch.no_grad():
        for param, value in zip(
            model.parameters(), unflatten_params(model, flat).values(), strict=True
        ):
            param.copy_(value)
