"""Kind ``discriminator``: real/fake scores and intermediate features.

Contract:
    input  ``image`` (or a clip, as declared); outputs ``scores`` (list of score maps, one per
    scale, each ``(B, 1, h, w)``) and ``features`` (list per scale of lists of feature maps), for
    the adversarial and feature-matching losses.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from torch import Tensor

from ..component import Component

__all__ = ["Discriminator"]


class Discriminator(Component):
    """Abstract discriminator."""

    kind: ClassVar[str] = "discriminator"
    inputs: ClassVar[dict[str, str]] = {"image": "image"}
    outputs: ClassVar[dict[str, str]] = {"scores": "features", "features": "features"}

    @abstractmethod
    def forward(self, image: Tensor) -> dict[str, list]:
        """Returns ``{"scores": [...], "features": [...]}``."""
