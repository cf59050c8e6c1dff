"""Group norm with a per-sample affine (adaptive group norm, as in the EMOPortraits warp generators).

As the release computes it (checked against the parity reference; ARCHITECTURE_FACTS section 4
step 8 only says "GN weight/bias + delta"), the norm's own affine is applied TWICE::

    y = GN(x) * weight + bias                                  # an ordinary affine group norm
    out = y * (weight + d_scale) + (bias + d_shift)           # then the per-sample affine

where ``delta = (d_scale, d_shift)`` comes per sample from a conditioning embedding (see
:class:`~emoportraits_plugins.blocks.low_rank_projector.LowRankProjector`). ``delta=None`` means a
zero delta.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AdaptiveGroupNorm"]


class AdaptiveGroupNorm(nn.Module):
    """Group norm whose affine is shifted per sample (release formula, see the module docstring).

    Args:
        num_groups: groups (32 in the release).
        num_channels: C.
        eps: 1e-5 in the release.

    Shapes: ``x (B, C, *spatial)``; ``delta (B, C, 2)``: column 0 is added to the scale, column 1 to
    the shift; or None (zero delta).
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: Tensor, delta: Tensor | None = None) -> Tensor:
        y = F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
        view = (-1, self.num_channels) + (1,) * (x.dim() - 2)
        if delta is None:
            return y * self.weight.view(view) + self.bias.view(view)
        scale = (self.weight[None] + delta[..., 0]).view(view)
        shift = (self.bias[None] + delta[..., 1]).view(view)
        return y * scale + shift

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}"
