"""The motion encoder (E_mtn): head pose (scale, rotation, translation) and expression latent.

ARCHITECTURE_FACTS §4 steps 5, 6 (source) and 12, 13 (driver; the same computation):

1. :meth:`MotionEncoder.estimate_pose`: the image resized to 128x128 (bilinear,
   ``align_corners=False``, no normalisation) -> frozen ResNet-18 (BatchNorm) -> raw ``(B, 9)`` ->
   scale, (yaw, pitch, roll) clamped to ``[-pi/2, pi]``, translation.
2. :meth:`MotionEncoder.pose_theta`: ``R = euler_to_matrix(angles)`` (``Rz(yaw) Ry(pitch) Rx(roll)``),
   ``theta = S @ R @ T`` ``(B, 4, 4)``.
3. :meth:`MotionEncoder.align`: the face cropped and magnified in the head's frame ``(B, 3, 128, 128)``.
4. :meth:`MotionEncoder.encode_expression`: ResNet-18 (GroupNorm) expression net -> z ``(B, 128)``.

The output is ``Motion(rotation R, translation t, expression z, scale s)``; the renderer rebuilds
theta from it with :func:`~emoportraits_core.geometry.pose_to_affine`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import attrs
import torch
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core.geometry import euler_to_matrix, pose_to_affine
from emoportraits_core.interfaces import Encoder
from emoportraits_core.ports import PortSpec
from emoportraits_core.types import Motion

from ..backbones.resnet import ResNetConfig
from ._common import identity_grid_2d
from .expression import ExpressionNet, align_face
from .head_pose import HeadPoseRegressor, split_pose

__all__ = ["MotionEncoder", "MotionEncoderConfig"]


@attrs.frozen
class MotionEncoderConfig:
    """Config of :class:`MotionEncoder` (defaults: the released model).

    Attributes:
        image_size: side of the input image.
        pose_input_size: side the image is resized to for the head-pose regressor.
        pose_layers, pose_widths, pose_stem_channels: the regressor's ResNet (BatchNorm, 9 outputs).
        angle_range: clamp range of yaw, pitch and roll (radians).
        align_size: side of the aligned face crop.
        zoom: scale of the crop grid before the inverse head pose (0.5: 2x magnification).
        expression_backbone: backbone name of the expression net (kind ``backbone``).
        expression_backbone_config: its config values (empty: its release defaults).
        expression_channels: channels of the 1x1 projection after the backbone.
        expression_pool_size: adaptive pooling side before the final linear layer.
        expression_dim: Z, size of the expression latent.
        dropout: dropout probability after the projection (training only).
    """

    image_size: int = 512
    pose_input_size: int = 128
    pose_layers: tuple[int, ...] = (2, 2, 2, 2)
    pose_widths: tuple[int, ...] = (64, 128, 256, 512)
    pose_stem_channels: int = 64
    angle_range: tuple[float, float] = (-math.pi / 2, math.pi)
    align_size: int = 128
    zoom: float = 0.5
    expression_backbone: str = "resnet18"
    expression_backbone_config: dict[str, Any] = attrs.field(factory=dict)
    expression_channels: int = 128
    expression_pool_size: int = 4
    expression_dim: int = 128
    dropout: float = attrs.field(default=0.2)

    @dropout.validator
    def _check_dropout(self, _attr: attrs.Attribute, value: float) -> None:
        if not 0.0 <= value < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {value}")


class MotionEncoder(Encoder):
    """E_mtn: image ``(B, 3, H, W)`` in [0, 1] -> ``Motion`` (R ``(B, 3, 3)``, t ``(B, 3)``, z ``(B, Z)``,
    scale ``(B, 3)``).

    Submodules: ``head_pose`` (frozen :class:`HeadPoseRegressor`, always eval) and ``expression``
    (:class:`ExpressionNet`, trainable).
    """

    full_precision: ClassVar[bool] = True  # cheap, and bfloat16 moves its outputs by ~10 %

    outputs: ClassVar[dict[str, str]] = {"motion": "motion"}

    def __init__(self, config: MotionEncoderConfig | None = None) -> None:
        config = config if config is not None else MotionEncoderConfig()
        super().__init__(config)
        self.head_pose = HeadPoseRegressor(
            ResNetConfig(
                block="basic",
                layers=config.pose_layers,
                widths=config.pose_widths,
                stem_channels=config.pose_stem_channels,
                norm="batch",
                conv_bias_after_norm=False,
                num_classes=9,
            )
        )
        self.expression = ExpressionNet(
            config.expression_backbone,
            config.expression_backbone_config,
            channels=config.expression_channels,
            pool_size=config.expression_pool_size,
            expression_dim=config.expression_dim,
            dropout=config.dropout,
        )
        self.register_buffer("align_grid", identity_grid_2d(config.align_size), persistent=False)

    def input_specs(self) -> dict[str, PortSpec]:
        size = self.config.image_size
        return {"image": PortSpec("image", ("B", 3, size, size), (0.0, 1.0))}

    def output_specs(self) -> dict[str, PortSpec]:
        return {"motion": PortSpec("motion", ("B", self.config.expression_dim))}

    def example_inputs(
        self,
        batch: int = 2,
        *,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> dict[str, Tensor]:
        """Smooth random images ``(B, 3, H, W)`` in [0, 1] (an 8x8 uniform grid, bilinearly upsampled).

        Images are what the encoder sees, not pixel noise: the alignment crop resamples the image at
        a pose-dependent sub-pixel offset, and on white noise any rounding of the pose (e.g. in
        bfloat16) changes the crop completely, while on an image it moves it slightly.
        """
        size = self.config.image_size
        coarse = torch.rand(batch, 3, 8, 8, generator=generator, dtype=torch.float32)
        image = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
        return {"image": image.to(dtype=dtype, device=device)}

    # -- the steps (public for debugging and the parity tests) ----------------------------------
    def pose_input(self, image: Tensor) -> Tensor:
        """``image (B, 3, H, W)`` -> ``(B, 3, s, s)`` regressor input (bilinear, no normalisation)."""
        size = self.config.pose_input_size
        return F.interpolate(image, size=(size, size), mode="bilinear", align_corners=False)

    def estimate_pose(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``image (B, 3, H, W)`` in [0, 1] -> ``raw (B, 9)``, ``scale (B, 3)``, ``angles (B, 3)``
        (yaw, pitch, roll, radians, clamped), ``translation (B, 3)``."""
        raw = self.head_pose.regress(self.pose_input(image))
        scale, angles, translation = split_pose(raw, self.config.angle_range)
        return raw, scale, angles, translation

    @staticmethod
    def pose_theta(scale: Tensor, rotation: Tensor, translation: Tensor) -> Tensor:
        """``theta = S @ R @ T`` ``(B, 4, 4)`` from scale ``(B, 3)``, R ``(B, 3, 3)``, t ``(B, 3)``."""
        return pose_to_affine(scale, rotation, translation)

    def align(self, image: Tensor, theta: Tensor) -> Tensor:
        """``image (B, 3, H, W)``, ``theta (B, 4, 4)`` -> aligned face ``(B, 3, S, S)`` in [0, 1]."""
        return align_face(image, theta, self.align_grid, self.config.zoom)

    def encode_expression(self, aligned: Tensor) -> Tensor:
        """``aligned (B, 3, S, S)`` in [0, 1] -> expression latent ``z (B, Z)``."""
        return self.expression(aligned)

    def intermediates(self, image: Tensor) -> dict[str, Tensor]:
        """Every step's output: ``pose_input``, ``raw``, ``scale``, ``angles``, ``translation``,
        ``rotation``, ``theta``, ``aligned``, ``expression``."""
        out: dict[str, Tensor] = {"pose_input": self.pose_input(image)}
        raw = self.head_pose.regress(out["pose_input"])
        out["raw"] = raw
        out["scale"], out["angles"], out["translation"] = split_pose(raw, self.config.angle_range)
        out["rotation"] = euler_to_matrix(out["angles"])
        out["theta"] = self.pose_theta(out["scale"], out["rotation"], out["translation"])
        out["aligned"] = self.align(image, out["theta"])
        out["expression"] = self.encode_expression(out["aligned"])
        return out

    def forward(self, image: Tensor) -> Motion:
        """``image (B, 3, H, W)`` in [0, 1] -> ``Motion``."""
        out = self.intermediates(image)
        return Motion(out["rotation"], out["translation"], out["expression"], out["scale"])
