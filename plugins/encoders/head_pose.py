"""The head-pose regressor of the released model: a frozen torchvision-layout ResNet-18, 9 outputs.

ARCHITECTURE_FACTS §4 step 5. Input: the image bilinearly resized to 128x128
(``align_corners=False``), values in [0, 1], NO mean/std normalisation. Output ``(B, 9)`` split as
scale (3), rotation (3: yaw, pitch, roll in radians), translation (3). Each angle is clamped to
``[-pi/2, pi]`` before the rotation matrix is built (:func:`split_pose`).

The regressor is a pretrained helper that is never trained: its parameters have
``requires_grad=False`` and it stays in eval mode (BatchNorm uses its running statistics) even
when the module around it is put in training mode (:meth:`HeadPoseRegressor.train`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..backbones.resnet import ResNet, ResNetConfig

__all__ = ["DEFAULT_ANGLE_RANGE", "HeadPoseRegressor", "split_pose"]

#: Clamp range of the Euler angles (radians), as in the release.
DEFAULT_ANGLE_RANGE = (-math.pi / 2, math.pi)
#: raw output of the identity pose: scale 1, angles 0, translation 0
_IDENTITY_POSE = (1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


class HeadPoseRegressor(ResNet):
    """Frozen ResNet (BatchNorm, ``fc`` with bias) regressing 9 pose numbers; always in eval mode.

    Keys are plain torchvision names (``conv1.weight``, ``bn1.running_mean``, ..., ``fc.bias``), so
    the released ``head_pose_regressor.pth`` loads one to one.
    """

    def __init__(self, config: ResNetConfig | None = None) -> None:
        config = (
            config
            if config is not None
            else ResNetConfig(norm="batch", conv_bias_after_norm=False, num_classes=9)
        )
        if config.num_classes != 9:
            raise ValueError(f"the head-pose regressor has 9 outputs, got num_classes={config.num_classes}")
        super().__init__(config)
        self.requires_grad_(False)
        self.eval()

    def reset_parameters(self) -> None:
        """The trunk as any ResNet; ``fc`` set to predict a pose near the identity (scale 1, angles
        and translation 0, plus a small image-dependent part).

        The regressor is never trained: real weights always come from the released file. Before
        they are loaded, a near-identity pose keeps the alignment crop well conditioned (a random
        ``fc`` predicts scales near 0, whose inverse blows the crop up), so untrained pipelines,
        tests and benchmarks see plausible crops.
        """
        super().reset_parameters()
        if self.config.num_classes > 0:
            nn.init.normal_(self.fc.weight, std=0.2 / self.fc.in_features**0.5)
            with torch.no_grad():
                self.fc.bias.copy_(torch.tensor(_IDENTITY_POSE, dtype=self.fc.bias.dtype))

    def train(self, mode: bool = True) -> HeadPoseRegressor:
        """Ignore ``mode``: the frozen regressor always runs in eval mode."""
        return super().train(False)

    def regress(self, image: Tensor) -> Tensor:
        """``image (B, 3, h, w)`` in [0, 1] at the regressor's input size -> raw ``(B, 9)``."""
        return self.classify(image)


def split_pose(
    raw: Tensor, angle_range: tuple[float, float] = DEFAULT_ANGLE_RANGE
) -> tuple[Tensor, Tensor, Tensor]:
    """``raw (B, 9)`` -> ``scale (B, 3)``, ``angles (B, 3)`` (yaw, pitch, roll in radians, clamped to
    ``angle_range``), ``translation (B, 3)`` (normalised volume units)."""
    scale, angles, translation = raw.split(3, dim=-1)
    return scale, torch.clamp(angles, angle_range[0], angle_range[1]), translation
