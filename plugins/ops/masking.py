"""``mask_image`` and ``background``: an image cut out by a soft mask, on black or on a colour."""

from __future__ import annotations

import attrs
from torch import Tensor

from emoportraits_core import Component, PortSpec
from emoportraits_core.validators import in_range, positive

__all__ = ["Background", "BackgroundConfig", "MaskImage", "MaskImageConfig"]


@attrs.frozen
class MaskImageConfig:
    """``image_size``: side of the images (for the declared shapes)."""

    image_size: int = attrs.field(default=512, validator=positive)


class MaskImage(Component):
    """``image (B, 3, S, S)`` in [0, 1], ``mask (B, 1, S, S)`` in [0, 1] -> ``image x mask``."""

    kind = "op"
    inputs = {"image": "image", "mask": "mask"}
    outputs = {"image": "image"}

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {
            "image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0)),
            "mask": PortSpec("mask", ("B", 1, s, s), (0.0, 1.0)),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        return image * mask


@attrs.frozen
class BackgroundConfig:
    """``colour``: RGB in [0, 1] of the background (green, as the release); ``image_size``."""

    colour: tuple[float, float, float] = attrs.field(default=(0.0, 1.0, 0.0), validator=in_range(0.0, 1.0))
    image_size: int = attrs.field(default=512, validator=positive)


class Background(MaskImage):
    """``image x mask + colour x (1 - mask)``: the release's targets (the driver on green)."""

    def forward(self, image: Tensor, mask: Tensor) -> Tensor:
        colour = image.new_tensor(self.config.colour).view(1, 3, 1, 1)
        return image * mask + colour * (1 - mask)
