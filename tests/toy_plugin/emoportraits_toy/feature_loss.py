"""A toy perceptual-style loss: L1 between frozen random conv features of two images."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor, nn

from emoportraits_core import PortSpec
from emoportraits_core.interfaces import Loss


@attrs.frozen
class ToyFeatureL1Config:
    """Config of :class:`ToyFeatureL1Loss`."""

    image_size: int = 32
    features: int = 4


class ToyFeatureL1Loss(Loss):
    """``mean |f(pred) - f(target)|`` with ``f`` a frozen (non-trainable) random 3x3 conv + ReLU."""

    inputs = {"pred": "image", "target": "image"}
    zero_on_identical = True

    def __init__(self, config: ToyFeatureL1Config) -> None:
        super().__init__(config)
        self.features = nn.Conv2d(3, config.features, 3, padding=1)
        self.features.requires_grad_(False)  # a fixed feature extractor, like VGG in the real losses

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        spec = PortSpec("image", ("B", 3, s, s), (0.0, 1.0))
        return {"pred": spec, "target": spec}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"loss": PortSpec("scalar", ())}

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        f = lambda x: torch.relu(self.features(x * 2 - 1))  # noqa: E731
        return (f(pred) - f(target)).abs().mean()
