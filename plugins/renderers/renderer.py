"""The EMOPortraits renderer G2D: volume -> image (ARCHITECTURE_FACTS section 4, steps 16-17).

Projection: depth folded into channels, ``(B, C, D, H, W) -> (B, C * D, H, W)`` (channel index
``c * D + d``; no volume rendering). Trunk: 1x1 conv (no bias) to ``channels`` + ``num_blocks`` 2D
res blocks. Image decoder: per stage ``blocks_per_resolution`` res blocks, the first with nearest x2
up-sampling; head GN + ReLU + 1x1 conv (bias) + sigmoid. Res blocks have a bias on their first conv
(the release's weight-standardised convs).
"""

from __future__ import annotations

import attrs
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Renderer

from ..blocks import ResBlock

__all__ = ["VolumeRenderer", "VolumeRendererConfig"]


@attrs.frozen
class VolumeRendererConfig:
    """Config of :class:`VolumeRenderer` (defaults: the release).

    Attributes:
        volume_channels, volume_depth, volume_size: the input volume (96, 16, 64).
        channels: width of the 2D trunk (512).
        num_blocks: res blocks of the trunk (6).
        decoder_channels: output channels of the image-decoder stages, each x2 in size (320, 192, 128).
        blocks_per_resolution: res blocks per stage (2).
        num_groups: group-norm groups (32).
    """

    volume_channels: int = 96
    volume_depth: int = 16
    volume_size: int = 64
    channels: int = 512
    num_blocks: int = 6
    decoder_channels: tuple[int, ...] = (320, 192, 128)
    blocks_per_resolution: int = 2
    num_groups: int = 32

    def __attrs_post_init__(self) -> None:
        if self.blocks_per_resolution < 1 or not self.decoder_channels:
            raise ValueError("need at least one decoder stage and one block per resolution")
        for c in (self.channels, *self.decoder_channels):
            if c % self.num_groups:
                raise ValueError(f"channels {c} are not divisible by num_groups={self.num_groups}")

    @property
    def image_size(self) -> int:
        """Side of the output image (512 for the release)."""
        return self.volume_size * 2 ** len(self.decoder_channels)


class VolumeRenderer(Renderer):
    """``volume (B, C, D, H, W)`` -> ``image (B, 3, S, S)`` in [0, 1], S = H * 2^stages."""

    def __init__(self, config: VolumeRendererConfig) -> None:
        super().__init__(config)
        c = config
        g = c.num_groups
        self.project = nn.Conv2d(c.volume_channels * c.volume_depth, c.channels, 1, bias=False)
        self.blocks = nn.Sequential(
            *(ResBlock(2, c.channels, c.channels, num_groups=g, conv1_bias=True) for _ in range(c.num_blocks))
        )
        up: list[nn.Module] = []
        cin = c.channels
        for cout in c.decoder_channels:
            up.append(ResBlock(2, cin, cout, num_groups=g, conv1_bias=True, upsample=2))
            up += [
                ResBlock(2, cout, cout, num_groups=g, conv1_bias=True)
                for _ in range(c.blocks_per_resolution - 1)
            ]
            cin = cout
        self.up_blocks = nn.Sequential(*up)
        self.head_norm = nn.GroupNorm(g, cin, eps=1e-5)
        self.head_conv = nn.Conv2d(cin, 3, 1, bias=True)

    def input_specs(self) -> dict[str, PortSpec]:
        c = self.config
        shape = ("B", c.volume_channels, c.volume_depth, c.volume_size, c.volume_size)
        return {"volume": PortSpec("volume", shape)}

    def output_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    def trunk(self, volume: Tensor) -> Tensor:
        """``volume (B, C, D, H, W)`` -> trunk features ``(B, channels, H, W)``."""
        return self.blocks(self.project(rearrange(volume, "b c d h w -> b (c d) h w")))

    def decode_features(self, features: Tensor) -> Tensor:
        """Trunk features -> image-decoder features ``(B, decoder_channels[-1], S, S)`` before the RGB head."""
        return self.up_blocks(features)

    def to_rgb(self, features: Tensor) -> Tensor:
        """Decoder features -> image ``(B, 3, S, S)`` in [0, 1] (sigmoid)."""
        return torch.sigmoid(self.head_conv(F.relu(self.head_norm(features))))

    def forward(self, volume: Tensor) -> Tensor:
        return self.to_rgb(self.decode_features(self.trunk(volume)))
