"""Kind ``loss``: a named scalar training term.

Contract:
    inputs  as declared (e.g. ``pred`` and ``target`` images); output ``loss``: a ``()`` float
    tensor, differentiable with respect to every floating input that requires grad. A loss whose
    ``zero_on_identical`` is True returns 0 when its two image inputs are the same tensor. The
    weight lives in the pipeline, not in the loss.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

from torch import Tensor

from ..component import Component

__all__ = ["Loss"]


class Loss(Component):
    """Abstract loss term."""

    kind: ClassVar[str] = "loss"
    outputs: ClassVar[dict[str, str]] = {"loss": "scalar"}
    zero_on_identical: ClassVar[bool] = False

    @abstractmethod
    def forward(self, **inputs: Any) -> Tensor:
        """Returns a ``()`` float tensor."""
