"""A toy motion encoder: image -> Motion (rotation from an axis-angle, translation, expression)."""

from __future__ import annotations

import attrs
import torch
from torch import Tensor, nn

from emoportraits_core import Motion, PortSpec
from emoportraits_core.interfaces import Encoder


@attrs.frozen
class ToyMotionEncoderConfig:
    """Config of :class:`ToyMotionEncoder`."""

    image_size: int = 32
    expression_dim: int = 8
    max_angle: float = 0.3


class ToyMotionEncoder(Encoder):
    """Image -> Motion by average pooling and one linear layer (small rotations, via matrix_exp)."""

    outputs = {"motion": "motion"}

    def __init__(self, config: ToyMotionEncoderConfig) -> None:
        super().__init__(config)
        self.head = nn.Linear(3 * 4 * 4, 6 + config.expression_dim)

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.expression_dim))}

    def forward(self, image: Tensor) -> Motion:
        feats = self.head(nn.functional.adaptive_avg_pool2d(image * 2 - 1, 4).flatten(1))
        axis_angle = self.config.max_angle * torch.tanh(feats[:, :3])
        x, y, z = axis_angle.unbind(-1)
        zero = torch.zeros_like(x)
        skew = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).view(-1, 3, 3)
        # matrix_exp has no usable half-precision CPU kernel (bfloat16 gives ~1e30): at least float32
        work = torch.promote_types(skew.dtype, torch.float32)
        rotation = torch.linalg.matrix_exp(skew.to(work)).to(skew.dtype)
        return Motion(rotation, 0.1 * torch.tanh(feats[:, 3:6]), feats[:, 6:])
