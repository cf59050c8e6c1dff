"""Kind ``renderer``: feature volume -> image.

Contract:
    input  ``volume`` ``(B, C, D, H, W)``; output ``image`` ``(B, 3, H_img, W_img)`` in ``[0, 1]``.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from torch import Tensor

from ..component import Component

__all__ = ["Renderer"]


class Renderer(Component):
    """Abstract renderer."""

    kind: ClassVar[str] = "renderer"
    inputs: ClassVar[dict[str, str]] = {"volume": "volume"}
    outputs: ClassVar[dict[str, str]] = {"image": "image"}

    @abstractmethod
    def forward(self, volume: Tensor) -> Tensor:
        """``volume (B, C, D, H, W)`` -> ``image (B, 3, H_img, W_img)`` in [0, 1]."""
