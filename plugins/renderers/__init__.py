"""Renderers: the EMOPortraits 2D decoder (G2D)."""

from __future__ import annotations

from emoportraits_core import Registry

from .renderer import VolumeRenderer, VolumeRendererConfig

__all__ = ["VolumeRenderer", "VolumeRendererConfig", "register"]

_TINY_RENDERER = {
    "volume_channels": 8,
    "volume_depth": 4,
    "volume_size": 8,
    "channels": 16,
    "decoder_channels": (16, 12, 8),
    "num_groups": 4,
}


#: ``small``: a 32 x 32 volume decoded to 64 x 64 (one up-sampling stage).
_SMALL_RENDERER = {
    **_TINY_RENDERER,
    "volume_size": 32,
    "channels": 32,
    "num_blocks": 2,
    "decoder_channels": (16,),
}


def register(registry: Registry) -> None:
    """Register ``renderer/emoportraits_renderer``."""
    registry.register(
        "renderer",
        "emoportraits_renderer",
        VolumeRenderer,
        config=VolumeRendererConfig,
        presets={"release": {}, "tiny": _TINY_RENDERER, "small": _SMALL_RENDERER},
    )
