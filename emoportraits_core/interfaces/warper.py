"""Kind ``warper``: makes a 3D deformation and applies it to a feature volume.

Contract:
    inputs  ``volume`` ``(B, C, D, H, W)`` and whatever conditions the deformation (for the
            EMOPortraits warpers: ``embedding`` and ``motion``).
    outputs ``volume`` ``(B, C, D, H, W)`` (same C; D, H, W as declared).
    :meth:`deformation` returns the sampling grid ``(B, D, H, W, 3)`` in normalised (u, v, w)
    coordinates that :meth:`forward` applies with
    :func:`emoportraits_core.geometry.warp_volume` (align_corners=False), so that the warp can be
    inspected, composed and tested on its own.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from torch import Tensor

from ..component import Component

__all__ = ["Warper"]


class Warper(Component):
    """Abstract warper."""

    kind: ClassVar[str] = "warper"
    inputs: ClassVar[dict[str, str]] = {"volume": "volume"}
    outputs: ClassVar[dict[str, str]] = {"volume": "volume"}

    @abstractmethod
    def forward(self, volume: Tensor, **conditions: Any) -> Tensor:
        """Warp ``volume (B, C, D, H, W)``; returns the warped volume."""
