"""A toy loss: weighted mean absolute difference of two images."""

from __future__ import annotations

import attrs
from torch import Tensor

from emoportraits_core.interfaces import Loss


@attrs.frozen
class ToyL1Config:
    """Config of :class:`ToyL1Loss`."""

    scale: float = 1.0


class ToyL1Loss(Loss):
    """``scale * mean(|pred - target|)``."""

    inputs = {"pred": "image", "target": "image"}
    zero_on_identical = True

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        return self.config.scale * (pred - target).abs().mean()
