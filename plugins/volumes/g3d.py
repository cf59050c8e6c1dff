"""G3D, the canonical-volume U-Net of EMOPortraits (ARCHITECTURE_FACTS section 4, step 11).

Encoder: trilinear depth up-sampling (x``depth_upsample``), then 3D res blocks; the output of each
is kept as a skip feature ``f_i`` and average-pooled by ``pools[i]`` before the next block.
Decoder: starts from a LEARNED CONSTANT ``input_tensor (1, C_last, *input_size)`` (the encoder's
deepest feature enters only through its skip); per level: trilinear resize to ``f_i``'s size, add
``skip_blocks[k](f_i)`` (a res block), then an up res block that reduces channels. Finally average
pooling over depth by ``depth_upsample`` and a head GN + ReLU + 1x1 Conv3d (bias).

Release sizes: (96, 16, 64, 64) -> (32, 64, 64) -> f0 192ch @ (32, 64, 64) -> f1 384ch @
(32, 32, 32) -> f2 512ch @ (16, 16, 16); decoder 512ch @ 8^3 -> 16^3 -> 384ch -> 32^3 -> 192ch ->
(32, 64, 64) -> 96ch -> (16, 64, 64). Trilinear resizes use ``align_corners=False``.
"""

from __future__ import annotations

import itertools

import attrs
import torch
import torch.nn.functional as F
from einops import reduce
from torch import Tensor, nn

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import VolumeProcessor

from ..blocks import ResBlock

__all__ = ["G3D", "G3DConfig"]

Size3 = tuple[int, int, int]


def _resize(x: Tensor, size: tuple[int, ...]) -> Tensor:
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="trilinear", align_corners=False)


def _avg_pool(x: Tensor, kernel: Size3) -> Tensor:
    """Non-overlapping average pooling (= ``F.avg_pool3d(x, kernel)`` for divisible sizes; any dtype)."""
    kd, kh, kw = kernel
    return reduce(x, "b c (d kd) (h kh) (w kw) -> b c d h w", "mean", kd=kd, kh=kh, kw=kw)


@attrs.frozen
class G3DConfig:
    """Config of :class:`G3D` (defaults: the release).

    Attributes:
        channels: C of the input and output volume (96).
        depth, size: D and H = W of the volume (16, 64).
        depth_upsample: depth factor of the first resize, undone by the final depth pooling (2).
        down_channels: output channels of the encoder res blocks (192, 384, 512).
        pools: (D, H, W) average-pool kernels between encoder blocks, one fewer than blocks.
        input_size: (D, H, W) of the learned constant the decoder starts from (8, 8, 8).
        num_groups: group-norm groups (32).
    """

    channels: int = 96
    depth: int = 16
    size: int = 64
    depth_upsample: int = 2
    down_channels: tuple[int, ...] = (192, 384, 512)
    pools: tuple[Size3, ...] = ((1, 2, 2), (2, 2, 2))
    input_size: Size3 = (8, 8, 8)
    num_groups: int = 32

    def __attrs_post_init__(self) -> None:
        if len(self.pools) != len(self.down_channels) - 1:
            raise ValueError(
                f"pools {self.pools} must have one entry fewer than down_channels {self.down_channels}"
            )
        for c in (self.channels, *self.down_channels):
            if c % self.num_groups:
                raise ValueError(f"channels {c} are not divisible by num_groups={self.num_groups}")
        size = (self.depth * self.depth_upsample, self.size, self.size)
        for pool in self.pools:
            if any(s % p for s, p in zip(size, pool)):
                raise ValueError(f"pool {pool} does not divide the size {size} (pools {self.pools})")
            size = tuple(s // p for s, p in zip(size, pool))

    def skip_sizes(self) -> list[Size3]:
        """(D, H, W) of the skip features ``f_0 .. f_n`` for this config."""
        size = (self.depth * self.depth_upsample, self.size, self.size)
        sizes = [size]
        for pool in self.pools:
            size = tuple(s // p for s, p in zip(size, pool))
            sizes.append(size)
        return sizes


class G3D(VolumeProcessor):
    """Canonical volume ``(B, C, D, H, W)`` -> processed canonical volume ``(B, C, D, H, W)``."""

    def __init__(self, config: G3DConfig) -> None:
        super().__init__(config)
        c = config
        g = c.num_groups
        chans = (c.channels, *c.down_channels)
        self.down_blocks = nn.ModuleList(
            ResBlock(3, cin, cout, num_groups=g) for cin, cout in itertools.pairwise(chans)
        )
        self.input_tensor = nn.Parameter(torch.randn(1, chans[-1], *c.input_size))
        up = chans[::-1]  # (512, 384, 192, 96)
        self.skip_blocks = nn.ModuleList(ResBlock(3, ch, ch, num_groups=g) for ch in up[:-1])
        self.up_blocks = nn.ModuleList(
            ResBlock(3, cin, cout, num_groups=g) for cin, cout in itertools.pairwise(up)
        )
        self.head_norm = nn.GroupNorm(g, c.channels, eps=1e-5)
        self.head_conv = nn.Conv3d(c.channels, c.channels, 1, bias=True)

    def _specs(self) -> dict[str, PortSpec]:
        c = self.config
        return {"volume": PortSpec("volume", ("B", c.channels, c.depth, c.size, c.size))}

    def input_specs(self) -> dict[str, PortSpec]:
        return self._specs()

    def output_specs(self) -> dict[str, PortSpec]:
        return self._specs()

    def encode(self, volume: Tensor) -> list[Tensor]:
        """``volume (B, C, D, H, W)`` -> skip features ``[f_0, ..., f_n]`` (see :meth:`G3DConfig.skip_sizes`)."""
        c = self.config
        x = _resize(volume, (volume.shape[2] * c.depth_upsample, *volume.shape[3:]))
        feats = []
        for i, block in enumerate(self.down_blocks):
            if i > 0:
                x = _avg_pool(x, c.pools[i - 1])
            x = block(x)
            feats.append(x)
        return feats

    def decode(self, feats: list[Tensor]) -> Tensor:
        """Skip features -> output volume ``(B, C, D, H, W)``."""
        c = self.config
        x = self.input_tensor.expand(feats[0].shape[0], *self.input_tensor.shape[1:])
        for skip_block, up_block, f in zip(self.skip_blocks, self.up_blocks, reversed(feats)):
            x = _resize(x, f.shape[2:]) + skip_block(f)
            x = up_block(x)
        x = _avg_pool(x, (c.depth_upsample, 1, 1))
        return self.head_conv(F.relu(self.head_norm(x)))

    def forward(self, volume: Tensor) -> Tensor:
        return self.decode(self.encode(volume))
