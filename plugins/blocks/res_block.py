"""The pre-activation residual block used throughout EMOPortraits, in 2D or 3D.

Main path: ``norm1 -> ReLU -> conv1 (k3) -> norm2 -> ReLU -> conv2 (k3) [-> avg-pool]``;
skip path: ``[1x1 conv if C_in != C_out] [-> avg-pool]``; output = main + skip. With ``upsample``
the input is first resized (nearest) and both paths start from that. The norms are group norms or
:class:`AdaptiveGroupNorm` s (then ``forward`` takes their per-sample deltas).

Only ``conv1`` may have a bias: in the release the convolutions that follow a group norm were
weight-standardised convolutions with a bias, the others spectral-normalised without one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from .adaptive_group_norm import AdaptiveGroupNorm

__all__ = ["ResBlock"]

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_POOL = {2: F.avg_pool2d, 3: F.avg_pool3d}


class ResBlock(nn.Module):
    """Pre-activation residual block.

    Args:
        dims: 2 or 3.
        in_channels, out_channels: C_in, C_out.
        num_groups: group-norm groups (32 in the release).
        adaptive: use :class:`AdaptiveGroupNorm` for both norms.
        conv1_bias: give ``conv1`` a bias.
        downsample: average-pool kernel (= stride) applied at the end of both paths, e.g. 2 or
            ``(1, 2, 2)``; None for no pooling.
        upsample: nearest-neighbour scale factor applied to the input first; None for none.

    Shapes: ``x (B, C_in, *S)`` -> ``(B, C_out, *S')`` with S' = S * upsample / downsample.
    """

    def __init__(
        self,
        dims: int,
        in_channels: int,
        out_channels: int,
        *,
        num_groups: int = 32,
        adaptive: bool = False,
        conv1_bias: bool = False,
        downsample: int | Sequence[int] | None = None,
        upsample: float | None = None,
    ) -> None:
        super().__init__()
        conv = _CONV[dims]
        norm = AdaptiveGroupNorm if adaptive else nn.GroupNorm
        self.dims, self.adaptive = dims, adaptive
        self.downsample = tuple(downsample) if isinstance(downsample, Sequence) else downsample
        self.upsample = upsample
        self.norm1 = norm(num_groups, in_channels, eps=1e-5)
        self.conv1 = conv(in_channels, out_channels, 3, padding=1, bias=conv1_bias)
        self.norm2 = norm(num_groups, out_channels, eps=1e-5)
        self.conv2 = conv(out_channels, out_channels, 3, padding=1, bias=False)
        self.skip = conv(in_channels, out_channels, 1, bias=False) if in_channels != out_channels else None

    def forward(self, x: Tensor, deltas: Sequence[Tensor] | None = None) -> Tensor:
        """``deltas``: the two ``(B, C, 2)`` adaptive-norm deltas (norm1, norm2) when ``adaptive``."""
        if self.upsample is not None:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        d1, d2 = deltas if deltas is not None else (None, None)
        h = self.norm1(x, d1) if self.adaptive else self.norm1(x)
        h = self.conv1(F.relu(h))
        h = self.norm2(h, d2) if self.adaptive else self.norm2(h)
        h = self.conv2(F.relu(h))
        s = x if self.skip is None else self.skip(x)
        if self.downsample is not None:
            pool = _POOL[self.dims]
            h, s = pool(h, self.downsample), pool(s, self.downsample)
        return h + s
