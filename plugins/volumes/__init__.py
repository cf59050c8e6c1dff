"""Volume processors: the source 3D res blocks and G3D."""

from __future__ import annotations

from emoportraits_core import Registry

from .g3d import G3D, G3DConfig
from .volume_resblocks import VolumeResBlocks, VolumeResBlocksConfig

__all__ = ["G3D", "G3DConfig", "VolumeResBlocks", "VolumeResBlocksConfig", "register"]

_TINY_RESBLOCKS = {"channels": 8, "depth": 4, "size": 8, "num_groups": 4}
#: ``small``: 64 x 64 images with 32 x 32 volumes (the tiny ones are 8 x 8: too coarse to rebuild a
#: face, see the warpers' ``small`` preset), for training on a CPU.
_SMALL_RESBLOCKS = {**_TINY_RESBLOCKS, "size": 32}
_TINY_G3D = {
    "channels": 8,
    "depth": 4,
    "size": 8,
    "down_channels": (16, 16, 16),
    "input_size": (2, 1, 1),
    "num_groups": 4,
}


_SMALL_G3D = {**_TINY_G3D, "size": 32, "input_size": (2, 4, 4)}


def register(registry: Registry) -> None:
    """Register ``volume/emoportraits_volume_resblocks`` and ``volume/emoportraits_g3d``."""
    registry.register(
        "volume",
        "emoportraits_volume_resblocks",
        VolumeResBlocks,
        config=VolumeResBlocksConfig,
        presets={"release": {}, "tiny": _TINY_RESBLOCKS, "small": _SMALL_RESBLOCKS},
    )
    registry.register(
        "volume",
        "emoportraits_g3d",
        G3D,
        config=G3DConfig,
        presets={"release": {}, "tiny": _TINY_G3D, "small": _SMALL_G3D},
    )
