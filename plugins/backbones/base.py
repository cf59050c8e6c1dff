"""Kind ``backbone``: a convolutional feature extractor that encoders build by registry name.

Contract:
    input  ``x``: ``(B, C_in, H, W)`` float, already normalised the way the backbone expects
    (ImageNet mean/std for the EMOPortraits encoders).
    output ``(B, out_channels, H / stride, W / stride)`` feature map (no pooling, no classifier).
    ``out_channels`` and ``stride`` are attributes of the built module.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from torch import Tensor

from emoportraits_core.component import Component
from emoportraits_core.ports import PortSpec

__all__ = ["Backbone"]


class Backbone(Component):
    """Abstract backbone: ``forward(x (B, C_in, H, W)) -> (B, out_channels, H/stride, W/stride)``."""

    kind: ClassVar[str] = "backbone"
    inputs: ClassVar[dict[str, str]] = {"x": "tensor"}
    outputs: ClassVar[dict[str, str]] = {"features": "tensor"}

    #: channels of the feature map
    out_channels: int
    #: total down-sampling factor of the feature map
    stride: int
    #: input channels
    in_channels: int = 3

    def input_specs(self) -> dict[str, PortSpec]:
        size = 2 * self.stride
        return {"x": PortSpec("tensor", ("B", self.in_channels, size, size))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"features": PortSpec("tensor", ("B", self.out_channels, 2, 2))}

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        """``x (B, C_in, H, W)`` normalised -> ``(B, out_channels, H/stride, W/stride)``."""
