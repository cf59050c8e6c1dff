"""Drivers: modality streams -> per-frame pipeline inputs. ``register(registry)`` adds them."""

from __future__ import annotations

from emoportraits_core import Registry

from .video import VideoDriver, VideoDriverConfig

__all__ = ["VideoDriver", "VideoDriverConfig", "register"]


def register(registry: Registry) -> None:
    """Register this package's drivers (called from the plugin's ``emoportraits_register`` hook)."""
    registry.register(
        "driver",
        "video",
        VideoDriver,
        config=VideoDriverConfig,
        presets={
            "release": {},
            "no_crop": {"crop": False},
            "fast": {"smoothing": 1, "detect_max_side": 320},
            "tiny": {"size": 64},
        },
    )
