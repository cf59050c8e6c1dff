"""The source 3D res blocks of EMOPortraits (ARCHITECTURE_FACTS section 4, step 4).

A stack of pre-activation 3D res blocks (GN(32), k3, no resizing, no bias) applied to the appearance
encoder's volume: ``(B, C, D, H, W) -> (B, C, D, H, W)``.
"""

from __future__ import annotations

import attrs
from torch import Tensor, nn

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import VolumeProcessor

from ..blocks import ResBlock

__all__ = ["VolumeResBlocks", "VolumeResBlocksConfig"]


@attrs.frozen
class VolumeResBlocksConfig:
    """Config of :class:`VolumeResBlocks` (defaults: the release).

    Attributes:
        channels: C of the volume (96).
        depth, size: D and H = W of the volume (16, 64); only for the declared ports.
        num_blocks: number of res blocks (3).
        num_groups: group-norm groups (32).
    """

    channels: int = 96
    depth: int = 16
    size: int = 64
    num_blocks: int = 3
    num_groups: int = 32

    def __attrs_post_init__(self) -> None:
        if self.channels % self.num_groups:
            raise ValueError(f"channels {self.channels} are not divisible by num_groups={self.num_groups}")


class VolumeResBlocks(VolumeProcessor):
    """``volume (B, C, D, H, W)`` -> ``(B, C, D, H, W)`` through ``num_blocks`` 3D res blocks."""

    def __init__(self, config: VolumeResBlocksConfig) -> None:
        super().__init__(config)
        c = config
        self.blocks = nn.Sequential(
            *(ResBlock(3, c.channels, c.channels, num_groups=c.num_groups) for _ in range(c.num_blocks))
        )

    def _specs(self) -> dict[str, PortSpec]:
        c = self.config
        return {"volume": PortSpec("volume", ("B", c.channels, c.depth, c.size, c.size))}

    def input_specs(self) -> dict[str, PortSpec]:
        return self._specs()

    def output_specs(self) -> dict[str, PortSpec]:
        return self._specs()

    def forward(self, volume: Tensor) -> Tensor:
        return self.blocks(volume)
