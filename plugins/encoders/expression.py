"""The expression network of the motion encoder, and the face alignment that feeds it.

ARCHITECTURE_FACTS §4 step 6.

Alignment (:func:`align_face`): from the head pose theta ``(B, 4, 4)`` take ``A = inv(theta)``
restricted to rows/columns (0, 1, 3) (the 2D affine of the x/y plane, translation in the last
column), zoom by ``A @ diag(zoom, zoom, 1)`` (zoom 0.5: a 2x magnification), map the homogeneous
points ``(u, v, 1)`` of a ``size x size`` identity grid (``linspace(-1, 1)``, u fastest) to
``A @ (u, v, 1)`` and ``grid_sample`` the image there (bilinear, zeros padding,
``align_corners=False``, the torch defaults the release uses with a linspace grid).

Network (:class:`ExpressionNet`): ImageNet mean/std -> ResNet-18 (GroupNorm) trunk
``(B, 512, 4, 4)`` -> ``fc`` 1x1 conv 512 -> 128 (no bias) -> Dropout(0.2, training only) ->
adaptive average pool 4x4 -> flatten (channel-major, 2048) -> ``head`` Linear 2048 -> 128
(no bias) -> expression latent z ``(B, 128)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from emoportraits_core.geometry import invert_affine

from ..backbones import build_backbone
from ._common import ImageNetNormalize

__all__ = ["ExpressionNet", "align_face", "alignment_affine"]


def alignment_affine(theta: Tensor, zoom: float) -> Tensor:
    """``theta (B, 4, 4)`` head pose -> ``(B, 3, 3)`` 2D affine ``inv(theta)[(0,1,3)][:, (0,1,3)] @
    diag(zoom, zoom, 1)`` acting on column vectors ``(u, v, 1)``."""
    keep = [0, 1, 3]
    inv = invert_affine(theta, check=False)[..., keep, :][..., :, keep]
    zoom_m = torch.diag(torch.tensor([zoom, zoom, 1.0], dtype=theta.dtype, device=theta.device))
    return inv @ zoom_m


def align_face(image: Tensor, theta: Tensor, grid: Tensor, zoom: float) -> Tensor:
    """Crop the head-pose-aligned face.

    Args:
        image: ``(B, 3, H, W)`` in [0, 1].
        theta: ``(B, 4, 4)`` head pose (scale, rotation, translation).
        grid: ``(1, S * S, 3)`` homogeneous identity grid ``(u, v, 1)``, u fastest.
        zoom: grid scale before the affine (0.5 in the release: 2x magnification).

    Returns:
        ``(B, 3, S, S)`` aligned face, in [0, 1] (zeros outside the image), in ``image``'s dtype
        (computed in float32 at least).
    """
    size = math.isqrt(grid.shape[1])
    # Sampling positions need float32 at least: in bfloat16 they would be off by ~2 pixels at 512.
    work = image.dtype if image.dtype in (torch.float32, torch.float64) else torch.float32
    affine = alignment_affine(theta.to(work), zoom)
    points = grid.to(work) @ affine.transpose(-1, -2)  # (B, S*S, 3): A @ (u, v, 1)
    sample = points[..., :2].reshape(theta.shape[0], size, size, 2)
    out = F.grid_sample(image.to(work), sample, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.to(image.dtype)


class ExpressionNet(nn.Module):
    """Aligned face ``(B, 3, S, S)`` in [0, 1] -> expression latent ``(B, expression_dim)``.

    Args:
        backbone: backbone name (``resnet18`` in the release).
        backbone_config: its config values.
        channels: output channels of the 1x1 ``fc`` projection (128).
        pool_size: adaptive pooling side (4); ``head`` sees ``channels * pool_size**2`` inputs.
        expression_dim: Z (128).
        dropout: dropout probability after ``fc`` (training only).
    """

    def __init__(
        self,
        backbone: str,
        backbone_config: Mapping[str, Any],
        *,
        channels: int,
        pool_size: int,
        expression_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.pool_size = pool_size
        self.normalize = ImageNetNormalize()
        self.backbone = build_backbone(backbone, backbone_config, where=f"expression backbone '{backbone}'")
        self.fc = nn.Conv2d(self.backbone.out_channels, channels, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels * pool_size * pool_size, expression_dim, bias=False)

    def forward(self, aligned: Tensor) -> Tensor:
        """``aligned (B, 3, S, S)`` in [0, 1] -> ``z (B, expression_dim)``."""
        h = self.dropout(self.fc(self.backbone(self.normalize(aligned))))
        h = F.adaptive_avg_pool2d(h, self.pool_size)
        return self.head(torch.flatten(h, 1))
