"""The face perceptual loss L_face: multi-scale L1 between VGG-Face features of aligned face crops
(TRAINING_FACTS §2.2).

Inputs are face crops already aligned by the training step: in the release both the generated image
and the ground truth are cropped with the *driver's* alignment (the head-pose regressor's similarity,
2x zoom, 128x128 ``grid_sample``; :meth:`MotionEncoder.align`). Here each crop is resized to
``resize`` (224, bilinear), ImageNet-normalised (as released, not the VGG-Face mean), and
``loss = mean over scales of sum_l w_l * mean |phi_l(pred) - phi_l(target)|`` with phi_l the
post-ReLU outputs of conv1_1 .. conv5_1, w = (1/32, 1/16, 1/8, 1/4, 1), scales 224 and 112. Target
features carry no gradient.

Weights: the ``vgg_face_dag.pth`` state dict, see :mod:`emoportraits_plugins.lossnets.vggface`.
"""

from __future__ import annotations

import attrs
import torch.nn.functional as F
from torch import Tensor

from emoportraits_core.normalize import imagenet_normalize
from emoportraits_core.validators import non_negative, positive

from ..lossnets import VGG16_RELU_X_1, VGGFaceFeatures
from ._common import (
    ImagePairLoss,
    check_layer_weights,
    pyramid_feature_l1,
    require_same_shape,
)

__all__ = ["VGGFacePerceptualConfig", "VGGFacePerceptualLoss"]


@attrs.frozen
class VGGFacePerceptualConfig:
    """Config of :class:`VGGFacePerceptualLoss` (defaults: the release).

    Attributes:
        weights: path of ``vgg_face_dag.pth``; "" = fixed-seed random weights (tests only).
        layers: torchvision VGG16 ``features`` indices read (relu1_1 .. relu5_1).
        layer_weights: one weight per layer.
        resize: side the crops are resized to (bilinear) before the first scale; 0 = keep.
        num_scales: the resized crop and its ``num_scales - 1`` bilinear halvings, averaged.
        channels: VGG stage widths (the published weights need the default).
        crop_size: side of the input crops (declared ports and example inputs; any size runs).
    """

    weights: str = ""
    layers: tuple[int, ...] = attrs.field(default=VGG16_RELU_X_1, validator=non_negative)
    layer_weights: tuple[float, ...] = attrs.field(
        default=(1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0), validator=non_negative
    )
    resize: int = attrs.field(default=224, validator=non_negative)
    num_scales: int = attrs.field(default=2, validator=positive)
    channels: tuple[int, ...] = attrs.field(default=(64, 128, 256, 512, 512), validator=positive)
    crop_size: int = attrs.field(default=128, validator=positive)

    def __attrs_post_init__(self) -> None:
        check_layer_weights(self.layers, self.layer_weights)


class VGGFacePerceptualLoss(ImagePairLoss):
    """Multi-scale VGG-Face L1 between aligned face crops ``pred``, ``target`` (B, 3, S, S) in [0, 1]."""

    side_field = "crop_size"
    zero_on_identical = True

    def __init__(self, config: VGGFacePerceptualConfig | None = None) -> None:
        config = config if config is not None else VGGFacePerceptualConfig()
        super().__init__(config)
        self.vggface = VGGFaceFeatures.create(config.weights, layers=config.layers, channels=config.channels)

    def _features(self, x: Tensor) -> list[Tensor]:
        return self.vggface(imagenet_normalize(x).to(self.vggface.dtype))

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Aligned crops ``pred``, ``target`` (B, 3, S, S) in [0, 1] -> () loss."""
        require_same_shape("vggface_perceptual", pred=pred, target=target)
        size = self.config.resize
        if size and tuple(pred.shape[-2:]) != (size, size):
            pred = F.interpolate(pred, size=(size, size), mode="bilinear", align_corners=False)
            target = F.interpolate(target, size=(size, size), mode="bilinear", align_corners=False)
        c = self.config
        return pyramid_feature_l1(self._features, pred, target, c.layer_weights, c.num_scales)
