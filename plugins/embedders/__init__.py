"""Embedders: a plugin-defined component kind (motion + descriptor -> conditioning embedding)."""

from __future__ import annotations

from emoportraits_core import Registry

from .interface import Embedder, register_kinds
from .warp_embedder import WarpEmbedder, WarpEmbedderConfig

__all__ = ["Embedder", "WarpEmbedder", "WarpEmbedderConfig", "register", "register_kinds"]

_TINY_EMBEDDER = {"expression_dim": 16, "embed_channels": 16, "embed_size": 2}


def register(registry: Registry) -> None:
    """Register ``embedder/emoportraits_warp_embedder`` (needs :func:`register_kinds` first)."""
    registry.register(
        "embedder",
        "emoportraits_warp_embedder",
        WarpEmbedder,
        config=WarpEmbedderConfig,
        presets={"release": {}, "tiny": _TINY_EMBEDDER, "small": _TINY_EMBEDDER},
    )
