"""Warpers: the EMOPortraits warp generators (source -> canonical, canonical -> driver)."""

from __future__ import annotations

from emoportraits_core import Registry

from .warp_generator import WarpGenerator, WarpGeneratorConfig

__all__ = ["WarpGenerator", "WarpGeneratorConfig", "register"]

_TINY_WARPER = {
    "volume_channels": 8,
    "volume_depth": 4,
    "volume_size": 8,
    "embed_channels": 16,
    "embed_size": 2,
    "start_depth": 2,
    "block_channels": (16, 8, 8, 8),
    "block_sizes": ((4, 4, 4), (8, 8, 8), (8, 8, 8), (8, 8, 8)),
    "depth_pool": 2,
    "num_groups": 4,
}


def register(registry: Registry) -> None:
    """Register ``warper/emoportraits_warp_generator``."""
    registry.register(
        "warper",
        "emoportraits_warp_generator",
        WarpGenerator,
        config=WarpGeneratorConfig,
        presets={"release": {}, "tiny": _TINY_WARPER},
    )
