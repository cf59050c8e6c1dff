"""Helpers shared by the identity and motion encoders (constants that follow from the architecture)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ImageNetNormalize", "identity_grid_2d"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageNetNormalize(nn.Module):
    """``x (B, 3, H, W)`` in [0, 1] -> ``(x - mean) / std`` with ImageNet statistics.

    ``mean`` / ``std`` are ``(1, 3, 1, 1)`` non-persistent buffers (not in the state dict; the
    released checkpoint's copies are checked equal by the converter).
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


def identity_grid_2d(size: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """``(1, size * size, 3)`` homogeneous points ``(u, v, 1)``, u = column (fastest), v = row,
    each ``torch.linspace(-1, 1, size)`` (the release's ``identity_grid`` buffers)."""
    lin = torch.linspace(-1, 1, size, dtype=dtype)
    v, u = torch.meshgrid(lin, lin, indexing="ij")
    return torch.stack([u, v, torch.ones_like(u)], dim=-1).reshape(1, size * size, 3)
