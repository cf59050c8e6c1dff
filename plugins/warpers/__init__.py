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


#: ``small``: 32 x 32 volumes for 64 x 64 images, trained from scratch on a CPU, so the identity grid
#: is exact and the learned warp starts as the identity (:class:`WarpGeneratorConfig`).
_SMALL_WARPER = {
    **_TINY_WARPER,
    "volume_size": 32,
    "block_sizes": ((4, 8, 8), (8, 16, 16), (8, 32, 32), (8, 32, 32)),
    "identity_init": True,
    "exact_identity": True,
}


def register(registry: Registry) -> None:
    """Register ``warper/emoportraits_warp_generator``."""
    registry.register(
        "warper",
        "emoportraits_warp_generator",
        WarpGenerator,
        config=WarpGeneratorConfig,
        presets={"release": {}, "tiny": _TINY_WARPER, "small": _SMALL_WARPER},
    )
