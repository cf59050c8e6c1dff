"""Pieces shared by the loss components: port specs, example values, L1, a cosine that is safe at 0,
image pyramids, and running a frozen network in its own dtype."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core import InputError, PortSpec

__all__ = [
    "SCALAR",
    "cosine",
    "features_spec",
    "halve",
    "image_spec",
    "l1",
    "random_images",
    "require_same_shape",
]

#: the output spec of every loss: a () float tensor.
SCALAR = PortSpec("scalar", ())


def image_spec(size: int) -> PortSpec:
    """``(B, 3, size, size)`` RGB in [0, 1]."""
    return PortSpec("image", ("B", 3, size, size), (0.0, 1.0))


def features_spec() -> PortSpec:
    """A list (per scale) of float tensors (or of lists of them): discriminator outputs."""
    return PortSpec("features")


def random_images(
    batch: int, size: int, generator: torch.Generator | None, dtype: torch.dtype, device: torch.device | str
) -> Tensor:
    """``(batch, 3, size, size)`` uniform in [0, 1]."""
    return torch.rand(batch, 3, size, size, generator=generator, dtype=dtype).to(device)


def l1(a: Tensor, b: Tensor) -> Tensor:
    """``mean |a - b|`` over every element (a () tensor)."""
    return (a - b).abs().mean()


def cosine(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """Cosine similarity along the last dim, ``(..., E), (..., E) -> (...)``, safe at zero vectors:
    ``(a.b + eps) / sqrt((|a|^2 + eps) (|b|^2 + eps))``.

    Exactly 1 for ``a == b`` (zero vectors included), in [-1, 1] (Cauchy-Schwarz), and with finite
    gradients everywhere (the square root's argument is at least ``eps**2``). For vectors far from 0
    it equals the usual cosine to within ``eps / (|a| |b|)``.
    """
    dot = (a * b).sum(-1)
    return (dot + eps) / torch.sqrt(((a * a).sum(-1) + eps) * ((b * b).sum(-1) + eps))


def halve(x: Tensor) -> Tensor:
    """Bilinear x0.5 (``align_corners=False``), the release's pyramid step."""
    return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)


def require_same_shape(where: str, **tensors: Tensor) -> None:
    """Raise InputError unless every tensor has the same shape (named in the message)."""
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{n} {s}" for n, s in shapes.items())
        raise InputError(f"{where}: inputs must have the same shape, got {listed}")
