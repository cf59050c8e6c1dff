"""The identity encoder (E_id): a global identity descriptor from the masked source image.

ARCHITECTURE_FACTS §4 step 2: image ``(B, 3, 512, 512)`` in [0, 1] -> bilinear resize to 256
(``align_corners=False``) -> ImageNet mean/std -> ResNet-50 (GroupNorm) trunk ``(B, 2048, 8, 8)``
-> ``fc`` 1x1 conv 2048 -> 512 (no bias) -> adaptive average pool to 4x4 -> descriptor
``(B, 512, 4, 4)``. Note the order: projection first, pooling second.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import torch.nn.functional as F
from torch import Tensor, nn

from emoportraits_core.interfaces import Encoder
from emoportraits_core.ports import PortSpec

from ..backbones import build_backbone
from ._common import ImageNetNormalize

__all__ = ["IdentityEncoder", "IdentityEncoderConfig"]


@attrs.frozen
class IdentityEncoderConfig:
    """Config of :class:`IdentityEncoder` (defaults: the released model).

    Attributes:
        image_size: side of the input image.
        input_size: side the image is resized to for the backbone.
        backbone: backbone name (kind ``backbone``: ``resnet50``, ``resnet18``, ``timm`` or a plugin's).
        backbone_config: config values of that backbone (empty: its release defaults).
        descriptor_channels: E, channels of the descriptor.
        descriptor_size: spatial side of the descriptor (adaptive pooling target).
    """

    image_size: int = 512
    input_size: int = 256
    backbone: str = "resnet50"
    backbone_config: dict[str, Any] = attrs.field(factory=dict)
    descriptor_channels: int = 512
    descriptor_size: int = 4


class IdentityEncoder(Encoder):
    """E_id: image ``(B, 3, H, W)`` in [0, 1] -> identity descriptor ``(B, E, S, S)`` (512 x 4 x 4)."""

    full_precision: ClassVar[bool] = True  # cheap, and bfloat16 moves its outputs by ~10 %

    outputs: ClassVar[dict[str, str]] = {"descriptor": "descriptor"}

    def __init__(self, config: IdentityEncoderConfig | None = None) -> None:
        config = config if config is not None else IdentityEncoderConfig()
        super().__init__(config)
        self.normalize = ImageNetNormalize()
        self.backbone = build_backbone(
            config.backbone, config.backbone_config, where=f"identity encoder backbone '{config.backbone}'"
        )
        self.fc = nn.Conv2d(self.backbone.out_channels, config.descriptor_channels, 1, bias=False)

    def input_specs(self) -> dict[str, PortSpec]:
        size = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, size, size), (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        c, s = self.config.descriptor_channels, self.config.descriptor_size
        return {"descriptor": PortSpec("descriptor", ("B", c, s, s))}

    def features(self, image: Tensor) -> Tensor:
        """``image (B, 3, H, W)`` in [0, 1] -> backbone features ``(B, C, input_size/32, input_size/32)``."""
        size = self.config.input_size
        x = F.interpolate(image, size=(size, size), mode="bilinear", align_corners=False)
        return self.backbone(self.normalize(x))

    def forward(self, image: Tensor) -> Tensor:
        """``image (B, 3, H, W)`` in [0, 1] -> descriptor ``(B, E, S, S)``."""
        return F.adaptive_avg_pool2d(self.fc(self.features(image)), self.config.descriptor_size)
