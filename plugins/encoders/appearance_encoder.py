"""The appearance encoder E_app of EMOPortraits (ARCHITECTURE_FACTS section 4, step 3).

Masked source image ``(B, 3, S, S)`` in [0, 1] (no normalisation) -> stem conv (k7, bias) -> 2D res
blocks, each halving the size (average pooling after its second conv; skip 1x1 conv if the channels
change, pooled too) -> GN + ReLU -> 1x1 conv (bias) to ``C * D`` channels -> viewed as the
appearance volume ``(B, C, D, S / 2^n, S / 2^n)`` with channel index ``c * D + d``.
Release: ``(B, 3, 512, 512) -> (B, 1536, 64, 64) -> (B, 96, 16, 64, 64)``.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import attrs
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Encoder

from ..blocks import ResBlock

__all__ = ["AppearanceEncoder", "AppearanceEncoderConfig"]


@attrs.frozen
class AppearanceEncoderConfig:
    """Config of :class:`AppearanceEncoder` (defaults: the release).

    Attributes:
        image_size: side S of the input image (512).
        stem_channels: output channels of the stem conv (128).
        stem_kernel: kernel of the stem conv (7; padding keeps the size).
        down_channels: output channels of the down-sampling res blocks (256, 512, 512).
        volume_channels, volume_depth: C and D of the output volume (96, 16).
        num_groups: group-norm groups (32).
    """

    image_size: int = 512
    stem_channels: int = 128
    stem_kernel: int = 7
    down_channels: tuple[int, ...] = (256, 512, 512)
    volume_channels: int = 96
    volume_depth: int = 16
    num_groups: int = 32

    def __attrs_post_init__(self) -> None:
        if self.image_size % 2 ** len(self.down_channels):
            raise ValueError(
                f"image_size {self.image_size} is not divisible by 2^{len(self.down_channels)} (one halving per block)"
            )
        if self.stem_kernel % 2 != 1:
            raise ValueError(f"stem_kernel must be odd, got {self.stem_kernel}")
        for c in (self.stem_channels, *self.down_channels):
            if c % self.num_groups:
                raise ValueError(f"channels {c} are not divisible by num_groups={self.num_groups}")

    @property
    def volume_size(self) -> int:
        """H = W of the output volume (64 for the release)."""
        return self.image_size // 2 ** len(self.down_channels)


class AppearanceEncoder(Encoder):
    """E_app: masked source ``(B, 3, S, S)`` in [0, 1] -> appearance volume ``(B, C, D, S', S')``."""

    outputs: ClassVar[dict[str, str]] = {"volume": "volume"}

    def __init__(self, config: AppearanceEncoderConfig) -> None:
        super().__init__(config)
        c = config
        self.stem = nn.Conv2d(3, c.stem_channels, c.stem_kernel, padding=c.stem_kernel // 2, bias=True)
        chans = (c.stem_channels, *c.down_channels)
        self.blocks = nn.Sequential(
            *(
                ResBlock(2, cin, cout, num_groups=c.num_groups, conv1_bias=True, downsample=2)
                for cin, cout in itertools.pairwise(chans)
            )
        )
        self.norm = nn.GroupNorm(c.num_groups, chans[-1], eps=1e-5)
        self.to_volume = nn.Conv2d(chans[-1], c.volume_channels * c.volume_depth, 1, bias=True)

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        c = self.config
        return {
            "volume": PortSpec(
                "volume", ("B", c.volume_channels, c.volume_depth, c.volume_size, c.volume_size)
            )
        }

    def features(self, image: Tensor) -> Tensor:
        """``image (B, 3, S, S)`` in [0, 1] -> 2D output ``(B, C * D, S', S')`` (before the volume view)."""
        x = self.blocks(self.stem(image))
        return self.to_volume(F.relu(self.norm(x)))

    def forward(self, image: Tensor) -> Tensor:
        return rearrange(self.features(image), "b (c d) h w -> b c d h w", d=self.config.volume_depth)
