"""Kind ``volume``: processes a feature volume (e.g. G3D, the source 3D res-blocks).

Contract:
    input  ``volume`` ``(B, C_in, D, H, W)``; output ``volume`` ``(B, C_out, D', H', W')`` as declared.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from torch import Tensor

from ..component import Component

__all__ = ["VolumeProcessor"]


class VolumeProcessor(Component):
    """Abstract volume processor."""

    kind: ClassVar[str] = "volume"
    inputs: ClassVar[dict[str, str]] = {"volume": "volume"}
    outputs: ClassVar[dict[str, str]] = {"volume": "volume"}

    @abstractmethod
    def forward(self, volume: Tensor) -> Tensor:
        """``volume (B, C_in, D, H, W)`` -> ``(B, C_out, D', H', W')``."""
