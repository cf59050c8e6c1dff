"""Kind ``encoder``: one image batch -> one representation.

Contract:
    input  ``image``: ``(B, 3, H, W)`` float RGB in ``[0, 1]`` (H, W given by ``input_specs``).
    output exactly one port, of type ``volume`` (``(B, C, D, H', W')``), ``descriptor``
    (``(B, E, ...)``), ``motion`` (:class:`Motion`) or ``appearance`` (:class:`Appearance`).
    Items of a batch are independent in eval mode; outputs are finite for any image in range.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from torch import Tensor

from ..component import Component

__all__ = ["Encoder"]

ENCODER_OUTPUT_TYPES = ("volume", "descriptor", "motion", "appearance")


class Encoder(Component):
    """Abstract encoder. Subclasses set ``outputs`` to one port of a type in ``ENCODER_OUTPUT_TYPES``."""

    kind: ClassVar[str] = "encoder"
    inputs: ClassVar[dict[str, str]] = {"image": "image"}

    @abstractmethod
    def forward(self, image: Tensor) -> Any:
        """``image (B, 3, H, W)`` in [0, 1] -> the declared output."""
