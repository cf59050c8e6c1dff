"""Helpers shared by the identity and motion encoders (constants that follow from the architecture).

ImageNet normalisation lives in :mod:`emoportraits_core.normalize` (re-exported here; the released
checkpoint's copies of its buffers are checked equal by the converter).
"""

from __future__ import annotations

import torch
from torch import Tensor

from emoportraits_core.normalize import IMAGENET_MEAN, IMAGENET_STD, ImageNetNormalize

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ImageNetNormalize", "identity_grid_2d"]


def identity_grid_2d(size: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """``(1, size * size, 3)`` homogeneous points ``(u, v, 1)``, u = column (fastest), v = row,
    each ``torch.linspace(-1, 1, size)`` (the release's ``identity_grid`` buffers)."""
    lin = torch.linspace(-1, 1, size, dtype=dtype)
    v, u = torch.meshgrid(lin, lin, indexing="ij")
    return torch.stack([u, v, torch.ones_like(u)], dim=-1).reshape(1, size * size, 3)
