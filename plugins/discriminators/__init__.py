"""Discriminators (kind ``discriminator``): the multi-scale patch discriminator of the release."""

from __future__ import annotations

from emoportraits_core import Registry

from .multiscale_patch import MultiScalePatchConfig, MultiScalePatchDiscriminator

__all__ = ["TINY_MULTISCALE_PATCH", "MultiScalePatchConfig", "MultiScalePatchDiscriminator", "register"]

#: ``tiny`` preset: 32 px inputs, narrow blocks.
TINY_MULTISCALE_PATCH = {"image_size": 32, "channels": (4, 8, 8, 16)}


def register(registry: Registry) -> None:
    """Registers ``discriminator/multiscale_patch`` (presets ``release`` and ``tiny``)."""
    registry.register(
        "discriminator",
        "multiscale_patch",
        MultiScalePatchDiscriminator,
        config=MultiScalePatchConfig,
        presets={"release": {}, "tiny": TINY_MULTISCALE_PATCH},
    )
