"""Volume processors: the source 3D res blocks and G3D."""

from __future__ import annotations

from emoportraits_core import Registry

from .g3d import G3D, G3DConfig
from .volume_resblocks import VolumeResBlocks, VolumeResBlocksConfig

__all__ = ["G3D", "G3DConfig", "VolumeResBlocks", "VolumeResBlocksConfig", "register"]

_TINY_RESBLOCKS = {"channels": 8, "depth": 4, "size": 8, "num_groups": 4}
_TINY_G3D = {
    "channels": 8,
    "depth": 4,
    "size": 8,
    "down_channels": (16, 16, 16),
    "input_size": (2, 1, 1),
    "num_groups": 4,
}


def register(registry: Registry) -> None:
    """Register ``volume/emoportraits_volume_resblocks`` and ``volume/emoportraits_g3d``."""
    registry.register(
        "volume",
        "emoportraits_volume_resblocks",
        VolumeResBlocks,
        config=VolumeResBlocksConfig,
        presets={"release": {}, "tiny": _TINY_RESBLOCKS},
    )
    registry.register(
        "volume", "emoportraits_g3d", G3D, config=G3DConfig, presets={"release": {}, "tiny": _TINY_G3D}
    )
