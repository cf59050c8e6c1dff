"""Group norm with a per-sample affine (adaptive group norm, as in the EMOPortraits warp generators).

``y = GN(x) * (weight + d_scale) + (bias + d_shift)`` where ``GN`` has no affine of its own and
``delta = (d_scale, d_shift)`` comes per sample from a conditioning embedding (see
:class:`~emoportraits_plugins.blocks.low_rank_projector.LowRankProjector`). Without ``delta`` it is
an ordinary affine group norm with the same parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AdaptiveGroupNorm"]


class AdaptiveGroupNorm(nn.Module):
    """Group norm whose affine is shifted per sample.

    Args:
        num_groups: groups (32 in the release).
        num_channels: C.
        eps: 1e-5 in the release.

    Shapes: ``x (B, C, *spatial)``; ``delta (B, C, 2)``: column 0 is added to the scale, column 1 to
    the shift; or None.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: Tensor, delta: Tensor | None = None) -> Tensor:
        if delta is None:
            return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
        y = F.group_norm(x, self.num_groups, None, None, self.eps)
        view = (x.shape[0], self.num_channels) + (1,) * (x.dim() - 2)
        scale = (self.weight[None] + delta[..., 0]).view(view)
        shift = (self.bias[None] + delta[..., 1]).view(view)
        return y * scale + shift

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}"
