"""``face_align``: the face crop aligned with a head pose, as the motion encoder aligns its input.

The pose is a ``Motion``'s scale, rotation and translation (``theta = S R T``,
:func:`~emoportraits_core.geometry.pose_to_affine`); the crop is the motion encoder's
(:func:`emoportraits_plugins.encoders.expression.align_face`: a ``size x size`` grid scaled by
``zoom``, the inverse pose applied, bilinear sampling, zeros outside). The release crops both the
prediction and the ground truth with the *driver's* pose for the VGG-Face loss (TRAINING_FACTS 2.2).
"""

from __future__ import annotations

import attrs
from torch import Tensor

from emoportraits_core import Component, Motion, PortSpec
from emoportraits_core.geometry import pose_to_affine
from emoportraits_core.validators import positive

from ..encoders._common import identity_grid_2d
from ..encoders.expression import align_face

__all__ = ["FaceAlign", "FaceAlignConfig"]


@attrs.frozen
class FaceAlignConfig:
    """``image_size``: side of the input; ``size``: side of the crop; ``zoom``: grid scale (0.5: 2x)."""

    image_size: int = attrs.field(default=512, validator=positive)
    size: int = attrs.field(default=128, validator=positive)
    zoom: float = attrs.field(default=0.5, validator=positive)
    expression_dim: int = attrs.field(default=128, validator=positive)


class FaceAlign(Component):
    """``image (B, 3, H, W)`` in [0, 1], ``motion`` -> ``image (B, 3, size, size)`` aligned face."""

    kind = "op"
    inputs = {"image": "image", "motion": "motion"}
    outputs = {"image": "image"}

    def __init__(self, config: FaceAlignConfig) -> None:
        super().__init__(config)
        self.register_buffer("grid", identity_grid_2d(config.size), persistent=False)

    def input_specs(self) -> dict[str, PortSpec]:
        s = self.config.image_size
        return {
            "image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0)),
            "motion": PortSpec("motion", ("B", self.config.expression_dim)),
        }

    def output_specs(self) -> dict[str, PortSpec]:
        s = self.config.size
        return {"image": PortSpec("image", ("B", 3, s, s), (0.0, 1.0))}

    def forward(self, image: Tensor, motion: Motion) -> Tensor:
        theta = pose_to_affine(motion.scale_or_ones(), motion.rotation, motion.translation)
        return align_face(image, theta, self.grid, self.config.zoom)
