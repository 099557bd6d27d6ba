"""A named-tensor layout: which named tensors a flat update vector is made of, in order (a LoRA
adapter's peft names and shapes). An update blob of a model with a layout stores each tensor
under its name and names the layout's digest, which the training spec fixes."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TensorLayout:
    """Names and shapes of the tensors of a flat vector, in the vector's order.

    Attributes
    ----------
    entries : tuple of (str, tuple of int)
        Each tensor's name and shape; names are unique, every dimension >= 1.
    """

    entries: tuple[tuple[str, tuple[int, ...]], ...]

    def __post_init__(self) -> None:
        names = [name for name, _ in self.entries]
        if not names:
            raise ValueError("a tensor layout needs at least one tensor")
        if len(set(names)) != len(names):
            raise ValueError("a tensor layout must not repeat a name")
        for name, shape in self.entries:
            if not isinstance(name, str) or not name:
                raise ValueError(f"tensor names must be non-empty strings, got {name!r}")
            if not shape or not all(isinstance(d, int) and d >= 1 for d in shape):
                raise ValueError(f"tensor {name!r} has shape {shape!r}: dimensions must be >= 1")

    @classmethod
    def of(cls, named: Iterable[tuple[str, torch.Tensor]]) -> TensorLayout:
        """The layout of `named` tensors (e.g. a module's trainable parameters, in order)."""
        return cls(tuple((name, tuple(int(d) for d in t.shape)) for name, t in named))

    @property
    def numel(self) -> int:
        """Elements of the flat vector."""
        return sum(math.prod(shape) for _, shape in self.entries)

    def to_json(self) -> str:
        """The layout as JSON: ``[[name, [dims...]], ...]`` in order (what the digest hashes)."""
        return json.dumps([[name, list(shape)] for name, shape in self.entries])

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of :meth:`to_json`: the layout's name in blobs and in the spec."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> TensorLayout:
        """Parse :meth:`to_json`'s output (untrusted: a blob's header).

        Raises
        ------
        ValueError
            Not a list of ``[name, [dims...]]`` pairs, or not a valid layout.
        """
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"unreadable tensor layout: {exc}") from None
        if not isinstance(raw, list) or not all(
            isinstance(e, list) and len(e) == 2 and isinstance(e[1], list) for e in raw
        ):
            raise ValueError("a tensor layout is a list of [name, [dims...]] pairs")
        return cls(tuple((e[0], tuple(e[1])) for e in raw))

    def split(self, vector: torch.Tensor) -> dict[str, torch.Tensor]:
        """The named tensors of flat `vector` (contiguous copies)."""
        if vector.ndim != 1 or vector.numel() != self.numel:
            raise ValueError(
                f"a vector of shape {tuple(vector.shape)} does not fill a layout of {self.numel}"
            )
        out, start = {}, 0
        for name, shape in self.entries:
            size = math.prod(shape)
            out[name] = vector[start : start + size].reshape(shape).clone()
            start += size
        return out

    def join(self, tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The flat vector of named `tensors`, in the layout's order.

        Raises
        ------
        ValueError
            Names other than the layout's, or a tensor of another shape.
        """
        if set(tensors) != {name for name, _ in self.entries}:
            extra = sorted(set(tensors) - {n for n, _ in self.entries})
            missing = sorted({n for n, _ in self.entries} - set(tensors))
            raise ValueError(f"tensors do not match the layout (extra {extra}, missing {missing})")
        parts = []
        for name, shape in self.entries:
            if tuple(tensors[name].shape) != shape:
                raise ValueError(
                    f"tensor {name!r} has shape {tuple(tensors[name].shape)}, layout says {shape}"
                )
            parts.append(tensors[name].reshape(-1))
        return torch.cat(parts)
